import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from learning.models import Enrollment, EnrollmentStatus
from learning.services.accounts import (
    access_code_request,
    account_open,
    password_set_by_code,
    password_set_by_link,
)
from learning.services.windows import enrollments_expire
from portal.models import User
from tests.factories import PaidTraineeFactory, ProgrammeFactory, UserFactory

from .helpers import link_token, sms_code

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
GOOD = "Zhang-San-2026!"


def opened(capture, **kwargs):
    with capture(execute=True):
        return account_open(trainee_id=PaidTraineeFactory(**kwargs).pk)


# --- activation link ---------------------------------------------------------------------------


def test_activation_link_sets_password_logs_in_and_is_one_time(
    client, django_capture_on_commit_callbacks, sms_outbox
):
    enrollment = opened(django_capture_on_commit_callbacks, mobile="13800138020")
    url = reverse("learning:activate", kwargs={"token": link_token(sms_outbox[0].message)})
    page = client.get(url)
    assert page.status_code == 200
    assert "设置密码" in page.content.decode() and "13800138020" in page.content.decode()
    response = client.post(url, {"new_password1": GOOD, "new_password2": GOOD})
    assert response.status_code == 302 and response["Location"] == reverse("learning:centre")
    assert client.get(reverse("learning:centre")).context["user"] == enrollment.user
    assert User.objects.get(pk=enrollment.user.pk).check_password(GOOD)
    client.logout()
    again = client.get(url)
    assert again.status_code == 410
    assert "链接" in again.content.decode()
    # and the new password works on portal's login page
    login = client.post(reverse("portal:login"), {"username": "13800138020", "password": GOOD})
    assert login.status_code == 302


def test_activation_link_expires(client, django_capture_on_commit_callbacks, sms_outbox):
    with time_machine.travel(START, tick=False) as clock:
        opened(django_capture_on_commit_callbacks)
        url = reverse("learning:activate", kwargs={"token": link_token(sms_outbox[0].message)})
        clock.move_to(START + timedelta(hours=73))
        assert client.get(url).status_code == 410
        assert client.post(url, {"new_password1": GOOD, "new_password2": GOOD}).status_code == 410


def test_activation_refuses_weak_or_mismatched_password(
    client, django_capture_on_commit_callbacks, sms_outbox
):
    opened(django_capture_on_commit_callbacks)
    url = reverse("learning:activate", kwargs={"token": link_token(sms_outbox[0].message)})
    weak = client.post(url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200 and weak.context["form"].errors
    mismatch = client.post(url, {"new_password1": GOOD, "new_password2": GOOD + "x"})
    assert mismatch.status_code == 200 and mismatch.context["form"].errors
    assert client.get(url).status_code == 200  # still usable


def test_unknown_token_is_rate_limited(client, settings):
    settings.LEARNING_RATE_VERIFY_IP = (3, 3600)
    url = reverse("learning:activate", kwargs={"token": "nope"})
    codes = [client.post(url, {"new_password1": GOOD, "new_password2": GOOD}).status_code for _ in range(4)]
    assert codes == [410, 410, 410, 429]


# --- SMS code ----------------------------------------------------------------------------------


def test_sms_code_path_sets_password(client, django_capture_on_commit_callbacks, sms_outbox):
    enrollment = opened(django_capture_on_commit_callbacks, mobile="13800138021")
    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("learning:code_request"), {"mobile": "138 0013 8021"})
    assert response.status_code == 302 and response["Location"] == reverse("learning:code_confirm")
    assert len(sms_outbox) == 1
    code = sms_code(sms_outbox[0].message)
    form = client.get(reverse("learning:code_confirm"))
    assert form.context["form"].initial["mobile"] == "13800138021"
    wrong = client.post(
        reverse("learning:code_confirm"),
        {
            "mobile": "13800138021",
            "code": "000000" if code != "000000" else "111111",
            "new_password1": GOOD,
            "new_password2": GOOD,
        },
    )
    assert wrong.status_code == 200 and "验证码" in str(wrong.context["form"].errors)
    done = client.post(
        reverse("learning:code_confirm"),
        {"mobile": "13800138021", "code": code, "new_password1": GOOD, "new_password2": GOOD},
    )
    assert done.status_code == 302
    assert User.objects.get(pk=enrollment.user_id).check_password(GOOD)


def test_reset_does_not_reveal_whether_the_number_exists(
    client, django_capture_on_commit_callbacks, sms_outbox
):
    UserFactory(mobile="13800138022")
    answers = []
    for mobile in ["13800138022", "13800138023"]:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("learning:code_request"), {"mobile": mobile}, follow=True)
        answers.append((response.status_code, [str(m) for m in response.context["messages"]]))
    assert answers[0] == answers[1]
    assert [m.mobile for m in sms_outbox] == ["13800138022"]
    sent = sms_code(sms_outbox[0].message)
    code = next(c for c in ("123456", "654321") if c != sent)  # wrong for both numbers
    wrong = [
        client.post(
            reverse("learning:code_confirm"),
            {"mobile": mobile, "code": code, "new_password1": GOOD, "new_password2": GOOD},
        )
        .context["form"]
        .errors
        for mobile in ["13800138023", "13800138022"]
    ]
    assert wrong[0] == wrong[1] == {"code": ["验证码错误或已过期，请重新获取验证码。"]}


def test_code_requests_are_rate_limited_per_mobile(
    client, django_capture_on_commit_callbacks, sms_outbox, settings
):
    settings.LEARNING_RATE_CODE_REQUEST_MOBILE = (2, 600)
    UserFactory(mobile="13800138024")
    codes = []
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            codes.append(client.post(reverse("learning:code_request"), {"mobile": "13800138024"}).status_code)
    assert codes == [302, 302, 429]
    assert len(sms_outbox) == 2
    assert (
        "次数过多"
        in client.post(reverse("learning:code_request"), {"mobile": "13800138024"}).content.decode()
    )


def test_code_attempts_are_rate_limited(client, settings):
    settings.LEARNING_RATE_CODE_VERIFY_MOBILE = (3, 3600)
    UserFactory(mobile="13800138025")
    data = {"mobile": "13800138025", "code": "123456", "new_password1": GOOD, "new_password2": GOOD}
    codes = [client.post(reverse("learning:code_confirm"), data).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_invalid_mobile_is_named(client):
    response = client.post(reverse("learning:code_request"), {"mobile": "12345"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"mobile": ["请输入 11 位中国大陆手机号，例如 13812345678。"]}


# --- login lockout (portal's /login/, django-axes) -------------------------------------------


def test_trainee_login_locks_after_repeated_failures(
    client, settings, django_capture_on_commit_callbacks, sms_outbox
):
    settings.AXES_FAILURE_LIMIT = 3
    opened(django_capture_on_commit_callbacks, mobile="13800138026")
    password_set_by_link(token=link_token(sms_outbox[0].message), password=GOOD)
    for _ in range(3):
        client.post(reverse("portal:login"), {"username": "13800138026", "password": "wrong-guess"})
    locked = client.post(reverse("portal:login"), {"username": "13800138026", "password": GOOD})
    assert locked.status_code == 429
    elsewhere = client.post(
        reverse("portal:login"), {"username": "13800138026", "password": GOOD}, REMOTE_ADDR="10.2.2.2"
    )
    assert elsewhere.status_code == 302


def test_setting_a_new_password_lifts_the_lockout(
    client, settings, django_capture_on_commit_callbacks, sms_outbox
):
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(mobile="13800138027")
    for _ in range(2):
        client.post(reverse("portal:login"), {"username": "13800138027", "password": "wrong-guess"})
    with django_capture_on_commit_callbacks(execute=True):
        access_code_request(mobile="13800138027")
    with django_capture_on_commit_callbacks(execute=True):
        password_set_by_code(mobile="13800138027", code=sms_code(sms_outbox[-1].message), password=GOOD)
    assert (
        client.post(reverse("portal:login"), {"username": "13800138027", "password": GOOD}).status_code == 302
    )


# --- personal centre ---------------------------------------------------------------------------


def test_centre_needs_login(client):
    response = client.get(reverse("learning:centre"))
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]


def test_centre_shows_pipeline_deadline_and_days_left(client, django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        enrollment = opened(django_capture_on_commit_callbacks)
        clock.move_to(START + timedelta(days=10))
        client.force_login(enrollment.user)
        html = client.get(reverse("learning:centre")).content.decode()
    assert "个人中心" in html and "我的项目" in html
    assert enrollment.programme.name in html
    assert "2026-04-01 09:00" in html and "<strong>20</strong>" in html
    for key in ["application", "payment", "account", "window", "study", "exam", "certificate", "mailing"]:
        assert f'data-step="{key}"' in html


def test_centre_shows_only_own_enrollments(client, django_capture_on_commit_callbacks):
    mine = opened(django_capture_on_commit_callbacks)
    other = opened(django_capture_on_commit_callbacks)
    client.force_login(mine.user)
    assert [r["enrollment"] for r in client.get(reverse("learning:centre")).context["rows"]] == [mine]
    assert client.get(reverse("learning:enrollment_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("learning:enrollment_detail", args=[mine.pk])).status_code == 200


def test_centre_query_count_does_not_grow(
    client, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    user = UserFactory(mobile="13800138028")
    for year in range(3):
        opened(
            django_capture_on_commit_callbacks,
            mobile="13800138028",
            application__programme=ProgrammeFactory(year=2020 + year),
        )
    client.force_login(user)
    # 8 + the messages sent to the trainee (one query) + the offline hours (one query) + 我的证书
    # (the open programme and the certificates: two queries)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("learning:centre"))
    assert len(response.context["rows"]) == 3
    for year in range(5):
        opened(
            django_capture_on_commit_callbacks,
            mobile="13800138028",
            application__programme=ProgrammeFactory(year=2010 + year),
        )
    with django_assert_max_num_queries(12):
        response = client.get(reverse("learning:centre"))
    assert len(response.context["rows"]) == 8


def test_expired_enrollment_explains_no_refund_and_what_next(client, django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        enrollment = opened(django_capture_on_commit_callbacks)
        clock.move_to(START + timedelta(days=31))
        enrollments_expire()
        client.force_login(enrollment.user)
        for url in [reverse("learning:centre"), reverse("learning:enrollment_detail", args=[enrollment.pk])]:
            response = client.get(url)
            html = response.content.decode()
            assert response.status_code == 200
            assert "已过期" in html and "不退" in html and "下一期" in html
    assert Enrollment.objects.get().status == EnrollmentStatus.EXPIRED


def test_centre_in_english(client, django_capture_on_commit_callbacks):
    enrollment = opened(django_capture_on_commit_callbacks)
    client.force_login(enrollment.user)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse("learning:centre")).content.decode()
    assert "Personal centre" in html and "My programmes" in html


def test_nav_has_personal_centre_for_logged_in_users(client):
    assert reverse("learning:centre") not in client.get("/").content.decode()
    client.force_login(UserFactory())
    assert reverse("learning:centre") in client.get("/").content.decode()


def test_enrollment_page_shows_deadline_and_days_left(client, django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        enrollment = opened(django_capture_on_commit_callbacks)
        clock.move_to(START + timedelta(days=29, hours=1))
        client.force_login(enrollment.user)
        html = client.get(reverse("learning:enrollment_detail", args=[enrollment.pk])).content.decode()
    assert "2026-04-01 09:00" in html and "剩余 1 天" in html
