"""Trainee A cannot reach trainee B's objects through any trainee-facing URL.

Every URL pattern of the trainee-facing apps must have a case in ``CASES`` (url name -> cases) or an
entry in ``EXEMPT`` with the reason; a new URL without either fails
``test_every_url_has_a_case_or_an_exemption``. Each case names B's objects with A's credentials (A's
login session, A's private links) and expects a refusal (404 / 403, never 200, never 500), for GET
and POST; afterwards B's data must be unchanged.

Both trainees also hold a certificate (the certificates app's download is checked like the rest).
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from certificates.models import Certificate
from exams.models import AttemptQuestion, AttemptStatus
from learning.models import StudyState
from registration.models import TraineeStatus
from tests.factories import CertificateFactory

from .world import TraineeWorld, exam_attempt_end, study_session_open

pytestmark = pytest.mark.django_db

# Namespaces whose URLs trainees (or the public) reach; every other namespace must be "admin".
TRAINEE_NAMESPACES = {"portal", "registration", "payments", "learning", "exams", "certificates"}
NOT_YET_COVERED: set[str] = set()

EXEMPT = {
    "portal:home": "public start page, no object",
    "portal:login": "public log-in form, no object (hostile input: test_hostile_input)",
    "portal:logout": "ends the caller's own session only",
    "portal:healthz": "liveness text 'ok' for load balancers; no object, no session, no database",
    "registration:start": "public sign-up start page, no object",
    "registration:unit_register": "public sign-up form, no object (hostile input: test_hostile_input)",
    "registration:individual_register": "public sign-up form, no object (hostile input: test_hostile_input)",
    "registration:individual_sent": "the same 'an SMS is on its way' page for everyone; shows only the "
    "masked mobile number this browser typed (test_registration_oracle)",
    "registration:roster_template": "public blank Excel template",
    "payments:qr_image": "the association's collection QR code, public (printed on the notice)",
    "learning:code_request": "public form; same answer for every mobile number, rate limited",
    "learning:code_confirm": "public form; the SMS code is the credential, rate limited",
    "set_language": "Django's language switch, no object",
    "certificates:verify": "public verification form: number and name; a wrong name shows nothing, rate "
    "limited (tests/certificates/test_views.py, hostile input: test_hostile_input)",
    "certificates:verify_number": "public QR link: opens only with the certificate's own key, a wrong or "
    "missing key shows nothing about the holder (tests/certificates/test_views.py)",
}


def _forged(key: str) -> str:
    """B's private key with one character changed: guessing near a real key finds nothing."""
    return ("A" if key[0] != "A" else "B") + key[1:]


@dataclass
class Worlds:
    a: TraineeWorld
    b: TraineeWorld


@dataclass(frozen=True)
class Case:
    """A's credentials with B's ids. ``methods``: what the view serves (the others must be refused
    too, 405 included). ``login``: the request comes from A's logged-in session."""

    kwargs: Callable[[Worlds], dict]
    methods: tuple[str, ...]
    login: bool = True
    expect: frozenset = frozenset({403, 404})
    form: Callable[[Worlds], dict] | None = None
    json: Callable[[Worlds], dict] | None = None
    check: Callable[[Worlds], None] | None = None
    note: str = ""
    own_listing: bool = field(default=False)  # 200 allowed: A's own page, B must not appear in it


def _b_unchanged(w: Worlds) -> None:
    trainee = w.b.trainee
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.APPROVED and trainee.declaration_name == trainee.name
    attempt = w.b.attempt
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.IN_PROGRESS
    assert not AttemptQuestion.objects.filter(attempt=attempt, answer__isnull=False).exists()
    assert w.b.enrollment.exam_attempts.count() == 1
    state = StudyState.objects.get(enrollment=w.b.enrollment)
    assert (state.token, state.last_seq, state.checks_missed) == (w.b.state.token, 0, 0)


A, B = "a", "b"
CASES: dict[str, list[Case]] = {
    # --- registration: private links (the key is the credential) and staff-only files -------------
    "registration:application_detail": [
        Case(lambda w: {"access_key": w.a.trainee.access_key}, ("GET",), login=False, note="A's trainee key"),
        Case(lambda w: {"access_key": _forged(w.b.application.access_key)}, ("GET",), login=False),
    ],
    "registration:trainee_withdraw": [
        Case(
            lambda w: {"access_key": w.a.application.access_key, "trainee_pk": w.b.trainee.pk},
            ("POST",),
            login=False,
            note="A's application link, B's trainee",
        ),
    ],
    "registration:attachment2": [
        Case(
            lambda w: {"access_key": w.a.application.access_key},
            ("GET", "POST"),
            login=False,
            form=lambda w: {"declaration_name": w.b.trainee.name, "work_history": "篡改"},
        ),
        Case(lambda w: {"access_key": _forged(w.b.trainee.access_key)}, ("GET", "POST"), login=False),
    ],
    "registration:trainee_document": [
        Case(lambda w: {"access_key": w.a.application.access_key, "kind": "id_front"}, ("GET",), login=False),
        Case(
            lambda w: {"access_key": _forged(w.b.trainee.access_key), "kind": "photo"}, ("GET",), login=False
        ),
    ],
    "registration:attachment2_print": [
        Case(lambda w: {"access_key": w.a.application.access_key}, ("GET",), login=False),
        Case(lambda w: {"access_key": _forged(w.b.trainee.access_key)}, ("GET",)),
    ],
    "registration:staff_document": [
        Case(lambda w: {"trainee_pk": w.b.trainee.pk, "kind": "id_front"}, ("GET",), expect=frozenset({403})),
    ],
    "registration:staff_attachment2_print": [
        Case(lambda w: {"trainee_pk": w.b.trainee.pk}, ("GET",), expect=frozenset({403})),
    ],
    # --- payments ---------------------------------------------------------------------------------
    "payments:application_pay": [
        Case(
            lambda w: {"access_key": w.a.trainee.access_key},
            ("GET", "POST"),
            login=False,
            form=lambda w: {"trainees": [w.b.trainee.pk], "channel": "bank_transfer"},
        ),
        Case(lambda w: {"access_key": _forged(w.b.application.access_key)}, ("GET", "POST")),
    ],
    "payments:payment_screenshot": [
        Case(lambda w: {"pk": w.b.payment.pk}, ("GET",), expect=frozenset({403})),
    ],
    "payments:invoice_pdf": [
        Case(lambda w: {"pk": w.b.invoice.pk}, ("GET",), expect=frozenset({403})),
    ],
    # --- learning ---------------------------------------------------------------------------------
    "learning:centre": [
        Case(lambda w: {}, ("GET", "POST"), expect=frozenset({200}), own_listing=True),
    ],
    "learning:enrollment_detail": [
        Case(lambda w: {"pk": w.b.enrollment.pk}, ("GET", "POST")),
    ],
    "learning:lesson": [
        Case(lambda w: {"pk": w.b.enrollment.pk, "lesson_pk": w.b.lesson.pk}, ("GET", "POST")),
        Case(
            lambda w: {"pk": w.a.enrollment.pk, "lesson_pk": w.b.lesson.pk},
            ("GET", "POST"),
            note="A's enrollment, a lesson outside A's plan",
        ),
    ],
    "learning:lesson_start": [
        Case(lambda w: {"pk": w.b.enrollment.pk, "lesson_pk": w.b.lesson.pk}, ("POST",)),
        Case(lambda w: {"pk": w.a.enrollment.pk, "lesson_pk": w.b.lesson.pk}, ("POST",)),
    ],
    "learning:lesson_media": [
        Case(lambda w: {"pk": w.b.enrollment.pk, "lesson_pk": w.b.lesson.pk, "kind": "video"}, ("GET",)),
        Case(lambda w: {"pk": w.a.enrollment.pk, "lesson_pk": w.b.lesson.pk, "kind": "video"}, ("GET",)),
    ],
    "learning:heartbeat": [
        Case(
            lambda w: {},
            ("POST",),
            expect=frozenset({403, 409}),
            json=lambda w: {"token": str(w.b.state.token), "seq": 1, "state": "active", "played": [[0, 15]]},
            note="B's study session token from A's login session",
        ),
    ],
    "learning:presence": [
        Case(
            lambda w: {},
            ("POST",),
            expect=frozenset({403, 404, 409}),
            json=lambda w: {"token": str(w.b.state.token), "check": 1},
        ),
    ],
    "learning:activate": [
        Case(
            lambda w: {"token": uuid.uuid4().hex},
            ("GET", "POST"),
            expect=frozenset({404, 410}),
            form=lambda w: {"new_password1": "Takeover-pass-2026", "new_password2": "Takeover-pass-2026"},
            note="the link token is the credential: an unknown one opens nothing",
        ),
    ],
    # --- exams ------------------------------------------------------------------------------------
    "exams:home": [Case(lambda w: {"enrollment_id": w.b.enrollment.pk}, ("GET",))],
    "exams:start": [Case(lambda w: {"enrollment_id": w.b.enrollment.pk}, ("POST",))],
    "exams:practice": [
        Case(
            lambda w: {"enrollment_id": w.b.enrollment.pk},
            ("GET", "POST"),
            form=lambda w: {"question": w.b.attempt.items.first().question_id, "choice": ["0"]},
        )
    ],
    "exams:attempt": [Case(lambda w: {"pk": w.b.attempt.pk}, ("GET",))],
    "exams:answer": [
        Case(lambda w: {"pk": w.b.attempt.pk}, ("POST",), json=lambda w: {"position": 1, "choices": [0]})
    ],
    "exams:state": [Case(lambda w: {"pk": w.b.attempt.pk}, ("GET",))],
    "exams:submit": [
        Case(
            lambda w: {"pk": w.b.attempt.pk},
            ("POST",),
            form=lambda w: {f"q{item.position}": ["0"] for item in w.b.attempt.items.all()},
        )
    ],
    "exams:result": [Case(lambda w: {"pk": w.b.attempt.pk}, ("GET",))],
    # --- certificates -------------------------------------------------------------------------------
    "certificates:download": [
        Case(lambda w: {"pk": Certificate.objects.get(enrollment=w.b.enrollment).pk}, ("GET",)),
    ],
    # --- portal -----------------------------------------------------------------------------------
    "portal:system_status": [
        Case(lambda w: {}, ("GET", "POST"), expect=frozenset({302}), note="staff only: to the admin log-in"),
    ],
}


def _url_names(patterns, namespace: str | None = None) -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if namespace and pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}"
            names |= _url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    return names


def _all_url_names() -> set[str]:
    return _url_names(get_resolver().url_patterns)


def test_every_url_has_a_case_or_an_exemption():
    names = _all_url_names()
    namespaces = {name.split(":")[0] for name in names if ":" in name}
    assert namespaces <= TRAINEE_NAMESPACES | {"admin"}, namespaces - TRAINEE_NAMESPACES
    uncovered = sorted(
        name
        for name in names
        if name.split(":")[0] not in NOT_YET_COVERED | {"admin"} and name not in CASES and name not in EXEMPT
    )
    assert not uncovered, f"URLs without an object-access case or an exemption: {uncovered}"
    stale = sorted((set(CASES) | set(EXEMPT)) - names)
    assert not stale, f"cases for URLs that no longer exist: {stale}"
    assert not set(CASES) & set(EXEMPT)


@pytest.fixture
def worlds(world_a, world_b, client):
    client.force_login(world_b.user)
    study_session_open(world_b, client)
    client.logout()
    for world in (world_a, world_b):
        CertificateFactory(enrollment=world.enrollment, holder_name=world.trainee.name)
    return Worlds(a=world_a, b=world_b)


def _request(client, method: str, url: str, case: Case, w: Worlds):
    if method == "GET":
        return client.get(url)
    if case.json is not None:
        return client.post(url, json.dumps(case.json(w)), content_type="application/json")
    return client.post(url, case.form(w) if case.form else {})


@pytest.mark.parametrize("name", sorted(CASES))
def test_trainee_a_cannot_reach_trainee_b(name, worlds, client):
    w = worlds
    failures = []
    for index, case in enumerate(CASES[name]):
        url = reverse(name, kwargs=case.kwargs(w))
        if case.login:
            client.force_login(w.a.user)
        else:
            client.logout()
        for method in ("GET", "POST"):
            expected = case.expect if method in case.methods else case.expect | {403, 404, 405}
            response = _request(client, method, url, case, w)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            label = f"{name}[{index}] {method} {url}"
            if response.status_code not in expected:
                failures.append(f"{label}: {response.status_code}, expected {sorted(expected)}")
            if case.own_listing or response.status_code == 200:
                text = body.decode("utf-8", "replace")
                for secret in (w.b.trainee.name, w.b.trainee.id_number, w.b.application.unit_name):
                    if secret in text:
                        failures.append(f"{label}: B's data ({secret}) in the page")
            if response.status_code == 302 and name == "portal:system_status":
                assert "/admin/login/" in response["Location"]
        (case.check or _b_unchanged)(w)
    assert not failures, "\n".join(failures)


OWN = {
    "registration:application_detail": lambda w: {"access_key": w.a.application.access_key},
    "registration:attachment2": lambda w: {"access_key": w.a.trainee.access_key},
    "registration:trainee_document": lambda w: {"access_key": w.a.trainee.access_key, "kind": "id_front"},
    "payments:application_pay": lambda w: {"access_key": w.a.application.access_key},
    "learning:enrollment_detail": lambda w: {"pk": w.a.enrollment.pk},
    "learning:lesson": lambda w: {"pk": w.a.enrollment.pk, "lesson_pk": w.a.lesson.pk},
    "learning:lesson_media": lambda w: {"pk": w.a.enrollment.pk, "lesson_pk": w.a.lesson.pk, "kind": "video"},
    "exams:home": lambda w: {"enrollment_id": w.a.enrollment.pk},
    "exams:practice": lambda w: {"enrollment_id": w.a.enrollment.pk},
    "exams:attempt": lambda w: {"pk": w.a.attempt.pk},
    "exams:state": lambda w: {"pk": w.a.attempt.pk},
    "certificates:download": lambda w: {"pk": Certificate.objects.get(enrollment=w.a.enrollment).pk},
}


def test_control_a_reaches_its_own_objects(worlds, client):
    """The refusals above are about ownership: the same URLs with A's own ids answer 200 (practice
    once A's exam is submitted: it is closed while an exam runs)."""
    client.force_login(worlds.a.user)
    for name, kwargs in OWN.items():
        response = client.get(reverse(name, kwargs=kwargs(worlds)))
        assert response.status_code == (403 if name == "exams:practice" else 200), name
    exam_attempt_end(worlds.a)
    assert client.get(reverse("exams:practice", kwargs=OWN["exams:practice"](worlds))).status_code == 200
