"""The platform guide (附件3), the FAQ and the association's contacts by role (issue #19, points 2 and 4)."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from portal.models import AuditEntry, Contact, ContactRole, FaqEntry
from portal.roles import COURSE_ADMIN, FINANCE, REVIEWER
from portal.selectors import GUIDE_SHOT_NAMES
from tests.factories import ContactFactory, FaqEntryFactory, StaffFactory, association_make

pytestmark = pytest.mark.django_db

MAX_IMAGE_BYTES = 150 * 1024


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def _images(html: str) -> list[dict]:
    parser = _Images()
    parser.feed(html)
    return parser.images


def _english(client) -> None:
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def _footer(html: str) -> str:
    return html[html.index("<footer") :]


# --- the guide ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "folder"), [("zh-hans", "zh-hans"), ("en", "en")])
def test_guide_shows_each_section_with_its_screenshot_in_the_page_language(client, language, folder):
    if language == "en":
        _english(client)
    response = client.get(reverse("portal:guide"))
    html = response.content.decode()
    assert response.status_code == 200
    for section in ("login", "centre", "study", "exam", "certificate"):
        assert f'id="guide-{section}"' in html
    images = _images(html)
    assert [img["src"] for img in images] == [
        f"/static/portal/guide/{folder}/{name}.png" for name in GUIDE_SHOT_NAMES
    ]
    for img in images:
        assert img["alt"].strip() and img["width"] == "390" and img["height"] == "844"
    # the links of the guide lead to the real pages
    for name in (
        "learning:code_request",
        "portal:login",
        "learning:centre",
        "certificates:verify",
        "portal:faq",
    ):
        assert f'href="{reverse(name)}"' in html


def test_guide_speaks_english_after_the_switch(client):
    _english(client)
    html = client.get(reverse("portal:guide")).content.decode()
    assert '<html lang="en">' in html
    assert "Platform guide" in html
    assert "Your score is below the pass mark. Please take the resit in time." in html


def test_guide_uses_the_translated_names_of_the_pages_it_describes(client):
    """The buttons the guide names are spelled as the pages spell them (the catalogue's Chinese)."""
    html = client.get(reverse("portal:guide")).content.decode()
    assert "个人中心" in html  # "Personal centre", the navigation's own word


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_image_the_guide_references_exists_small_and_of_its_stated_shape(client, language):
    if language == "en":
        _english(client)
    images = _images(client.get(reverse("portal:guide")).content.decode())
    assert images
    for img in images:
        path = finders.find(img["src"].removeprefix("/static/"))
        assert path, f"{img['src']} is missing: run `make screenshots`"
        with open(path, "rb") as handle:
            size = len(handle.read())
        assert size < MAX_IMAGE_BYTES, f"{img['src']} is {size} bytes"
        with Image.open(path) as picture:
            width, height = picture.size
        # the PNG has 2 pixels per CSS pixel (phone), the attributes give the CSS size
        assert (width, height) == (2 * int(img["width"]), 2 * int(img["height"])), img["src"]


def test_guide_queries_stay_constant(client, django_assert_max_num_queries):
    ContactFactory.create_batch(8)
    client.get(reverse("portal:guide"))  # the contacts are cached after the first page
    with django_assert_max_num_queries(3):
        client.get(reverse("portal:guide"))


# --- the FAQ -----------------------------------------------------------------------------------


def test_faq_shows_published_entries_grouped_by_topic(client):
    FaqEntryFactory(topic="证书与发票", question="证书什么时候寄出？", order=3)
    FaqEntryFactory(topic="账号与登录", question="忘记密码怎么办？", order=1)
    FaqEntryFactory(topic="账号与登录", question="缴费后多久可以登录？", order=2)
    FaqEntryFactory(topic="账号与登录", question="草稿问题？", published=False)
    html = client.get(reverse("portal:faq")).content.decode()
    order = [m.group(1) for m in re.finditer(r'<summary class="faq-question[^"]*">([^<]+)</summary>', html)]
    assert order == ["忘记密码怎么办？", "缴费后多久可以登录？", "证书什么时候寄出？"]
    assert "草稿问题" not in html
    assert html.count('<h2 class="h5">账号与登录</h2>') == 1
    assert html.index("账号与登录") < html.index("证书与发票")


def test_faq_without_entries_points_to_the_contacts(client):
    ContactFactory(name="姚老师")
    html = client.get(reverse("portal:faq")).content.decode()
    assert 'id="faq-empty"' in html
    assert 'id="contacts"' in html and "姚老师" in html


def test_faq_answer_is_sanitised_like_lessons(client):
    FaqEntryFactory(
        question="怎样学习？",
        answer_html='<p onclick="steal()">请<strong>按时</strong>确认。<script>alert(1)</script>'
        '<a href="javascript:alert(2)">x</a><img src=x onerror="alert(3)"></p>',
    )
    html = client.get(reverse("portal:faq")).content.decode()
    answer = html[html.index('class="faq-answer') :]
    answer = answer[: answer.index("</details>")]
    assert "<strong>按时</strong>" in answer
    assert "<script" not in answer and "alert(1)" not in answer
    assert "onclick" not in answer and "onerror" not in answer and "javascript:" not in answer
    assert "<img" not in answer


def test_faq_queries_do_not_grow_with_entries(client, django_assert_max_num_queries):
    for n in range(30):
        FaqEntryFactory(topic=f"主题{n % 4}")
    ContactFactory.create_batch(5)
    client.get(reverse("portal:faq"))
    with django_assert_max_num_queries(3):
        response = client.get(reverse("portal:faq"))
    assert response.content.decode().count('class="faq-entry') == 30


@pytest.mark.parametrize("role", [REVIEWER, COURSE_ADMIN])
def test_faq_entry_added_in_admin_shows_on_the_page_and_is_audited(client, role):
    staff = StaffFactory(role=role)
    client.force_login(staff)
    response = client.post(
        reverse("admin:portal_faqentry_add"),
        {
            "topic": "学习与考试",
            "question": "每天最多能学几学时？",
            "answer_html": "<p>每天计入的学时有上限。</p><script>x()</script>",
            "order": "1",
            "published": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = FaqEntry.objects.get()
    assert AuditEntry.objects.filter(actor=staff, target_id=str(entry.pk)).exists()
    client.logout()
    html = client.get(reverse("portal:faq")).content.decode()
    assert "每天最多能学几学时？" in html and "<p>每天计入的学时有上限。</p>" in html
    assert "x()" not in html
    # unpublished in admin: gone from the page
    client.force_login(staff)
    response = client.post(
        reverse("admin:portal_faqentry_change", args=[entry.pk]),
        {
            "topic": "学习与考试",
            "question": "每天最多能学几学时？",
            "answer_html": "<p>改。</p>",
            "order": "1",
        },
    )
    assert response.status_code == 302
    client.logout()
    assert "每天最多能学几学时？" not in client.get(reverse("portal:faq")).content.decode()


def test_finance_cannot_edit_the_faq_or_the_contacts(client):
    client.force_login(StaffFactory(role=FINANCE))
    assert client.get(reverse("admin:portal_faqentry_add")).status_code == 403
    assert client.get(reverse("admin:portal_contact_add")).status_code == 403


# --- the contacts ------------------------------------------------------------------------------


def test_footer_shows_contacts_by_role_with_tel_links(client):
    ContactFactory(role=ContactRole.TECHNICAL, name="姚老师", phone="020-1234 5678", order=1)
    ContactFactory(role=ContactRole.REGISTRATION, name="王老师", phone="13631325731", order=2)
    ContactFactory(role=ContactRole.REGISTRATION, name="翁老师", phone="13622842942", order=3)
    ContactFactory(role=ContactRole.PAYMENT, name="离职老师", active=False)
    footer = _footer(client.get("/").content.decode())
    assert '<a href="tel:02012345678" class="footer-tel">020-1234 5678</a>' in footer
    registration = footer[footer.index('data-role="registration"') :]
    registration = registration[: registration.index("</li>")]
    assert "王老师" in registration and "翁老师" in registration and "tel:13622842942" in registration
    assert footer.index("姚老师") < footer.index("王老师")
    assert "离职老师" not in footer
    assert 'data-role="payment"' not in footer


@pytest.mark.parametrize("name", ["portal:guide", "portal:faq"])
def test_guide_and_faq_pages_list_contacts_with_hours_and_email(client, name):
    ContactFactory(
        role=ContactRole.PAYMENT, name="陈老师", email="invoice@example.org", hours="工作日 9:00–12:00"
    )
    html = client.get(reverse(name)).content.decode()
    section = html[html.index('id="contacts"') : html.index("<footer")]
    assert "陈老师" in section and "工作日 9:00–12:00" in section
    assert 'href="mailto:invoice@example.org"' in section


def test_contacts_come_from_the_cache_and_follow_every_edit(client):
    contact = ContactFactory(name="姚老师")
    assert "姚老师" in _footer(client.get("/").content.decode())
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert not [q for q in queries.captured_queries if "portal_contact" in q["sql"]]
    contact.name = "杨老师"
    contact.save()
    footer = _footer(client.get("/").content.decode())
    assert "杨老师" in footer and "姚老师" not in footer
    contact.delete()
    assert "杨老师" not in _footer(client.get("/").content.decode())


def test_contact_edited_in_admin_shows_in_the_footer(client):
    contact = ContactFactory(role=ContactRole.TECHNICAL, name="姚老师", phone="020-00000001")
    client.get("/")  # cached
    staff = StaffFactory(role=REVIEWER)
    client.force_login(staff)
    response = client.post(
        reverse("admin:portal_contact_change", args=[contact.pk]),
        {
            "role": ContactRole.TECHNICAL,
            "name": "姚老师",
            "phone": "020-99999999",
            "email": "",
            "hours": "",
            "order": "1",
            "active": "on",
        },
    )
    assert response.status_code == 302
    assert Contact.objects.get().phone == "020-99999999"
    assert 'href="tel:02099999999"' in _footer(client.get("/").content.decode())


def test_home_page_queries_do_not_grow_with_contacts(client):
    client.get("/")
    with CaptureQueriesContext(connection) as without:
        client.get("/")
    ContactFactory.create_batch(10)
    client.get("/")
    with CaptureQueriesContext(connection) as with_ten:
        response = client.get("/")
    assert response.content.decode().count('class="footer-tel"') == 10
    assert len(with_ten.captured_queries) == len(without.captured_queries)


def test_footer_and_home_link_to_the_guide_and_the_faq(client):
    html = client.get("/").content.decode()
    footer = _footer(html)
    assert f'href="{reverse("portal:guide")}"' in footer and f'href="{reverse("portal:faq")}"' in footer
    help_line = html[html.index('id="home-help"') :]
    help_line = help_line[: help_line.index("</p>")]
    assert f'href="{reverse("portal:guide")}"' in help_line and f'href="{reverse("portal:faq")}"' in help_line


def test_footer_falls_back_to_the_association_contact_without_contacts(client):
    association = association_make()
    association.contact_name, association.contact_phone = "李老师", "020-00000000"
    association.save()
    assert "李老师 020-00000000" in _footer(client.get("/").content.decode())
    ContactFactory(name="姚老师")
    footer = _footer(client.get("/").content.decode())
    assert "姚老师" in footer and "李老师 020-00000000" not in footer


def test_demo_data_loads_the_notices_contacts_and_faq_once(client):
    from io import StringIO

    from portal import demo

    demo.load(stdout=StringIO())
    demo.load(stdout=StringIO())  # safe to run again
    assert list(Contact.objects.values_list("role", flat=True)) == [
        ContactRole.TECHNICAL,
        ContactRole.REGISTRATION,
        ContactRole.REGISTRATION,
        ContactRole.PAYMENT,
    ]
    assert FaqEntry.objects.filter(published=True).count() == len(demo.FAQ)
    footer = _footer(client.get("/").content.decode())
    assert all(name in footer for name in ("姚老师", "王老师", "翁老师"))
    assert "缴费后多久可以登录学习？" in client.get(reverse("portal:faq")).content.decode()
