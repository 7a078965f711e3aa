import io

import pytest

from certificates import demo
from certificates.models import Certificate, CertificateSettings
from certificates.services.pdf import certificate_pdf_bytes
from tests.factories import ISSUER, passed_enrollment_make

pytestmark = pytest.mark.django_db


def test_demo_load_sets_the_seal_and_sender_and_issues_for_passed_enrollments():
    enrollment = passed_enrollment_make()
    demo.load(stdout=io.StringIO())
    demo.load(stdout=io.StringIO())
    config = CertificateSettings.objects.get()
    assert config.seal and config.sender_address
    assert Certificate.objects.filter(enrollment=enrollment).count() == 1
    certificate = Certificate.objects.get()
    assert certificate.issuer == ISSUER
    assert certificate_pdf_bytes(certificate=certificate).startswith(b"%PDF")
