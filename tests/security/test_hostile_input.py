"""Hostile input at every public form and JSON endpoint (Hypothesis).

Very long strings, control characters (NUL included), HTML / script and SQL fragments, emoji, CJK
beyond the BMP (𠮷), and for JSON the wrong types (lists, numbers, null, nested objects, NaN,
huge integers, not JSON at all). Each endpoint starts from a valid submission and replaces a few
fields, so the input reaches the services and not only the first form check.

For every request: no 500 (the test client re-raises view exceptions), a clear refusal for what
is invalid (a form error on the page, or a 400 JSON answer with a message), and no hostile markup
echoed or stored and shown unescaped.
"""

import json
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exams.models import AttemptStatus
from registration.models import Application, Trainee
from tests.factories import applicant_data, id_number_make, image_bytes, mobile_make

from .world import exam_attempt_end, study_session_open

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

HOSTILE = [
    "<script>alert(1)</script>",
    '"><script>alert(document.cookie)</script>',
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
    "'; DROP TABLE portal_user; --",
    "1' OR '1'='1",
    "1; SELECT * FROM registration_trainee --",
    "\x00",
    "ab\x00cd",
    "\x01\x02\x1b[31m\x7f",
    "\r\n\r\nSet-Cookie: x=1",
    "\u202eevil\u202c",
    "\ufeff\u200b",
    "😀👍🏽👨‍👩‍👧",
    "𠮷野家𠀀𪚥",
    "{{ 7|add:7 }}{% debug %}",
    "${jndi:ldap://x/a}",
    "../../../../etc/passwd",
    "NaN",
    "-1",
    "99999999999999999999999999",
    "1e999",
    " ",
    "",
]
# Markup that must never come back unescaped.
RAW_MARKUP = re.compile(rb"<script>alert|<img src=x onerror|<svg onload|\"><script", re.I)


def _long(piece: str, times: int) -> str:
    return piece * times


hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=120),
    st.builds(_long, st.sampled_from(["x", "𠮷", "<script>", "\x00", "é"]), st.integers(300, 6_000)),
)
form_value = st.one_of(hostile_text, st.lists(hostile_text, min_size=0, max_size=3))

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


def _overrides(data, names):
    return data.draw(st.dictionaries(st.sampled_from(sorted(names)), form_value, min_size=1, max_size=4))


def _fresh():
    """Every example starts without rate-limit counters or log-in lockouts."""
    from axes.models import AccessAttempt

    cache.clear()
    AccessAttempt.objects.all().delete()


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _no_raw_markup(response) -> None:
    assert response.status_code < 500, response.status_code
    body = _body(response)
    assert not RAW_MARKUP.search(body), RAW_MARKUP.search(body)


def _form_refused_clearly(response, *forms_in_context: str, posted: dict | None = None) -> None:
    """A form page that came back (not a redirect after success) shows what is wrong. (A POST
    without any field is no submission: such views show the blank form again.)"""
    _no_raw_markup(response)
    if response.status_code in (302, 429) or (posted is not None and not any(posted.values())):
        return
    assert response.status_code in (200, 400), response.status_code
    context = response.context
    errors = []
    for name in forms_in_context or ("form",):
        form = context.get(name) if context else None
        if form is None:
            continue
        if hasattr(form, "non_form_errors"):
            errors += list(form.non_form_errors()) + [e for e in form.errors if e]
        else:
            errors += list(form.errors.values())
    messages = [str(m) for m in context.get("messages", [])] if context else []
    report = context.get("import_report") if context else None
    assert errors or messages or report, "form came back without saying what is wrong"


def _json_refused_clearly(response) -> None:
    """A refused JSON request says why: learning's study endpoints in ``message`` (with a ``code``),
    the exam's answer endpoint in ``error``."""
    _no_raw_markup(response)
    if response.status_code == 400:
        data = response.json()
        key = "error" if response.wsgi_request.resolver_match.namespace == "exams" else "message"
        assert data["ok"] is False, data
        assert isinstance(data[key], str) and data[key].strip(), data


def _stored_markup_is_escaped(client) -> None:
    """Anything stored with markup in it is shown escaped on the pages that show it."""
    for application in Application.objects.filter(unit_name__contains="<"):
        page = client.get(reverse("registration:application_detail", args=[application.access_key]))
        _no_raw_markup(page)
    for trainee in Trainee.objects.filter(work_history__contains="<") | Trainee.objects.filter(
        name__contains="<"
    ):
        page = client.get(reverse("registration:attachment2", args=[trainee.access_key]))
        _no_raw_markup(page)


# --- registration -------------------------------------------------------------------------------


def _consents(form) -> dict:
    return {name: "on" for name in form.fields if name.startswith("consent")}


@pytest.fixture
def open_programme(programme):
    return programme


@given(data=st.data())
@HYPOTHESIS
def test_individual_sign_up(data, client, open_programme):
    from registration.forms import IndividualForm

    _fresh()
    form = IndividualForm()
    n = data.draw(st.integers(100, 900))
    valid = {
        "name": "张个人",
        "id_number": id_number_make(n),
        "mobile": mobile_make(n),
        "email": "me@example.org",
        "certificate_type": "safety_manager",
        "training_category": "initial",
        "industry": "I",
        "mail_address": "广州市海珠区示例路 2 号",
        **_consents(form),
    }
    post = {**valid, **_overrides(data, form.fields)}
    response = client.post(reverse("registration:individual_register"), post)
    _form_refused_clearly(response, "form")
    _stored_markup_is_escaped(client)


@given(data=st.data())
@HYPOTHESIS
def test_unit_sign_up(data, client, open_programme):
    from registration.forms import ApplicantForm, roster_form_data

    _fresh()
    form = ApplicantForm()
    n = data.draw(st.integers(100, 900))
    row = {
        "name": "李学员",
        "id_number": id_number_make(n),
        "mobile": mobile_make(n),
        "email": "",
        "certificate_type": "principal",
        "training_category": "initial",
        "previous_certificate_no": "",
    }
    valid = {
        **{k: v for k, v in applicant_data().items() if k != "kind"},
        **roster_form_data([row]),
        **_consents(form),
        "action": "submit",
    }
    names = set(form.fields) | {f"roster-0-{k}" for k in row} | {"roster-TOTAL_FORMS", "action"}
    post = {**valid, **_overrides(data, names)}
    response = client.post(reverse("registration:unit_register"), post)
    _form_refused_clearly(response, "form", "formset")
    _stored_markup_is_escaped(client)


def _hostile_upload(data) -> SimpleUploadedFile:
    name = data.draw(
        st.sampled_from(["photo.jpg", "../../x.png", "<script>.png", "𠮷.jpeg", "a" * 300 + ".png"])
    )
    content = data.draw(
        st.one_of(
            st.binary(max_size=300),
            st.just(b"<html><script>alert(1)</script></html>"),
            st.just(image_bytes(300, 420, fmt="PNG")),
            st.just(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
        )
    )
    return SimpleUploadedFile(name, content, data.draw(st.sampled_from(["image/png", "text/html", ""])))


@given(data=st.data())
@HYPOTHESIS
def test_attachment2_form(data, client, world_a):
    from registration.forms import Attachment2Form

    _fresh()
    trainee = world_a.trainee
    Trainee.objects.filter(pk=trainee.pk).update(status="submitted")
    form = Attachment2Form(trainee=trainee)
    valid = {
        "education": "bachelor",
        "safety_years": "6",
        "work_unit": "广州示例贸易有限公司",
        "work_unit_address": "广州市天河区示例大道 100 号",
        "mailing_address": "广州市天河区示例大道 100 号",
        "work_history": "2015-2025 广州示例贸易有限公司 安全主任",
        "declaration_name": trainee.name,
        **_consents(form),
    }
    post = {**valid, **_overrides(data, set(form.fields) - {"photo", "id_front", "id_back"})}
    for kind in data.draw(
        st.lists(st.sampled_from(["photo", "id_front", "id_back"]), unique=True, max_size=3)
    ):
        post[kind] = _hostile_upload(data)
    response = client.post(reverse("registration:attachment2", args=[trainee.access_key]), post)
    _form_refused_clearly(response, "form")
    _stored_markup_is_escaped(client)


# --- payments -----------------------------------------------------------------------------------


@given(data=st.data())
@HYPOTHESIS
def test_payment_report(data, client, world_a):
    from payments.forms import PaymentReportForm

    _fresh()
    world_a.trainee.__class__.objects.filter(pk=world_a.trainee.pk).update(paid_at=None)
    valid = {
        "channel": "bank_transfer",
        "trainees": [world_a.trainee.pk],
        "payer_name": "示例制造有限公司",
        "amount": "800.00",
        "payer_mobile": "13800138000",
        "transaction_no": f"BANK-{data.draw(st.integers(0, 10**6))}",
        "paid_at": "2026-11-20T10:30",
        "invoice_buyer_name": "示例制造有限公司",
        "invoice_tax_id": "91350100M000100Y43",
        "invoice_email": "invoice@example.com",
    }
    post = {**valid, **_overrides(data, PaymentReportForm.base_fields)}
    if data.draw(st.booleans()):
        post["screenshot"] = _hostile_upload(data)
    response = client.post(reverse("payments:application_pay", args=[world_a.application.access_key]), post)
    _form_refused_clearly(response, "form")
    page = client.get(reverse("payments:application_pay", args=[world_a.application.access_key]))
    _no_raw_markup(page)


# --- log-in, activation and code forms -----------------------------------------------------------


@given(data=st.data())
@HYPOTHESIS
def test_login_form(data, client, world_a):
    _fresh()
    post = {"username": world_a.user.mobile, "password": "correct-horse-battery"}
    post.update(_overrides(data, {"username", "password"}))
    response = client.post(reverse("portal:login"), post)
    _form_refused_clearly(response, "form")


@given(data=st.data())
@HYPOTHESIS
def test_code_request_and_confirm_forms(data, client, world_a):
    _fresh()
    post = _overrides(data, {"mobile"})
    _form_refused_clearly(client.post(reverse("learning:code_request"), post), "form", posted=post)
    valid = {
        "mobile": world_a.user.mobile,
        "code": "123456",
        "new_password1": "Study-pass-2026",
        "new_password2": "Study-pass-2026",
    }
    post = {**valid, **_overrides(data, set(valid))}
    _form_refused_clearly(client.post(reverse("learning:code_confirm"), post), "form")


@given(data=st.data())
@HYPOTHESIS
def test_activation_form(data, client, world_a):
    from learning.services.accounts import access_code_issue

    _fresh()
    issued = access_code_issue(user=world_a.user, purpose="activate", code_valid=timedelta(minutes=10))
    valid = {"new_password1": "Study-pass-2026", "new_password2": "Study-pass-2026"}
    post = {**valid, **_overrides(data, set(valid))}
    response = client.post(reverse("learning:activate", args=[issued.link_token]), post)
    _form_refused_clearly(response, "form", posted=post)
    token = data.draw(hostile_text.filter(lambda t: t and "/" not in t and "\x00" not in t))
    try:
        url = reverse("learning:activate", args=[token])
    except Exception:  # noqa: BLE001 - a token the URL pattern cannot hold is no request at all
        return
    _no_raw_markup(client.get(url))


# --- learning JSON ---------------------------------------------------------------------------------


@pytest.fixture
def studying(world_a, client):
    client.force_login(world_a.user)
    study_session_open(world_a, client)
    return world_a


def _post_json(client, url, payload, raw: bool):
    body = payload if raw else json.dumps(payload, allow_nan=True)
    return client.post(url, body, content_type="application/json")


def _json_payload(data, keys: dict):
    """Valid fields with a few hostile ones, a hostile value of any type, or no JSON at all."""
    kind = data.draw(st.sampled_from(["fields", "value", "raw"]))
    if kind == "raw":
        return data.draw(st.binary(max_size=200)), True
    if kind == "value":
        return data.draw(json_value), False
    replaced = data.draw(
        st.dictionaries(st.sampled_from(sorted(keys)), json_value, min_size=1, max_size=len(keys))
    )
    return {**keys, **replaced}, False


@given(data=st.data())
@HYPOTHESIS
def test_heartbeat_presence_and_lesson_start_json(data, client, studying):
    _fresh()
    world = studying
    world.state.refresh_from_db()
    token = str(world.state.token)
    beat = {"token": token, "seq": world.state.last_seq + 1, "state": "active", "played": [[0, 15]]}
    payload, raw = _json_payload(data, beat)
    _json_refused_clearly(_post_json(client, reverse("learning:heartbeat"), payload, raw))

    payload, raw = _json_payload(data, {"token": token, "check": 1})
    _json_refused_clearly(_post_json(client, reverse("learning:presence"), payload, raw))

    payload, raw = _json_payload(data, {"lesson": world.lesson.pk})
    url = reverse("learning:lesson_start", args=[world.enrollment.pk, world.lesson.pk])
    response = _post_json(client, url, payload, raw)
    _json_refused_clearly(response)
    assert response.status_code == 200  # the body is not read: starting needs nothing from it


# --- exams -------------------------------------------------------------------------------------------


@given(data=st.data())
@HYPOTHESIS
def test_exam_autosave_and_submit(data, client, world_a):
    _fresh()
    client.force_login(world_a.user)
    attempt = world_a.attempt
    payload, raw = _json_payload(data, {"position": 1, "choices": [0]})
    _json_refused_clearly(_post_json(client, reverse("exams:answer", args=[attempt.pk]), payload, raw))

    keys = {f"q{n}" for n in range(1, 4)} | {"q0", "q-1", "q99999999999999999999", "q²", "qx"}
    post = _overrides(data, keys)
    response = client.post(reverse("exams:submit", args=[attempt.pk]), post)
    _no_raw_markup(response)
    assert response.status_code in (302, 400), response.status_code
    attempt.refresh_from_db()
    if response.status_code == 400:
        assert response.context["unanswered"], "refused without naming the unanswered questions"
        assert attempt.status == AttemptStatus.IN_PROGRESS


@given(data=st.data())
@HYPOTHESIS
def test_practice_answers(data, client, world_a):
    _fresh()
    exam_attempt_end(world_a)  # practice is closed while an exam runs
    client.force_login(world_a.user)
    url = reverse("exams:practice", args=[world_a.enrollment.pk])
    question = world_a.attempt.items.first().question_id
    post = {"question": str(question), "choice": ["0"], "mode": "random"}
    post.update(_overrides(data, {"question", "choice", "mode"}))
    response = client.post(url, post)
    _no_raw_markup(response)
    assert response.status_code in (200, 404), response.status_code
    if (
        response.status_code == 200
        and response.context.get("error") == ""
        and not response.context.get("result")
    ):
        pytest.fail("practice answer neither graded nor refused with a message")
    query = data.draw(st.dictionaries(st.sampled_from(["mode", "after"]), hostile_text, max_size=2))
    _no_raw_markup(client.get(url, query))


# --- the inputs that once answered 500, kept as fixed cases -------------------------------------

INF, NAN = float("inf"), float("nan")
JSON_CASES = [
    ("heartbeat", {"seq": INF}),
    ("heartbeat", {"seq": NAN}),
    ("heartbeat", {"seq": 10**30}),
    ("heartbeat", {"played": [[0, INF]]}),
    ("heartbeat", {"played": [[NAN, 5]], "seq": 2}),
    ("presence", {"check": INF}),
    ("presence", {"check": 10**30}),
    ("answer", {"position": INF}),
    ("answer", {"position": 10**30}),
    ("answer", {"position": "²"}),
    ("answer", {"choices": [INF]}),
    ("answer", {"choices": [10**30]}),
    ("answer", {"choices": [-1]}),
]


def test_numbers_json_cannot_hold_are_refused(client, studying):
    world = studying
    token = str(world.state.token)
    bases = {
        "heartbeat": (reverse("learning:heartbeat"), {"token": token, "seq": 1, "state": "active"}),
        "presence": (reverse("learning:presence"), {"token": token, "check": 1}),
        "answer": (reverse("exams:answer", args=[world.attempt.pk]), {"position": 1, "choices": [0]}),
    }
    for endpoint, fields in JSON_CASES:
        url, base = bases[endpoint]
        response = _post_json(client, url, {**base, **fields}, raw=False)
        assert response.status_code == 400, (endpoint, fields, response.content)
        _json_refused_clearly(response)


def test_exam_submit_and_practice_with_odd_numbers_are_refused(client, world_a):
    client.force_login(world_a.user)
    submit = reverse("exams:submit", args=[world_a.attempt.pk])
    for post in ({"q²": "0"}, {"q99999999999999999999": "0"}, {"q1": ["²"]}, {"q1": "99999999999999999999"}):
        assert client.post(submit, post).status_code in (302, 400), post
        world_a.attempt.refresh_from_db()
        assert world_a.attempt.status == AttemptStatus.IN_PROGRESS, post
    exam_attempt_end(world_a)  # practice is closed while an exam runs
    practice = reverse("exams:practice", args=[world_a.enrollment.pk])
    for value in ("²", "abc", "1e3", "99999999999999999999999", "-1", ""):
        assert client.post(practice, {"question": value, "choice": ["0"]}).status_code == 404, value
        assert client.get(practice, {"after": value}).status_code == 200, value


# --- certificates: the public verification page ----------------------------------------------------


@given(data=st.data())
@HYPOTHESIS
def test_certificate_verification(data, client):
    from tests.factories import CertificateFactory

    _fresh()
    certificate = CertificateFactory(holder_name="王𠮷")
    post = {"number": certificate.number, "name": "王𠮷"}
    post.update(_overrides(data, {"number", "name"}))
    response = client.post(reverse("certificates:verify"), post)
    _no_raw_markup(response)
    assert response.status_code in (200, 400, 429), response.status_code
    if response.status_code == 400:
        assert response.context["form"].errors
    elif response.status_code == 200:
        assert b"data-result=" in response.content  # valid, revoked or "no match": said clearly
    key = data.draw(hostile_text)
    number = data.draw(hostile_text).replace("/", "") or "x"
    page = client.get(reverse("certificates:verify_number", args=[number]), {"k": key})
    _no_raw_markup(page)
