"""Refresher re-registration (issue #21): a sign-up pre-filled with last year's data.

The unit's people page (:mod:`registration.units.people_views`) and the personal centre start a
refresher sign-up from the registration a certificate was issued on: :func:`refresher_unit_initial`
and :func:`refresher_individual_initial` give the forms' initial values (name, ID number, mobile,
unit, certificate type, the previous certificate's number, mailing and invoice details; training
category "refresher"). Everything stays editable and goes through the same forms, validation,
consents (given anew, never copied) and review as any sign-up: :func:`refresher_application_submit`
calls :func:`registration.services.applications.application_submit` (or ``_or_notify`` for one
person), then carries attachment 2 over (:func:`refresher_documents_carry_over`): last year's
photo and ID card copies when the photo is younger than ``PORTAL_REFRESHER_PHOTO_MAX_AGE_DAYS``
(otherwise the trainee uploads them again), and the text of the form as a draft, for the rows that
kept the person's mobile number (their attachment 2 link goes to it; with a new number everything
is asked again); the trainee still checks, consents and signs attachment 2. After the commit
:data:`registration.signals.refresher_registered` lets the certificates app link its invitations.
"""

from __future__ import annotations

import datetime
import os
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from portal.services import audit_record

from ..models import ApplicantKind, Application, Programme, Trainee, TraineeStatus, TrainingCategory
from ..signals import refresher_registered
from .applications import application_submit, application_submit_or_notify
from .attachment2 import ATTACHMENT2_FILES, _files_delete

DEFAULT_PHOTO_MAX_AGE_DAYS = 365
CARRIED_ACTION = "trainee.refresher_documents_carried"
#: Attachment 2's text, copied as a draft (the trainee confirms it and signs again).
ATTACHMENT2_TEXT_FIELDS = (
    "education",
    "safety_years",
    "work_unit",
    "work_unit_address",
    "mailing_address",
    "landline",
    "work_history",
)
APPLICANT_FIELDS = (
    "unit_name",
    "industry",
    "contact_name",
    "contact_phone",
    "contact_email",
    "mail_recipient",
    "mail_phone",
    "mail_address",
    "invoice_title",
    "invoice_tax_id",
    "invoice_email",
)


def _previous_certificate_number(trainee: Trainee) -> str:
    """The number of the certificate issued on this registration (read without importing the
    certificates app); ``""`` when there is none."""
    enrollment = getattr(trainee, "enrollment", None)
    certificate = getattr(enrollment, "certificate", None) if enrollment is not None else None
    return (getattr(certificate, "number", "") or "") if certificate is not None else ""


def refresher_row_initial(*, trainee: Trainee, certificate_number: str | None = None) -> dict:
    """One roster row for the refresher of the person of ``trainee``."""
    return {
        "name": trainee.name,
        "id_number": trainee.id_number,
        "mobile": trainee.mobile,
        "email": trainee.email,
        "certificate_type": trainee.certificate_type,
        "training_category": TrainingCategory.REFRESHER,
        "previous_certificate_no": certificate_number
        if certificate_number is not None
        else _previous_certificate_number(trainee),
    }


def refresher_unit_initial(
    *, unit, trainees: list[Trainee], numbers: dict[int, str]
) -> tuple[dict, list[dict]]:
    """The unit form's initial values: the applicant fields of the unit's latest application (the
    unit, its contact, mailing and invoice details) and one roster row per trainee (``numbers``:
    trainee id → previous certificate number)."""
    latest = (
        Application.objects.filter(unit=unit, kind=ApplicantKind.UNIT, purged_at__isnull=True)
        .order_by("-submitted_at", "-pk")
        .first()
    )
    applicant = {name: getattr(latest, name) for name in APPLICANT_FIELDS} if latest else {}
    if not applicant:
        applicant = {"unit_name": unit.name, "invoice_title": unit.name, "invoice_tax_id": unit.credit_code}
    rows = [
        refresher_row_initial(trainee=trainee, certificate_number=numbers.get(trainee.pk))
        for trainee in trainees
    ]
    return {name: value for name, value in applicant.items() if value}, rows


def refresher_individual_initial(*, trainee: Trainee, certificate_number: str | None = None) -> dict:
    """The individual form's initial values from the person's earlier registration."""
    application = trainee.application
    initial = refresher_row_initial(trainee=trainee, certificate_number=certificate_number)
    initial.update(
        {
            "industry": application.industry,
            "mail_address": application.mail_address,
            "invoice_tax_id": application.invoice_tax_id,
        }
    )
    # Optional fields that default to the person's own name / mobile are left empty when they did.
    for field, own in (
        ("unit_name", trainee.name),
        ("mail_recipient", trainee.name),
        ("mail_phone", trainee.mobile),
        ("invoice_title", application.unit_name),
        ("invoice_email", trainee.email),
    ):
        value = getattr(application, field)
        if value and value != own:
            initial[field] = value
    return {name: value for name, value in initial.items() if value not in ("", None)}


def photo_is_recent(trainee: Trainee, *, now: datetime.datetime | None = None) -> bool:
    """Whether the trainee's photo (as of the signed attachment 2) is younger than
    ``PORTAL_REFRESHER_PHOTO_MAX_AGE_DAYS``."""
    if not trainee.photo or trainee.declared_at is None:
        return False
    days = int(getattr(settings, "PORTAL_REFRESHER_PHOTO_MAX_AGE_DAYS", DEFAULT_PHOTO_MAX_AGE_DAYS))
    return (now or timezone.now()) - trainee.declared_at < datetime.timedelta(days=days)


def refresher_documents_carry_over(
    *, application: Application, sources: list[Trainee], ip: str | None = None
) -> list[int]:
    """Copy last year's attachment 2 onto the new registrations of the same persons (matched by
    ID number, with the same mobile number: the attachment 2 link goes to it) of ``application``:
    the text as a draft, and the photo with the ID card copies when the photo is recent enough
    (:func:`photo_is_recent`). Never the consents or the signature. Returns the ids of the trainees
    whose documents were copied."""
    by_hash = {source.id_number_hash: source for source in sources if source.id_number_hash}
    if not by_hash:
        return []
    now = timezone.now()
    carried: list[int] = []
    written: list[tuple] = []
    try:
        with transaction.atomic():
            targets = list(
                Trainee.objects.select_for_update()
                .filter(
                    application=application,
                    id_number_hash__in=list(by_hash),
                    status=TraineeStatus.SUBMITTED,
                    declared_at__isnull=True,
                )
                .order_by("pk")
            )
            for trainee in targets:
                source = by_hash[trainee.id_number_hash]
                if trainee.mobile != source.mobile:
                    # The documents follow the person's own number on file: with another number the
                    # new attachment 2 link goes elsewhere, so nothing of last year's is shown there.
                    continue
                fields = []
                for name in ATTACHMENT2_TEXT_FIELDS:
                    value = getattr(source, name)
                    if value not in ("", None) and getattr(trainee, name) in ("", None):
                        setattr(trainee, name, value)
                        fields.append(name)
                if photo_is_recent(source, now=now) and all(
                    getattr(source, name) for name in ATTACHMENT2_FILES
                ):
                    for name in ATTACHMENT2_FILES:
                        original = getattr(source, name)
                        with original.open("rb") as handle:
                            content = ContentFile(handle.read(), name=os.path.basename(original.name))
                        target = getattr(trainee, name)
                        target.save(content.name, content, save=False)
                        written.append((target.storage, target.name))
                        fields.append(name)
                    carried.append(trainee.pk)
                if fields:
                    trainee.save(update_fields=[*fields, "updated_at"])
                    audit_record(
                        actor=None,
                        action=CARRIED_ACTION,
                        target=trainee,
                        new={"from_trainee": source.pk, "fields": fields},
                        ip=ip,
                    )
    except BaseException:
        _files_delete(written)
        raise
    return carried


def refresher_application_submit(
    *,
    programme: Programme,
    applicant: dict,
    roster: list[dict],
    sources: list[Trainee],
    consents=(),
    ip: str | None = None,
    individual: bool = False,
) -> Application | None:
    """Submit a refresher sign-up exactly as a new one (the unit's
    :func:`~registration.services.applications.application_submit`, or for one person
    :func:`~registration.services.applications.application_submit_or_notify`, which returns
    ``None`` without saying why), then carry attachment 2 over from ``sources`` (last year's
    registrations of these persons, already checked to be the submitter's). Raises what those raise."""
    submit = application_submit_or_notify if individual else application_submit
    application = submit(programme=programme, applicant=applicant, roster=roster, consents=consents, ip=ip)
    if application is None:
        return None
    refresher_documents_carry_over(application=application, sources=sources, ip=ip)
    transaction.on_commit(
        partial(
            refresher_registered.send,
            sender=Application,
            application_id=application.pk,
            programme_id=programme.pk,
        )
    )
    return application
