import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from portal.models import AuditEntry
from portal.services import WORKER_PING_ACTION
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_home_is_chinese_by_default_even_for_an_english_browser(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-Hans">' in html
    assert "登录" in html and "English" in html  # the switch offers the other language


def test_language_switch_to_english_and_back(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    assert '<html lang="en">' in response.content.decode()
    assert "Log in" in response.content.decode()
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}, follow=True)
    assert "登录" in response.content.decode()


def test_every_page_has_the_language_switch(client):
    for url in ["/", reverse("portal:login")]:
        assert 'name="language"' in client.get(url).content.decode()


def test_static_assets_are_local(client):
    html = client.get("/").content.decode()
    assert "/static/bootstrap/css/bootstrap.min.css" in html
    assert "cdn" not in html.lower() and "https://" not in html


def test_login_with_mobile_in_any_spelling(client):
    UserFactory(mobile="13812345678", name="张三")
    response = client.post(
        reverse("portal:login"), {"username": "+86 138-1234-5678", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get("/").context["user"].mobile == "13812345678"


def test_wrong_password_shows_a_chinese_message(client):
    UserFactory(mobile="13812345678")
    response = client.post(reverse("portal:login"), {"username": "13812345678", "password": "nope"})
    assert response.status_code == 200
    assert "手机号或密码错误" in response.content.decode()


def test_repeated_failures_lock_the_account_for_that_address(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(mobile="13812345678")
    for _ in range(3):
        client.post(reverse("portal:login"), {"username": "13812345678", "password": "nope"})
    locked = client.post(
        reverse("portal:login"), {"username": "13812345678", "password": "correct-horse-battery"}
    )
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.content.decode()
    # Another address is not locked out for the same account.
    other = client.post(
        reverse("portal:login"),
        {"username": "13812345678", "password": "correct-horse-battery"},
        REMOTE_ADDR="10.1.1.1",
    )
    assert other.status_code == 302


def test_logout_is_a_post(client):
    client.force_login(UserFactory())
    assert client.post(reverse("portal:logout")).status_code == 302
    assert not client.get("/").context["user"].is_authenticated


def test_system_status_is_staff_only_and_queues_a_task(client, django_capture_on_commit_callbacks):
    client.force_login(UserFactory())
    assert client.get(reverse("portal:system_status")).status_code == 302  # to admin login
    staff = StaffFactory()
    client.force_login(staff)
    assert client.get(reverse("portal:system_status")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:system_status"), follow=True)
    assert response.status_code == 200
    # Eager in tests: the worker task ran after the view's transaction committed.
    assert AuditEntry.objects.filter(action=WORKER_PING_ACTION).count() == 1


def test_staff_roles_exist_with_permissions():
    names = set(Group.objects.values_list("name", flat=True))
    assert {"reviewer", "finance", "course_admin"} <= names
    reviewer = Group.objects.get(name="reviewer")
    assert reviewer.permissions.filter(codename="view_auditentry").exists()


def test_audit_log_is_read_only_in_admin(admin_client):
    entry = AuditEntry.objects.create(action="x")
    assert admin_client.get(reverse("admin:portal_auditentry_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:portal_auditentry_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:portal_auditentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_admin_creates_user_with_normalised_mobile(admin_client):
    from portal.models import User

    response = admin_client.post(
        reverse("admin:portal_user_add"),
        {"mobile": "+86 137 0000 0000", "name": "新员工", "usable_password": "false"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.filter(mobile="13700000000").exists()


def test_login_field_accepts_the_country_prefix_and_separators(client):
    html = client.get(reverse("portal:login")).content.decode()
    assert 'maxlength="20"' in html


def test_content_security_policy_forbids_inline_scripts(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy


def test_error_pages_are_the_portals_in_chinese(client, settings):
    settings.DEBUG = False
    missing = client.get("/no-such-page/")
    html = missing.content.decode()
    assert missing.status_code == 404 and '<h1 class="h4">页面不存在</h1>' in html
    assert reverse("portal:home") in html and reverse("learning:centre") not in html  # not logged in
    client.force_login(UserFactory())
    refused = client.get(reverse("registration:staff_document", args=[1, "photo"]))
    html = refused.content.decode()
    assert refused.status_code == 403 and '<h1 class="h4">无权访问</h1>' in html and "alert-danger" in html
    assert reverse("learning:centre") in html


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("portal:healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"] == "text/plain"
    assert "no-cache" in response["Cache-Control"]
    assert client.post(reverse("portal:healthz")).status_code == 405


# --- Where a log-in lands -------------------------------------------------------------------


def _log_in(client, **data):
    return client.post(
        reverse("portal:login"), {"username": "13812345678", "password": "correct-horse-battery", **data}
    )


def test_trainee_lands_on_the_personal_centre(client):
    UserFactory(mobile="13812345678")
    response = _log_in(client)
    assert response.status_code == 302 and response["Location"] == reverse("learning:centre")
    # Already logged in, the log-in page goes there too.
    assert client.get(reverse("portal:login"))["Location"] == reverse("learning:centre")


def test_a_safe_next_wins_and_an_unsafe_one_is_ignored(client):
    UserFactory(mobile="13812345678")
    target = reverse("registration:start")
    assert _log_in(client, next=target)["Location"] == target
    client.post(reverse("portal:logout"))
    assert _log_in(client, next="https://evil.example/")["Location"] == reverse("learning:centre")


def test_staff_land_on_the_home_page(client):
    StaffFactory(mobile="13812345678")
    assert _log_in(client)["Location"] == reverse("portal:home")


def test_home_offers_continue_studying_first_when_logged_in(client):
    html = client.get("/").content.decode()
    assert "继续学习" not in html and reverse("portal:login") in html
    client.force_login(UserFactory())
    html = client.get("/").content.decode()
    button = f'<a class="btn btn-primary" href="{reverse("learning:centre")}" data-testid="continue-studying">继续学习</a>'
    assert button in html
    assert html.index(button) < html.index(reverse("registration:unit_register"))
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert ">Continue studying</a>" in client.get("/").content.decode()
