"""Secret fields never answer an admin query string (issue #22, findings 2 and 3).

Django admin filters a list by any lookup given in the query string; on a secret field that is a
yes / no oracle (``?id=1&access_key__gte=<prefix>`` recovered a private-link key in 192 requests).
The walk below tries, on every registered admin, every secret field reachable from its model (two
relations deep) with several lookups, as a superuser and as finance: each probe must be refused (or
answer exactly as a non-matching one does). Secret fields are declared in
``portal.admin_guard.SECRET_FIELDS``; a field named like a secret and not declared fails here.

Finance (no permission to see full ID numbers) sees the masked number; it must not get the birth
date nor a search that confirms a candidate number rebuilt from them.
"""

import datetime
import io
import re

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import ORDER_VAR
from django.core.exceptions import ValidationError
from django.db import models
from django.test import RequestFactory
from django.test.utils import isolate_apps
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader
from stdnum.cn import ric

from certificates.models import Certificate
from learning.models import StudyState
from portal.admin_guard import (
    SECRET_FIELDS,
    SecretFieldsAdminMixin,
    admin_secret_errors,
    field_is_secret,
    path_touches_secret,
    undeclared_secret_fields,
)
from portal.admin_site import PortalAdminSite
from portal.crypto import EncryptedCharField
from registration.models import Trainee
from registration.validators import id_number_validate
from tests.factories import CertificateFactory, CompleteTraineeFactory, StaffFactory, TraineeFactory

from .world import study_session_open

pytestmark = pytest.mark.django_db

LOOKUPS = ("", "exact", "gte", "startswith", "contains", "regex")
TRAINEES = "admin:registration_trainee_changelist"


def _changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def secret_paths(model, depth: int = 2) -> list[str]:
    """Every lookup path from ``model`` to a secret field, through at most ``depth`` relations
    (forward and reverse), each model once per path."""
    found = []

    def walk(current, prefix, seen, hops):
        for field in current._meta.get_fields():
            if field.is_relation:
                target = field.related_model
                if target is None or hops == 0 or target in seen or not field.name:
                    continue
                walk(target, [*prefix, field.name], seen | {target}, hops - 1)
            elif field_is_secret(field):
                found.append("__".join([*prefix, field.name]))

    walk(model, [], {model._meta.concrete_model}, depth)
    return found


def _probe_values(value: str, lookup: str) -> tuple[str, str]:
    """A value that matches ``value`` for ``lookup`` and one that does not."""
    return {
        "": (value, value + "~"),
        "exact": (value, value + "~"),
        "gte": (value[:1], "~"),
        "startswith": (value[:3], "~~~"),
        "contains": (value[1:4], "~~~"),
        "regex": ("^" + re.escape(value[:3]), "^~~~"),
    }[lookup]


def _real_value(model, path: str) -> str:
    """A value the secret has in the world (so that a matching probe would match)."""
    values = model._default_manager.filter(**{f"{path}__isnull": False}).values_list(path, flat=True)
    value = next((v for v in values[:20] if v not in ("", None)), None)
    return "abc" if value is None else str(value)


def _refused(response) -> bool:
    """As Django answers a lookup it refuses (400), a wrong one (redirect with ?e=1), or no access."""
    return response.status_code in (400, 403) or (
        response.status_code == 302 and "e=1" in response.get("Location", "")
    )


def _shown(response):
    """What a list page shows: its rows, or (pages without a change list) the page itself."""
    context = response.context
    if context is not None and "cl" in context:
        return [obj.pk for obj in context["cl"].result_list]
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", response.content)


@pytest.fixture
def world(world_a, client):
    """Every secret has a value: keys, ID number and its hash, birth date, a live study session
    (token and session hashes), a certificate's verification key, an axes log-in record."""
    from axes.models import AccessLog

    CertificateFactory(enrollment=world_a.enrollment)
    client.force_login(world_a.user)
    study_session_open(world_a, client)  # the walk logs the client in as staff (no log-out)
    AccessLog.objects.create(
        user_agent="probe",
        ip_address="10.0.0.1",
        username="13700000001",
        http_accept="*/*",
        path_info="/login/",
        session_hash="5" * 64,
    )
    assert StudyState.objects.exclude(session_key_hash="").exists()
    assert Certificate.objects.exclude(verify_key="").exists()
    return world_a


def _walk(client, user, can_view) -> tuple[int, list[str]]:
    client.force_login(user)
    probes, leaks = 0, []
    for model, model_admin in admin.site._registry.items():
        if not can_view(model_admin):
            continue
        url = _changelist(model)
        for path in secret_paths(model):
            value = _real_value(model, path)
            for lookup in LOOKUPS:
                key = f"{path}__{lookup}" if lookup else path
                match, other = _probe_values(value, lookup)
                probes += 1
                first = client.get(url, {key: match})
                if _refused(first):
                    continue
                second = client.get(url, {key: other})
                if first.status_code != second.status_code or _shown(first) != _shown(second):
                    leaks.append(f"{model._meta.label} ?{key}=")
    return probes, leaks


def test_no_admin_filters_by_a_secret_field_as_superuser(world, client, admin_user):
    probes, leaks = _walk(client, admin_user, lambda model_admin: True)
    assert leaks == []
    # Every admin, every secret two relations deep: 6 lookups for each of 164 paths.
    assert probes == 6 * sum(len(secret_paths(model)) for model in admin.site._registry)
    assert probes > 900


def test_no_admin_filters_by_a_secret_field_as_finance(world, client):
    finance = StaffFactory(role="finance")
    request = RequestFactory().get("/admin/")
    request.user = finance
    probes, leaks = _walk(client, finance, lambda model_admin: model_admin.has_view_permission(request))
    assert leaks == []
    assert probes > 300


def test_every_admin_carries_the_guard_and_filters_sorts_searches_no_secret():
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, SecretFieldsAdminMixin), model._meta.label
        assert admin_secret_errors(model_admin) == [], model._meta.label
        assert [e.id for e in model_admin.check() if e.id.startswith("portal.")] == [], model._meta.label


def test_every_field_named_like_a_secret_is_declared():
    assert undeclared_secret_fields() == []
    for label, names in SECRET_FIELDS.items():
        from django.apps import apps

        model = apps.get_model(label)
        assert all(field_is_secret(model._meta.get_field(name)) for name in names), label


@isolate_apps("portal")
def test_a_new_secret_field_not_declared_is_caught_and_guarded_meanwhile():
    class Voucher(models.Model):
        title = models.CharField(max_length=20)
        reset_token = models.CharField(max_length=40)
        api_key = models.CharField(max_length=40)
        owner_id_number = EncryptedCharField(max_length=18)

        class Meta:
            app_label = "portal"

        def __str__(self) -> str:
            return self.title

    assert undeclared_secret_fields([Voucher]) == [
        "portal.voucher.api_key",
        "portal.voucher.owner_id_number",
        "portal.voucher.reset_token",
    ]
    for lookup in ("reset_token__gte", "api_key", "owner_id_number__startswith", "-reset_token"):
        assert path_touches_secret(Voucher, lookup), lookup
    assert not path_touches_secret(Voucher, "title__startswith")


# --- the attack of the issue ------------------------------------------------------------------


def _bisect(oracle, length: int) -> tuple[str | None, int]:
    """Recover a key by ``key >= prefix`` questions, one character at a time (the issue's attack)."""
    alphabet = sorted("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    known, asked = "", 0
    for _position in range(length):
        low, high = 0, len(alphabet) - 1  # the answer is the largest c with key >= known + c
        while low < high:
            middle = (low + high + 1) // 2
            answer = oracle(known + alphabet[middle])
            asked += 1
            if answer is None:
                return None, asked
            low, high = (middle, high) if answer else (low, middle - 1)
        known += alphabet[low]
    return known, asked


def test_bisecting_a_trainee_key_as_finance_is_refused(client):
    trainee = CompleteTraineeFactory()
    finance = StaffFactory(role="finance")
    client.force_login(finance)

    # What the admin list used to answer: the same question put to the database recovers the key.
    def database(prefix):
        return Trainee.objects.filter(id=trainee.pk, access_key__gte=prefix).exists()

    assert _bisect(database, len(trainee.access_key)) == (trainee.access_key, 192)

    statuses = []

    def admin_list(prefix):
        response = client.get(reverse(TRAINEES), {"id": trainee.pk, "access_key__gte": prefix})
        statuses.append(response.status_code)
        if response.status_code != 200:
            return None
        return [t.pk for t in response.context["cl"].result_list] == [trainee.pk]

    assert _bisect(admin_list, len(trainee.access_key)) == (None, 1)
    assert statuses == [400]
    # Plain Django admin allows it: the guard is what refuses.
    request = RequestFactory().get("/")
    request.user = finance
    model_admin = admin.site._registry[Trainee]
    assert admin.ModelAdmin.lookup_allowed(model_admin, "access_key__gte", "a", request) is True
    assert model_admin.lookup_allowed("access_key__gte", "a", request) is False
    # And without the key the documents stay closed.
    client.logout()
    wrong = trainee.access_key[:-1] + ("A" if trainee.access_key[-1] != "A" else "B")
    assert client.get(reverse("registration:trainee_document", args=[wrong, "id_front"])).status_code == 404


@pytest.mark.parametrize(
    ("url_name", "lookup", "whose"),
    [
        ("admin:registration_application_changelist", "access_key__startswith", "application"),
        ("admin:registration_application_changelist", "trainees__access_key__startswith", "trainee"),
        (TRAINEES, "application__access_key__startswith", "application"),
        ("admin:payments_payment_changelist", "application__access_key__startswith", "application"),
        ("admin:learning_enrollment_changelist", "trainee__access_key__startswith", "trainee"),
    ],
)
def test_private_link_keys_are_not_filterable_through_any_list(client, url_name, lookup, whose):
    trainee = TraineeFactory()
    key = trainee.application.access_key if whose == "application" else trainee.access_key
    client.force_login(StaffFactory(role="finance"))
    assert client.get(reverse(url_name), {lookup: key[:4]}).status_code == 400


def test_preserved_changelist_filters_and_to_field_do_not_reach_a_secret(client):
    trainee = TraineeFactory()
    client.force_login(StaffFactory(role="reviewer"))
    change = reverse("admin:registration_trainee_change", args=[trainee.pk])
    preserved = f"access_key__startswith={trainee.access_key[:3]}"
    page = client.get(change, {"_changelist_filters": preserved})
    assert page.status_code == 200
    back = add_preserved_filters(
        {"preserved_filters": page.context["preserved_filters"], "opts": Trainee._meta}, reverse(TRAINEES)
    )
    assert preserved.split("=")[0] in back
    assert client.get(back).status_code == 400
    # The parameter itself on the list filters nothing (Django: an unknown lookup, ?e=1).
    response = client.get(reverse(TRAINEES), {"_changelist_filters": preserved})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")
    assert client.get(reverse(TRAINEES), {"_to_field": "access_key"}).status_code == 400


def test_no_list_sorts_by_a_secret_column(world, admin_client):
    """``?o=`` with every column of every list at once: nothing sorts by a secret."""
    for model, model_admin in admin.site._registry.items():
        columns = len(model_admin.list_display) + 1  # + the action checkbox
        response = admin_client.get(_changelist(model), {ORDER_VAR: ".".join(str(i) for i in range(columns))})
        assert response.status_code == 200, model._meta.label
        if response.context is None or "cl" not in response.context:
            continue
        ordering = response.context["cl"].queryset.query.order_by
        assert not [o for o in ordering if path_touches_secret(model, o)], (model._meta.label, ordering)


def test_an_admin_written_to_leak_is_reported_and_defused(admin_user):
    trainee = TraineeFactory()

    class LeakyTraineeAdmin(admin.ModelAdmin):
        list_display = ("name", "key_column")
        list_filter = ("status", "access_key")
        search_fields = ("name", "=application__access_key")
        ordering = ("-id_number_hash",)
        date_hierarchy = "birth_date"

        @admin.display(ordering="access_key")
        def key_column(self, obj):
            return "…"

    site = PortalAdminSite()
    site.register(Trainee, LeakyTraineeAdmin)
    model_admin = site._registry[Trainee]
    assert (
        isinstance(model_admin, SecretFieldsAdminMixin) and type(model_admin).__name__ == "LeakyTraineeAdmin"
    )
    assert [error.msg for error in model_admin.check() if error.id == "portal.E101"] == [
        "LeakyTraineeAdmin.list_filter uses the secret field 'access_key'.",
        "LeakyTraineeAdmin.search_fields uses the secret field '=application__access_key'.",
        "LeakyTraineeAdmin.ordering uses the secret field '-id_number_hash'.",
        "LeakyTraineeAdmin.date_hierarchy uses the secret field 'birth_date'.",
        "LeakyTraineeAdmin.list_display uses the secret field 'key_column'.",
    ]
    # At run time the secrets are left out all the same.
    request = RequestFactory().get("/", {ORDER_VAR: "2", "q": trainee.application.access_key})
    request.user = admin_user
    assert model_admin.get_search_fields(request) == ["name"]
    assert model_admin.get_list_filter(request) == ["status"]
    assert model_admin.get_ordering(request) == []
    changelist = model_admin.get_changelist_instance(request)
    assert changelist.get_ordering_field("key_column") is None
    assert not [o for o in changelist.queryset.query.order_by if "access_key" in str(o)]
    assert list(changelist.result_list) == []  # the key, searched for, finds nothing
    assert model_admin.lookup_allowed("application__trainees__access_key", "x", request) is False


# --- finding 3: finance cannot rebuild a full ID number ---------------------------------------


def _same_mask_candidates(number: str) -> list[str]:
    """Valid ID numbers that share the masked form and the birth date of ``number`` (what finance
    could compute from the masked number and the birth date): the two hidden region digits vary,
    the check digit and the known regions leave a few."""
    found = []
    for region in range(100):
        first17 = f"{number[:4]}{region:02d}{number[6:17]}"
        candidate = first17 + ric.calc_check_digit(first17 + "0")
        try:
            id_number_validate(candidate)
        except ValidationError:
            continue
        if candidate[-4:] == number[-4:]:
            found.append(candidate)
    return found


@pytest.fixture
def person():
    birth = datetime.date(1985, 6, 7)
    first17 = f"440106{birth:%Y%m%d}123"
    number = first17 + ric.calc_check_digit(first17 + "0")
    trainee = CompleteTraineeFactory(name="欧阳候选", id_number=number, birth_date=birth)
    CompleteTraineeFactory.create_batch(2)
    return trainee


def test_finance_search_by_id_number_confirms_no_candidate(client, person):
    candidates = _same_mask_candidates(person.id_number)
    assert person.id_number in candidates and len(candidates) > 2
    client.force_login(StaffFactory(role="finance"))
    answers = set()
    for candidate in candidates:
        response = client.get(reverse(TRAINEES), {"q": candidate})
        assert response.status_code == 200
        answers.add(tuple(sorted(t.pk for t in response.context["cl"].result_list)))
        assert (
            response.content.decode().count(
                "按身份证号码搜索需要“可查看完整身份证号码”权限：本次搜索未按身份证号码查找。"
            )
            == 1
        )
    assert answers == {tuple(Trainee.objects.order_by("pk").values_list("pk", flat=True))}
    # With the name as well, the right number and a wrong one answer alike.
    wrong = next(c for c in candidates if c != person.id_number)
    shown = [
        [t.pk for t in client.get(reverse(TRAINEES), {"q": f"欧阳 {c}"}).context["cl"].result_list]
        for c in (person.id_number, wrong)
    ]
    assert shown == [[person.pk], [person.pk]]


def test_reviewer_still_finds_the_exact_id_number(client, person):
    client.force_login(StaffFactory(role="reviewer"))
    wrong = next(c for c in _same_mask_candidates(person.id_number) if c != person.id_number)
    found = [
        [t.pk for t in client.get(reverse(TRAINEES), {"q": c}).context["cl"].result_list]
        for c in (person.id_number, wrong)
    ]
    assert found == [[person.pk], []]


def test_finance_sees_no_birth_date(client, person):
    client.force_login(StaffFactory(role="finance"))
    born = "1985-06-07"
    pages = [
        client.get(reverse(TRAINEES), {"_all": "1"}),
        client.get(reverse("admin:registration_trainee_change", args=[person.pk])),
        client.get(reverse("admin:registration_application_change", args=[person.application_id])),
    ]
    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        assert born not in body and "19850607" not in body
    assert person.id_number_masked in pages[1].content.decode()

    pdf = client.get(reverse("registration:staff_attachment2_print", args=[person.pk]))
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert born not in text and "****-**-**" in text and person.id_number_masked in text

    export = client.get(reverse("admin:registration_trainee_export"))
    cells = [
        str(c)
        for row in load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True)
        for c in row
    ]
    assert not [c for c in cells if born in c or "19850607" in c]

    assert client.get(reverse(TRAINEES), {"birth_date": born}).status_code == 400
    assert client.get(reverse(TRAINEES), {"birth_date__year": "1985"}).status_code == 400


def test_reviewer_sees_the_birth_date_with_the_full_number(client, person):
    client.force_login(StaffFactory(role="reviewer"))
    page = client.get(reverse("admin:registration_trainee_change", args=[person.pk])).content.decode()
    assert "1985-06-07" in page and person.id_number in page
    pdf = client.get(reverse("registration:staff_attachment2_print", args=[person.pk]))
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "1985-06-07" in text and person.id_number in text
