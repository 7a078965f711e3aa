"""Role separation in admin: each page is reachable only by the roles that need it.

The expectations are written out by hand from the roles of the README (not computed from the
permissions the migrations grant), so a permission granted by mistake fails here. Every model
registered in admin must appear in ``VIEW`` so a new admin page needs a decision.
"""

import datetime
import uuid

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from certificates.models import (
    CertificateSettings,
    DossierRun,
    IssuerBatch,
    PrintRun,
    RefresherInvitation,
    RefresherOptOut,
)
from learning.models import Enrollment, ProgrammeStudyRule, RecordSource, RecordStatus, StudyRecord
from payments.models import PaymentSettings, Statement
from portal.models import Association, AuditEntry, CalendarYear, Holiday, OutboundMessage, User
from registration.models import ReturnReason, Trainee, TraineeStatus
from tests.factories import (
    AnnouncementFactory,
    CertificateFactory,
    ContactFactory,
    FaqEntryFactory,
    OfflineSessionFactory,
    StaffFactory,
    UnitFactory,
    UserFactory,
)

from .world import trainee_world

pytestmark = pytest.mark.django_db

R, F, C = "reviewer", "finance", "course_admin"
ALL = frozenset({R, F, C})
ROLES = (R, F, C, "trainee")
NOT_COVERED_APPS: set[str] = set()

# Model admin -> roles that may open its list and its pages (read-only or not).
VIEW = {
    "portal.user": set(),
    "auth.group": set(),
    "portal.association": ALL,
    "portal.auditentry": ALL,
    # Messages to trainees and payers (masked recipients; codes and links never shown): review and finance.
    "portal.outboundmessage": {R, F},
    # The working-day calendar's holidays (invoice deadlines count in it): finance.
    "portal.holiday": {F},
    # The years with official calendar data (set by the import): finance sees them.
    "portal.calendaryear": {F},
    # What the public pages show (announcements, FAQ, contacts by role): reviewers and course admins.
    "portal.announcement": {R, C},
    "portal.faqentry": {R, C},
    "portal.contact": {R, C},
    "registration.programme": ALL,
    "registration.application": {R, F},
    "registration.trainee": {R, F},
    # The preset return / reject reasons: reviewers keep them.
    "registration.returnreason": {R},
    # Unit accounts: reviewers look after contacts and merge duplicate units.
    "registration.unit": {R},
    "payments.paymentsettings": {F},
    "payments.payment": {F},
    "payments.invoice": {F},
    "payments.statement": {F},
    "learning.enrollment": ALL,
    "learning.pipelinedashboard": ALL,
    "learning.course": {C},
    "learning.lesson": {C},
    "learning.courseplan": {C},
    "learning.programmestudyrule": {C},
    "learning.studyrecord": {R, C},
    # Offline sessions (issue #23): the course administrators keep them, reviewers see them.
    "learning.offlinesession": {R, C},
    # Identity checks (issue #23): reviewers see them and decide the review queue (read-only pages).
    "learning.identitycheck": {R},
    "exams.question": {C},
    "exams.examtemplate": {C},
    "exams.attempt": {C},
    "exams.examstatistics": {C},
    "certificates.certificate": {R},
    "certificates.certificatesettings": {R},
    "certificates.printrun": {R},
    # Refresher invitations and opt-outs: reviewers see them (read-only for everybody).
    "certificates.refresherinvitation": {R},
    "certificates.refresheroptout": {R},
    # Issuer batches: the reviewers who send the lists see them (read-only for everybody).
    "certificates.issuerbatch": {R},
    # 一人一档 bulk runs (issue #23): reviewers (and the inspector, tests/security/test_inspector.py).
    "certificates.dossierrun": {R},
    "axes.accessattempt": set(),
    "axes.accesslog": set(),
    "axes.accessfailurelog": set(),
}
# Roles that may save an object's change form (the others get 403 on POST).
CHANGE = {
    # Reviewers hold "change" on applications and trainees: it is their review permission; every
    # field of those pages is read-only (checked in test_review_pages_change_nothing_by_form).
    "registration.application": {R},
    "registration.trainee": {R},
    "registration.returnreason": {R},
    "registration.unit": {R},
    "registration.programme": {C},
    "portal.holiday": {F},
    "portal.announcement": {R, C},
    "portal.faqentry": {R, C},
    "portal.contact": {R, C},
    "payments.paymentsettings": {F},
    "payments.invoice": {F},
    "learning.course": {C},
    "learning.lesson": {C},
    "learning.courseplan": {C},
    "learning.programmestudyrule": {C},
    "learning.offlinesession": {C},
    "exams.question": {C},
    "exams.examtemplate": {C},
    # Reviewers correct a certificate's mailing address (everything else is read-only) and upload
    # the issuer's seal.
    "certificates.certificate": {R},
    "certificates.certificatesettings": {R},
}
# Roles that may add.
ADD = {
    "portal.holiday": {F},
    "portal.announcement": {R, C},
    "portal.faqentry": {R, C},
    "portal.contact": {R, C},
    "registration.returnreason": {R},
    "registration.programme": {C},
    "learning.course": {C},
    "learning.lesson": {C},
    "learning.courseplan": {C},
    "learning.programmestudyrule": {C},
    "learning.offlinesession": {C},
    "exams.question": {C},
    "exams.examtemplate": {C},
    "certificates.dossierrun": {R},
}
# Models without objects of their own (dashboards).
NO_OBJECTS = {"learning.pipelinedashboard", "exams.examstatistics"}
NO_OBJECTS_BUILT = {"axes.accessattempt", "axes.accesslog", "axes.accessfailurelog"}


def _user(role: str) -> User:
    if role == "trainee":
        return UserFactory()
    return StaffFactory(role=role)


@pytest.fixture
def objects(programme):
    world = trainee_world(programme, certificate_type="principal", label="甲")
    holiday = Holiday.objects.create(date=datetime.date(2027, 1, 1), name="元旦")
    settings_row = PaymentSettings.objects.create(payee_name="协会", bank_name="银行", account_number="1")
    statement = Statement.objects.create(
        file=ContentFile(b"date,amount\n", name="s.csv"), filename="s.csv", sha256="0" * 64
    )
    record = StudyRecord.objects.create(
        enrollment=world.enrollment,
        lesson=world.lesson,
        source=RecordSource.STAFF,
        status=RecordStatus.CONFIRMED,
        credited_ms=60_000,
        day=timezone.localdate(),
    )
    rule = ProgrammeStudyRule.objects.create(programme=programme, daily_cap_hours=8)
    from learning.models import CoursePlan, IdentityCheck

    by_label = {
        "portal.user": world.user,
        "auth.group": Group.objects.get(name=R),
        "portal.association": Association.objects.create(name="协会", certificate_issuer="应急管理局"),
        "portal.auditentry": AuditEntry.objects.create(action="test.entry"),
        "portal.holiday": holiday,
        "portal.calendaryear": CalendarYear.objects.create(year=2027, official=True),
        "portal.announcement": AnnouncementFactory(),
        "portal.faqentry": FaqEntryFactory(),
        "portal.contact": ContactFactory(),
        "portal.outboundmessage": OutboundMessage.objects.create(
            event="test:1:sms", notice="test:1", channel="sms", recipient="13800138000", status="failed"
        ),
        "registration.programme": programme,
        "registration.application": world.application,
        "registration.trainee": world.trainee,
        "registration.returnreason": ReturnReason.objects.order_by("pk").first(),
        "registration.unit": UnitFactory(),
        "payments.paymentsettings": settings_row,
        "payments.payment": world.payment,
        "payments.invoice": world.invoice,
        "payments.statement": statement,
        "learning.enrollment": world.enrollment,
        "learning.course": world.course,
        "learning.lesson": world.lesson,
        "learning.courseplan": CoursePlan.objects.first(),
        "learning.programmestudyrule": rule,
        "learning.studyrecord": record,
        "exams.question": world.attempt.items.first().question,
        "exams.examtemplate": world.attempt.template,
        "exams.attempt": world.attempt,
        "certificates.certificate": CertificateFactory(enrollment=world.enrollment),
        "certificates.certificatesettings": CertificateSettings.objects.create(),
        "learning.offlinesession": OfflineSessionFactory(programme=programme),
        "learning.identitycheck": IdentityCheck.objects.create(
            enrollment=world.enrollment, context="study", method="face"
        ),
        "certificates.dossierrun": DossierRun.objects.create(
            programme=programme, requested_by=StaffFactory(), trainee_ids=[world.trainee.pk], total=1
        ),
        "certificates.printrun": PrintRun.objects.create(requested_by=StaffFactory(), certificate_ids=[]),
        "certificates.issuerbatch": IssuerBatch.objects.create(
            created_by=StaffFactory(), sent_on=timezone.localdate()
        ),
    }
    invitation = RefresherInvitation.objects.create(
        holder_hash=world.trainee.id_number_hash,
        certificate=by_label["certificates.certificate"],
        programme=programme,
        refresher_due_on=timezone.localdate(),
        run=uuid.uuid4(),
    )
    by_label["certificates.refresherinvitation"] = invitation
    by_label["certificates.refresheroptout"] = RefresherOptOut.objects.create(
        holder_hash=world.trainee.id_number_hash, invitation=invitation
    )
    return world, by_label


def _registered() -> dict[str, type]:
    return {
        model._meta.label_lower: model
        for model in admin.site._registry
        if model._meta.app_label not in NOT_COVERED_APPS
    }


def test_every_admin_page_has_a_role_decision():
    assert set(_registered()) == set(VIEW), set(_registered()) ^ set(VIEW)
    assert set(CHANGE) <= set(VIEW) and set(ADD) <= set(VIEW)


def _admin_url(label: str, view: str, *args) -> str:
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def _denied(response) -> bool:
    return response.status_code == 403 or (
        response.status_code == 302 and "/admin/login/" in response["Location"]
    )


@pytest.mark.parametrize("role", ROLES)
def test_admin_pages_per_role(role, objects, client):
    _world, by_label = objects
    client.force_login(_user(role))
    failures = []

    def expect(url, allowed: bool, method="get", data=None):
        response = getattr(client, method)(url, data or {})
        if allowed and response.status_code != 200:
            failures.append(f"{method.upper()} {url}: {response.status_code}, expected 200")
        if not allowed and not _denied(response):
            failures.append(f"{method.upper()} {url}: {response.status_code}, expected 403 / log-in")
        return response

    for label in sorted(VIEW):
        can_view = role in VIEW[label]
        # ?_all=1: the whole list (lists with default filters redirect a bare visit to them).
        expect(_admin_url(label, "changelist") + "?_all=1", can_view)
        if label in NO_OBJECTS | NO_OBJECTS_BUILT:
            continue
        obj = by_label[label]
        page = expect(_admin_url(label, "change", obj.pk), can_view)
        can_change = role in CHANGE.get(label, set())
        if can_view and page.status_code == 200 and page.context["has_change_permission"] != can_change:
            failures.append(f"{label}: change permission {not can_change} for {role}")
        if not can_change:
            expect(_admin_url(label, "change", obj.pk), False, "post", {"name": "篡改"})
            expect(_admin_url(label, "delete", obj.pk), False, "post", {"post": "yes"})
        if label == "payments.statement":
            expect(reverse("admin:payments_statement_upload"), role == F)
        elif label != "payments.paymentsettings":  # one row only: its add page closes once it exists
            expect(_admin_url(label, "add"), role in ADD.get(label, set()))
    assert not failures, "\n".join(failures)


# --- the custom staff pages and actions --------------------------------------------------------

PAGES = {
    # name: (url builder, method, roles allowed)
    "trainee export": (lambda w: reverse("admin:registration_trainee_export"), "get", {R, F}),
    # The Excel export of every list (portal.admin_export) follows the list's own view permission.
    "payment export": (lambda w: reverse("admin:payments_payment_export"), "get", {F}),
    "audit export": (lambda w: reverse("admin:portal_auditentry_export"), "get", ALL),
    "certificate export": (lambda w: reverse("admin:certificates_certificate_export"), "get", {R}),
    "payment decide": (
        lambda w: reverse("admin:payments_payment_decide", args=[w.payment.pk, "reject"]),
        "get",
        {F},
    ),
    "trainee approve": (
        lambda w: reverse("admin:registration_trainee_review", args=[w.trainee.pk, "approve"]),
        "get",
        {R},
    ),
    "finance report": (lambda w: reverse("admin:payments_payment_report"), "get", {F}),
    "review queue": (lambda w: reverse("admin:registration_trainee_review_queue"), "get", {R}),
    "issuer list by date": (lambda w: reverse("admin:certificates_certificate_issuer_export"), "get", {R}),
    "issuer numbers import": (lambda w: reverse("admin:certificates_certificate_issuer_import"), "get", {R}),
    "statement upload": (lambda w: reverse("admin:payments_statement_upload"), "get", {F}),
    "invoice issue": (lambda w: reverse("admin:payments_invoice_issue", args=[w.invoice.pk]), "get", {F}),
    "payment screenshot": (lambda w: reverse("payments:payment_screenshot", args=[w.payment.pk]), "get", {F}),
    "invoice pdf": (lambda w: reverse("payments:invoice_pdf", args=[w.invoice.pk]), "get", {F}),
    "record hours": (
        lambda w: reverse("admin:learning_enrollment_record_hours", args=[w.enrollment.pk]),
        "get",
        {C},
    ),
    "question import": (lambda w: reverse("admin:exams_question_import"), "get", {C}),
    # 一人一档 of one trainee (issue #23): reviewers (and the inspector).
    "one-person file": (
        lambda w: reverse("admin:certificates_dossierrun_trainee", args=[w.trainee.pk]),
        "get",
        {R},
    ),
    "system status": (lambda w: reverse("portal:system_status"), "get", ALL),
    # ID card copies show the full ID number: reviewers only (registration.view_full_id_number).
    "ID copy": (
        lambda w: reverse("registration:staff_document", args=[w.trainee.pk, "id_front"]),
        "get",
        {R},
    ),
    # Photo and the printable attachment 2 (ID number masked without the full-ID permission): every
    # role that holds registration.view_trainee, i.e. reviewers and finance.
    "photo": (
        lambda w: reverse("registration:staff_document", args=[w.trainee.pk, "photo"]),
        "get",
        {R, F},
    ),
    "attachment 2 print": (
        lambda w: reverse("registration:staff_attachment2_print", args=[w.trainee.pk]),
        "get",
        {R, F},
    ),
}


def _page_cases():
    for name in PAGES:
        for role in ROLES:
            yield pytest.param(name, role, id=f"{name}-{role}")


@pytest.mark.parametrize(("name", "role"), list(_page_cases()))
def test_staff_pages_per_role(name, role, objects, client):
    world, _by_label = objects
    url, method, allowed = PAGES[name]
    client.force_login(_user(role))
    response = getattr(client, method)(url(world))
    if role in allowed:
        assert response.status_code == 200, response.status_code
    else:
        assert _denied(response), response.status_code


def test_finance_cannot_approve_and_reviewer_cannot_confirm(objects, client):
    world, _by_label = objects
    Trainee.objects.filter(pk=world.trainee.pk).update(status=TraineeStatus.SUBMITTED, paid_at=None)
    world.payment.status = "reported"
    world.payment.save(update_fields=["status"])

    client.force_login(_user(F))
    for action in ("approve_selected", "reject_selected"):
        client.post(
            reverse("admin:registration_trainee_changelist"),
            {"action": action, "_selected_action": [world.trainee.pk], "apply": "1", "reason": "x"},
        )
    response = client.post(reverse("admin:registration_trainee_review", args=[world.trainee.pk, "approve"]))
    assert response.status_code == 403
    world.trainee.refresh_from_db()
    assert world.trainee.status == TraineeStatus.SUBMITTED

    for role in (R, C):
        client.force_login(_user(role))
        response = client.post(
            reverse("admin:payments_payment_changelist"),
            {"action": "confirm_action", "_selected_action": [world.payment.pk]},
        )
        assert response.status_code == 403
        world.payment.refresh_from_db()
        assert world.payment.status == "reported"

    for role in (R, F):  # only course administrators extend study windows
        client.force_login(_user(role))
        deadline = world.enrollment.deadline
        client.post(
            reverse("admin:learning_enrollment_changelist"),
            {
                "action": "extend_windows",
                "_selected_action": [world.enrollment.pk],
                "apply": "1",
                "days": "30",
                "reason": "x",
            },
        )
        assert Enrollment.objects.get(pk=world.enrollment.pk).deadline == deadline


def test_course_admin_sees_no_payment_or_personal_document(objects, client):
    world, _by_label = objects
    client.force_login(_user(C))
    index = client.get(reverse("admin:index")).content.decode()
    assert "/admin/payments/" not in index and "/admin/registration/trainee/" not in index
    for url in (
        reverse("registration:staff_document", args=[world.trainee.pk, "photo"]),
        reverse("payments:payment_screenshot", args=[world.payment.pk]),
        reverse("admin:registration_trainee_export"),
    ):
        assert client.get(url).status_code == 403, url


def test_review_pages_change_nothing_by_form(objects, client):
    """The reviewers' change permission saves no field: status and data move only through services."""
    world, _by_label = objects
    client.force_login(_user(R))
    Trainee.objects.filter(pk=world.trainee.pk).update(status=TraineeStatus.SUBMITTED)
    client.post(
        reverse("admin:registration_trainee_change", args=[world.trainee.pk]),
        {"status": "approved", "name": "篡改", "id_number": "110101199001010011", "paid_at": ""},
    )
    client.post(
        reverse("admin:registration_application_change", args=[world.application.pk]),
        {"unit_name": "篡改", "invoice_email": "evil@example.org"},
    )
    world.trainee.refresh_from_db()
    world.application.refresh_from_db()
    assert world.trainee.status == TraineeStatus.SUBMITTED and world.trainee.name == "甲学员"
    assert world.trainee.paid_at is not None
    assert world.application.unit_name == "甲单位有限公司"
