"""Issue #22, finding 10: a per-account limit on log-ins across addresses.

django-axes locks an account at one address; from the next address guessing went on. Now the
account itself slows down after 10 failures from anywhere (30 s, doubling per failure, at most
15 minutes); attempts while it waits are refused unchecked and uncounted, so an attacker cannot
lock the trainee out for long; the trainee's own browser never waits; axes still locks the
account at the address that failed.
"""

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"
RIGHT = "correct-horse-battery"
WAIT_30 = "此账号刚刚登录失败次数过多。请等待 30 秒后再试，或通过短信验证码设置新密码。"


def _login(password, address, *, client=None, url=None):
    client = client or Client()
    return client.post(
        url or reverse("portal:login"), {"username": MOBILE, "password": password}, REMOTE_ADDR=address
    )


def _spread_failures(count, *, url=None, first=0):
    """``count`` wrong passwords, each from its own address (axes sees one failure per address)."""
    for i in range(first, first + count):
        response = _login(f"guess-{i}", f"10.50.{i // 200}.{i % 200}", url=url)
        assert response.status_code == 200, i


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def test_failures_spread_over_many_addresses_slow_the_account_down(clock):
    UserFactory(mobile=MOBILE)
    _spread_failures(10)
    # The 11th attempt, from yet another address and even with the right password, waits its turn:
    # the password is not checked.
    refused = _login(RIGHT, "10.60.0.1")
    assert refused.status_code == 429 and refused["Retry-After"] == "30"
    assert WAIT_30 in refused.content.decode()
    clock.shift(29)
    assert _login(RIGHT, "10.60.0.2").status_code == 429
    # After the short cool-off the genuine trainee logs in.
    clock.shift(1)
    client = Client()
    assert _login(RIGHT, "10.60.0.3", client=client).status_code == 302
    assert client.get("/").context["user"].mobile == MOBILE
    # The success ended the slow-down.
    assert _login("wrong-again", "10.60.0.4").status_code == 200
    assert _login(RIGHT, "10.60.0.5").status_code == 302


def test_each_failure_doubles_the_wait_and_hammering_does_not_extend_it(clock):
    UserFactory(mobile=MOBILE)
    _spread_failures(10)
    clock.shift(30)
    assert _login("guess-a", "10.61.0.1").status_code == 200  # its turn: checked, wrong
    waiting = _login(RIGHT, "10.61.0.2")
    assert waiting.status_code == 429 and waiting["Retry-After"] == "60"
    for i in range(20):  # refused without a check: not counted
        assert _login(f"guess-b{i}", f"10.61.1.{i}").status_code == 429
    clock.shift(60)
    assert _login(RIGHT, "10.61.0.3").status_code == 302


def test_the_wait_is_capped(clock, settings):
    settings.LOGIN_ACCOUNT_MAX_DELAY_SECONDS = 120
    UserFactory(mobile=MOBILE)
    _spread_failures(10)
    waits = []
    for i in range(4):
        waits.append(int(_login(RIGHT, f"10.62.0.{i}")["Retry-After"]))
        clock.shift(waits[-1])
        assert _login(f"guess-c{i}", f"10.62.1.{i}").status_code == 200
    assert waits == [30, 60, 120, 120]


def test_the_trainees_own_browser_is_never_kept_waiting(clock):
    UserFactory(mobile=MOBILE)
    phone = Client()
    assert _login(RIGHT, "10.63.0.1", client=phone).status_code == 302
    assert "portal_device" in phone.cookies
    phone.post(reverse("portal:logout"))
    _spread_failures(10)
    assert _login(RIGHT, "10.63.0.2").status_code == 429  # a browser the account never used
    assert _login(RIGHT, "10.63.0.3", client=phone).status_code == 302  # the trainee's phone, new address


def test_a_log_in_by_other_means_ends_the_slow_down(clock):
    user = UserFactory(mobile=MOBILE)
    _spread_failures(10)
    assert _login(RIGHT, "10.64.0.1").status_code == 429
    Client().force_login(user)  # e.g. a new password set with the code sent by SMS
    assert _login(RIGHT, "10.64.0.2").status_code == 302


def test_the_admin_log_in_is_slowed_down_too(clock):
    StaffFactory(mobile=MOBILE)
    admin_login = reverse("admin:login")
    _spread_failures(10, url=admin_login)
    refused = _login(RIGHT, "10.65.0.1", url=admin_login)
    assert WAIT_30 in refused.content.decode()
    assert "_auth_user_id" not in refused.wsgi_request.session
    clock.shift(30)
    assert _login(RIGHT, "10.65.0.2", url=admin_login).status_code == 302


def test_the_lockout_by_account_and_address_still_works(clock):
    UserFactory(mobile=MOBILE)
    for i in range(4):
        assert _login(f"guess-{i}", "10.66.0.1").status_code == 200
    assert _login("guess-4", "10.66.0.1").status_code == 429  # the fifth failure locks
    locked = _login(RIGHT, "10.66.0.1")
    assert locked.status_code == 429 and "登录失败次数过多" in locked.content.decode()
    assert "此账号刚刚登录失败次数过多" not in locked.content.decode()  # axes' lockout, not the slow-down
    # Five failures are below the per-account limit: another address logs in at once.
    assert _login(RIGHT, "10.66.0.2").status_code == 302
