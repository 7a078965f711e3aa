"""The trainee's download, the public verification page (right and wrong names, QR link, revoked,
rate limit) and the certificate and mailing steps of the personal centre."""

import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certificates.models import CertificateStatus
from certificates.services.issue import certificates_issue
from certificates.services.mailing import certificate_mark_mailed
from certificates.services.revocation import certificate_revoke
from certificates.services.verification import verify_url
from portal.models import AuditEntry
from tests.factories import CertificateFactory, StaffFactory, UserFactory, passed_enrollment_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(django_capture_on_commit_callbacks):
    enrollment = passed_enrollment_make(name="欧阳𠮷")
    with django_capture_on_commit_callbacks(execute=True):
        (certificate,) = certificates_issue(enrollment_ids=[enrollment.pk]).issued
    certificate.refresh_from_db()
    return certificate


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# -- download --------------------------------------------------------------------------------


def test_holder_downloads_the_pdf(issued):
    response = _client(issued.enrollment.user).get(reverse("certificates:download", args=[issued.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # streamed from the stored file
    assert "no-store" in response["Cache-Control"]
    assert issued.number in response["Content-Disposition"]


def test_another_trainee_gets_404_and_anonymous_goes_to_login(issued):
    other = UserFactory()
    url = reverse("certificates:download", args=[issued.pk])
    assert _client(other).get(url).status_code == 404
    response = Client().get(url)
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]


def test_staff_need_the_permission_and_their_download_is_logged(issued):
    url = reverse("certificates:download", args=[issued.pk])
    assert _client(StaffFactory(role="finance")).get(url).status_code == 404
    reviewer = StaffFactory(role="reviewer")
    response = _client(reviewer).get(url, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="certificate.pdf_viewed")
    assert entry.actor == reviewer and entry.ip_address == "10.1.2.3"


def test_revoked_certificate_cannot_be_downloaded_by_its_holder(issued):
    certificate_revoke(certificate=issued, actor=StaffFactory(), reason="违规")
    response = _client(issued.enrollment.user).get(reverse("certificates:download", args=[issued.pk]))
    assert response.status_code == 410
    assert f"证书 {issued.number} 已被撤销，不能再下载。" in response.content.decode()


# -- verification ----------------------------------------------------------------------------------


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def _verify(client, number, name, **extra):
    return client.post(reverse("certificates:verify"), {"number": number, "name": name}, **extra)


def test_verification_with_the_right_name_shows_validity_with_the_id_masked(issued):
    response = _verify(Client(), issued.number.lower(), " 欧阳 𠮷 ")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-result="valid"' in page
    assert issued.number in page and issued.id_number_masked in page
    assert issued.enrollment.trainee.id_number not in page
    assert issued.issue_date.strftime("%Y-%m-%d") in page


@pytest.mark.parametrize("name", ["欧阳吉", "欧阳", "王小明", "x"])
def test_verification_with_a_wrong_name_reveals_nothing(issued, name):
    response = _verify(Client(), issued.number, name)
    page = response.content.decode()
    assert 'data-result="none"' in page
    assert issued.id_number_masked not in page and "欧阳𠮷" not in page
    assert issued.get_certificate_type_display() not in page
    unknown = _verify(Client(), "AQ2026999999", name).content.decode()
    # A wrong name and an unknown number look the same (nothing to tell them apart), but for the
    # number typed and each response's own CSRF token.
    assert _without_csrf(page.replace(issued.number, "AQ2026999999")) == _without_csrf(unknown)


def test_revoked_certificate_shows_revoked(issued):
    certificate_revoke(certificate=issued, actor=StaffFactory(), reason="违规")
    page = _verify(Client(), issued.number, "欧阳𠮷").content.decode()
    assert 'data-result="revoked"' in page and 'data-result="valid"' not in page


def test_qr_link_opens_with_its_key_only(issued):
    url = verify_url(issued)
    path = url[url.index("/certificates/") :]
    page = Client().get(path).content.decode()
    assert 'data-result="valid"' in page and issued.id_number_masked in page
    wrong = Client().get(reverse("certificates:verify_number", args=[issued.number]) + "?k=guess")
    assert 'data-result="none"' in wrong.content.decode()
    no_key = Client().get(reverse("certificates:verify_number", args=[issued.number]))
    assert "data-result" not in no_key.content.decode() and issued.number in no_key.content.decode()


def test_invalid_input_gets_a_clear_message_in_chinese():
    response = _verify(Client(), "'; DROP TABLE--", "<script>alert(1)</script>")
    page = response.content.decode()
    assert response.status_code == 400
    assert "证书编号" in page
    assert "<script>alert(1)</script>" not in page


def test_verification_is_rate_limited_per_address(settings):
    settings.CERTIFICATES_VERIFY_RATE_IP = (3, 600)
    client = Client()
    codes = [_verify(client, f"AQ202600000{i}", "张三", REMOTE_ADDR="10.9.9.9").status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert _verify(client, "AQ2026000001", "张三", REMOTE_ADDR="10.9.9.8").status_code == 200


def test_guessing_names_for_one_number_across_addresses_is_slowed_down(settings, issued):
    """Past the wrong names allowed per number, one check of it per few seconds, whoever asks."""
    settings.CERTIFICATES_VERIFY_RATE_NUMBER = (2, 3600)
    settings.CERTIFICATES_VERIFY_NUMBER_WAIT_SECONDS = 10
    with time_machine.travel(timezone.now(), tick=False) as clock:
        responses = [
            _verify(Client(), issued.number, name, REMOTE_ADDR=f"10.0.0.{i}")
            for i, name in enumerate(["张三", "李四", "王五", "欧阳𠮷"])
        ]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert responses[3]["Retry-After"] == "10"
        assert "请等待 10 秒后再试" in responses[3].content.decode()
        clock.shift(10)
        page = _verify(Client(), issued.number, "欧阳𠮷", REMOTE_ADDR="10.0.0.9").content.decode()
        assert 'data-result="valid"' in page


# -- the personal centre ----------------------------------------------------------------------------


def test_centre_shows_the_certificate_download_and_then_the_tracking_number(
    issued, django_assert_max_num_queries
):
    client = _client(issued.enrollment.user)
    page = client.get(reverse("learning:centre")).content.decode()
    assert reverse("certificates:download", args=[issued.pk]) in page
    assert issued.mail_due_on.isoformat() in page

    certificate_mark_mailed(certificate=issued, tracking_number="SF1234567890123", actor=StaffFactory())
    page = client.get(reverse("learning:enrollment_detail", args=[issued.enrollment.pk])).content.decode()
    assert "SF1234567890123" in page


def test_centre_queries_do_not_grow_with_certificates(django_assert_max_num_queries):
    """Three enrollments with certificates cost no more queries than one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import EnrollmentFactory

    first = CertificateFactory()
    user = first.enrollment.user
    client = _client(user)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("learning:centre"))
    for _ in range(2):
        CertificateFactory(enrollment=EnrollmentFactory(user=user, status="passed"))
    with CaptureQueriesContext(connection) as three:
        response = client.get(reverse("learning:centre"))
    assert response.content.decode().count("certificates/") >= 3
    assert len(three.captured_queries) == len(one.captured_queries)


def test_revoked_certificate_step_is_marked_revoked():
    certificate = CertificateFactory(status=CertificateStatus.REVOKED)
    page = _client(certificate.enrollment.user).get(reverse("learning:centre")).content.decode()
    assert reverse("certificates:download", args=[certificate.pk]) not in page
    step = re.search(r'data-step="certificate">(.*?)</li>', page, re.S).group(1)
    assert '<span class="small">已撤销</span>' in step
