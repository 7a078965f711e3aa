"""The progress board's certificate section (certificates.selectors.dashboard_section): its header
count and its table cover the same certificates, and its links are not blue on blue."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certificates.models import MailingStatus
from tests.factories import CertificateFactory, StaffFactory

pytestmark = pytest.mark.django_db

BOARD = "admin:learning_pipelinedashboard_changelist"


@pytest.fixture
def reviewer_client():
    client = Client()
    client.force_login(StaffFactory(role="reviewer"))
    return client


def _section(page: str) -> str:
    return page.split('id="certificates-mailing"', 1)[1].split("</table>", 1)[0]


def test_a_certificate_not_yet_due_is_counted_and_listed(reviewer_client):
    """The cause of “待寄证书：1 份” over a table saying “无”: the header counted every certificate
    not mailed yet, the table listed only the overdue and due-soon ones."""
    later = CertificateFactory(mail_due_on=timezone.localdate() + datetime.timedelta(days=20))
    section = _section(reviewer_client.get(reverse(BOARD)).content.decode())
    assert "1" in section.split("</h2>", 1)[0]
    assert later.number in section and 'class="cert-later"' in section
    assert "None." not in section and "无。" not in section


def test_header_count_equals_the_rows_listed(reviewer_client):
    today = timezone.localdate()
    CertificateFactory(mail_due_on=today - datetime.timedelta(days=3))
    CertificateFactory(mail_due_on=today)
    CertificateFactory(mail_due_on=today + datetime.timedelta(days=30))
    CertificateFactory(mail_due_on=today + datetime.timedelta(days=30), mailing_status=MailingStatus.EXPORTED)
    CertificateFactory(mailing_status=MailingStatus.MAILED, tracking_number="SF1234567890")
    section = _section(reviewer_client.get(reverse(BOARD)).content.decode())
    header = section.split("</h2>", 1)[0]
    rows = re.findall(r'<tr class="cert-(overdue|due-soon|later)"', section)
    assert sorted(rows) == ["due-soon", "later", "later", "overdue"]
    assert re.search(r"\b4\b", header)  # the header says 4, the table lists 4
    links = section.split('class="section-links"', 1)[1].split("</p>", 1)[0]
    assert "(1)" in links.split("link-due-soon", 1)[0]  # overdue (1)
    assert "?mailing=overdue" in links and "?mailing=due_soon" in links


def test_links_sit_outside_the_blue_caption_and_use_aa_colours(reviewer_client):
    CertificateFactory(mail_due_on=timezone.localdate() - datetime.timedelta(days=1))
    page = reviewer_client.get(reverse(BOARD)).content.decode()
    section = _section(page)
    assert "<caption>" not in section  # the blue header holds no links
    header = section.split("</h2>", 1)[0]
    assert "<a " not in header
    assert 'style="' not in section  # colours come from static/css/admin.css, not inline
    assert "css/admin.css" in page
