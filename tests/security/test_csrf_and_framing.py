"""CSRF on every form and every POST endpoint; no framing (clickjacking)."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from .test_object_access import CASES, EXEMPT
from .world import exam_attempt_end, study_session_open

pytestmark = pytest.mark.django_db

FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)
POST_FORM = re.compile(r"<form\b[^>]*method=[\"']?post", re.I)
TOKEN = 'name="csrfmiddlewaretoken"'


def _pages(w):
    """(url, log in as the trainee, the page posts by script rather than a form)"""
    return [
        (reverse("portal:home"), True, False),
        (reverse("portal:login"), False, False),
        (reverse("registration:unit_register"), False, False),
        (reverse("registration:individual_register"), False, False),
        (reverse("registration:application_detail", args=[w.application.access_key]), False, False),
        (reverse("registration:attachment2", args=[w.trainee.access_key]), False, False),
        (reverse("payments:application_pay", args=[w.application.access_key]), False, False),
        (reverse("learning:code_request"), False, False),
        (reverse("learning:code_confirm"), False, False),
        (reverse("learning:centre"), True, False),
        (reverse("learning:lesson", args=[w.enrollment.pk, w.lesson.pk]), True, True),
        (reverse("exams:home", args=[w.enrollment.pk]), True, False),
        (reverse("exams:attempt", args=[w.attempt.pk]), True, True),
        (reverse("exams:practice", args=[w.enrollment.pk]), True, False),
        (reverse("admin:login"), False, False),
    ]


def test_every_post_form_carries_the_csrf_token(client, world_a):
    from registration.models import Trainee

    Trainee.objects.filter(pk=world_a.trainee.pk).update(status="submitted")  # withdraw and edit forms
    checked = 0
    practice = reverse("exams:practice", args=[world_a.enrollment.pk])
    for url, login, scripted in _pages(world_a):  # the practice page after the exam's
        if url == practice:
            exam_attempt_end(world_a)  # practice is closed while an exam runs
        client.logout()
        if login:
            client.force_login(world_a.user)
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        forms = [form for form in FORM.findall(html) if POST_FORM.match(form)]
        assert forms or scripted, f"{url}: no POST form found"
        for form in forms:
            assert TOKEN in form, f"{url}: a POST form without the CSRF token:\n{form[:300]}"
            checked += 1
        if scripted:
            assert TOKEN in html, f"{url}: the script finds no CSRF token to send"
    assert checked >= len(_pages(world_a)) - 2


def test_every_trainee_post_endpoint_refuses_a_request_without_the_token(world_a, world_b, client):
    """Whatever the URL, a POST without the CSRF token is refused (403) before the view runs."""
    client.force_login(world_b.user)
    study_session_open(world_b, client)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world_a.user)

    class W:
        a, b = world_a, world_b

    posts = {name: cases[0] for name, cases in CASES.items() if "POST" in cases[0].methods}
    posts_without_case = {
        "portal:login": {},
        "portal:logout": {},
        "registration:unit_register": {},
        "registration:individual_register": {},
        "learning:code_request": {},
        "learning:code_confirm": {},
    }
    assert set(posts_without_case) <= set(EXEMPT)
    refused = []
    for name, case in posts.items():
        refused.append((name, strict.post(reverse(name, kwargs=case.kwargs(W)), {}).status_code))
    for name, kwargs in posts_without_case.items():
        refused.append((name, strict.post(reverse(name, kwargs=kwargs), {}).status_code))
    wrong = [(name, status) for name, status in refused if status != 403]
    assert not wrong, wrong
    assert len(refused) >= 20


def test_pages_cannot_be_framed(client, world_a):
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" in settings.MIDDLEWARE
    assert settings.X_FRAME_OPTIONS == "DENY"
    assert settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["frame-ancestors"] == ["'none'"]
    for url in (
        reverse("portal:home"),
        reverse("portal:login"),
        reverse("registration:attachment2", args=[world_a.trainee.access_key]),
        reverse("payments:application_pay", args=[world_a.application.access_key]),
        reverse("admin:login"),
    ):
        response = client.get(url)
        assert response["X-Frame-Options"] == "DENY", url
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"], url


def test_lesson_files_are_framed_by_the_portal_itself_only(client, world_a):
    """The lesson page shows its PDF / video in a frame of the same origin: nothing else may."""
    client.force_login(world_a.user)
    response = client.get(
        reverse("learning:lesson_media", args=[world_a.enrollment.pk, world_a.lesson.pk, "video"])
    )
    assert response.status_code in (200, 206)
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
