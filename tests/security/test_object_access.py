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
    "portal:announcements": "public announcements: only those shown now (tests/portal/test_announcements.py)",
    "portal:announcement": "public announcement; one not yet published or expired is 404 "
    "(tests/portal/test_announcements.py), nobody's personal data",
    "portal:programmes": "public programme list, no personal data (tests/registration/test_programme_pages.py)",
    "portal:programme": "public programme page, no personal data (tests/registration/test_programme_pages.py)",
    "portal:guide": "public platform guide (附件3), no object",
    "portal:faq": "public FAQ: published entries only (tests/portal/test_guide.py), no object",
    "registration:start": "public sign-up start page, no object",
    "registration:unit_register": "public sign-up form, no object (hostile input: test_hostile_input)",
    "registration:individual_register": "public sign-up form, no object (hostile input: test_hostile_input)",
    "registration:individual_sent": "the same 'an SMS is on its way' page for everyone; shows only the "
    "masked mobile number this browser typed (test_registration_oracle)",
    "registration:roster_template": "public blank Excel template",
    "registration:unit_login": "public unit log-in form: the same answer for every mobile number, rate limited "
    "(tests/registration/test_units.py)",
    "registration:unit_login_confirm": "public form; the SMS code is the credential, rate limited and slowed "
    "down per number (tests/registration/test_units.py)",
    "registration:unit_recover": "public link recovery: the same answer whatever the credit code and number "
    "(tests/registration/test_units.py), rate limited",
    "registration:unit_recover_confirm": "public form; the SMS code is the credential, rate limited",
    "registration:unit_logout": "ends the caller's own unit log-in only",
    "payments:qr_image": "the association's collection QR code, public (printed on the notice)",
    "learning:code_request": "public form; same answer for every mobile number, rate limited",
    "learning:code_confirm": "public form; the SMS code is the credential, rate limited",
    "learning:offline_checkin": "an offline session's QR link (the token is printed at the venue, not "
    "personal): checks in only the logged-in user's own enrollment of that programme, shows nobody "
    "else's data (tests/learning/test_offline.py)",
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
    # The request also comes from a unit account's log-in (registration.units.access): the contact
    # returned (of A's unit) is put in the session.
    unit_contact: Callable[[Worlds], object] | None = None


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


def _identity_check(world):
    """B's pending identity check (issue #23)."""
    from learning.models import IdentityCheck

    check, _created = IdentityCheck.objects.get_or_create(
        enrollment=world.enrollment, context="study", method="face", defaults={"code_hash": "x" * 64}
    )
    return check


def _identity_unchanged(w: Worlds) -> None:
    _b_unchanged(w)
    check = _identity_check(w.b)
    check.refresh_from_db()
    assert (check.decision, check.captured_at, check.code_attempts, bool(check.snapshot)) == (
        "pending",
        None,
        0,
        False,
    )


def _refresher_invitation(world):
    from certificates.models import RefresherInvitation

    certificate = Certificate.objects.filter(enrollment=world.enrollment).first() or CertificateFactory(
        enrollment=world.enrollment, holder_name=world.trainee.name
    )
    invitation, _created = RefresherInvitation.objects.get_or_create(
        holder_hash=world.trainee.id_number_hash,
        programme=world.trainee.programme,
        defaults={
            "certificate": certificate,
            "refresher_due_on": certificate.issue_date,
            "run": uuid.uuid4(),
        },
    )
    return invitation


def _no_opt_out(w: Worlds) -> None:
    from certificates.models import RefresherOptOut

    _b_unchanged(w)
    assert not RefresherOptOut.objects.exists()


def _unit_contact(world):
    """The unit account of ``world``'s application (by its credit code) with one contact."""
    from registration.models import Unit, UnitContact

    application = world.application
    unit, _created = Unit.objects.get_or_create(
        credit_code=application.invoice_tax_id, defaults={"name": application.unit_name}
    )
    type(application).objects.filter(pk=application.pk).update(unit=unit)
    contact, _created = UnitContact.objects.get_or_create(unit=unit, mobile=application.contact_phone)
    return contact


def _unit_b_unchanged(w: Worlds) -> None:
    _b_unchanged(w)
    contact = _unit_contact(w.b)
    assert contact.active and contact.unit.contacts.filter(active=True).count() == 1


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
    # After submission (issue #19 point 6): the application's key opens only its own trainees.
    "registration:trainee_edit": [
        Case(
            lambda w: {"access_key": w.a.application.access_key, "trainee_pk": w.b.trainee.pk},
            ("GET", "POST"),
            login=False,
            form=lambda w: {"name": "篡改", "mobile": "13700000000"},
            note="A's application link, B's trainee",
        ),
        Case(
            lambda w: {"access_key": _forged(w.b.application.access_key), "trainee_pk": w.b.trainee.pk},
            ("GET", "POST"),
            login=False,
        ),
    ],
    "registration:trainee_add": [
        Case(
            lambda w: {"access_key": w.a.trainee.access_key},
            ("GET", "POST"),
            login=False,
            note="A's trainee key",
        ),
        Case(lambda w: {"access_key": _forged(w.b.application.access_key)}, ("GET", "POST"), login=False),
    ],
    # --- the unit account (issue #21): a contact of A's unit never sees or changes B's unit --------------
    "registration:unit_claim": [
        Case(
            lambda w: {"access_key": w.a.trainee.access_key},
            ("GET", "POST"),
            login=False,
            note="A's trainee key",
        ),
        Case(lambda w: {"access_key": _forged(w.b.application.access_key)}, ("GET", "POST"), login=False),
    ],
    "registration:unit_home": [
        Case(
            lambda w: {},
            ("GET",),
            login=False,
            unit_contact=lambda w: _unit_contact(w.a),
            expect=frozenset({200}),
            own_listing=True,
            check=_unit_b_unchanged,
            note="A's unit: B's applications must not be listed",
        ),
    ],
    "registration:unit_contacts": [
        Case(
            lambda w: {},
            ("GET", "POST"),
            login=False,
            unit_contact=lambda w: _unit_contact(w.a),
            expect=frozenset({200}),
            own_listing=True,
            check=_unit_b_unchanged,
        ),
    ],
    "registration:unit_contact_remove": [
        Case(
            lambda w: {"contact_pk": _unit_contact(w.b).pk},
            ("POST",),
            login=False,
            unit_contact=lambda w: _unit_contact(w.a),
            check=_unit_b_unchanged,
            note="B's contact from A's unit account",
        ),
    ],
    "registration:unit_switch": [
        Case(
            lambda w: {"contact_pk": _unit_contact(w.b).pk},
            ("POST",),
            login=False,
            unit_contact=lambda w: _unit_contact(w.a),
            check=_unit_b_unchanged,
            note="B's unit from A's unit account",
        ),
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
    # identity checks (issue #23): B's enrollment and B's check, from A's session
    "learning:identity": [
        Case(lambda w: {"pk": w.b.enrollment.pk}, ("GET", "POST"), form=lambda w: {"method": "face"}),
    ],
    "learning:identity_start": [Case(lambda w: {"pk": w.b.enrollment.pk}, ("POST",))],
    "learning:identity_capture": [
        Case(
            lambda w: {"pk": _identity_check(w.b).pk},
            ("POST",),
            json=lambda w: {"first": "data:image/jpeg;base64,AAAA", "second": "data:image/jpeg;base64,AAAA"},
            check=_identity_unchanged,
        ),
    ],
    "learning:identity_status": [
        Case(lambda w: {"pk": _identity_check(w.b).pk}, ("GET",), check=_identity_unchanged)
    ],
    "learning:identity_code": [
        Case(
            lambda w: {"pk": _identity_check(w.b).pk},
            ("POST",),
            json=lambda w: {"code": "123456"},
            check=_identity_unchanged,
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
    # --- refresher (issue #21): the unit's people and re-registration need a unit contact's log-in;
    # a person re-registers only from their own certificate; the opt-out link is signed.
    "registration:unit_people": [
        Case(
            lambda w: {},
            ("GET",),
            expect=frozenset({302}),
            note="a trainee is no unit contact: to the log-in",
        ),
    ],
    "registration:unit_people_reregister": [
        Case(lambda w: {}, ("GET", "POST"), expect=frozenset({302}), note="to the unit log-in"),
    ],
    "registration:individual_reregister": [
        Case(
            lambda w: {"trainee_pk": w.b.trainee.pk},
            ("GET", "POST"),
            note="B's registration from A's session",
        ),
    ],
    "certificates:refresher_opt_out": [
        Case(
            lambda w: {"pk": _refresher_invitation(w.b).pk, "signature": "0" * 20},
            ("GET", "POST"),
            login=False,
            check=lambda w: _no_opt_out(w),
            note="B's invitation with a wrong signature",
        ),
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
        if case.unit_contact is not None:
            from registration.units.access import SESSION_CONTACT

            session = client.session
            session[SESSION_CONTACT] = case.unit_contact(w).pk
            session.save()
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
