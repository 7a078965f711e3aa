"""The unit's people (issue #21): everyone the unit has trained, with their latest certificate and
when it is due for the refresher.

"Trained" means certified: a certificate (certificates app) was issued on the enrollment (learning)
of a trainee of one of the unit's applications. Registration never imports those apps: the
certificate rows are reached through the reverse relations by name (as
``payments.selectors.trainee_account_opened`` does), and the refresher rule (due day and state)
comes from the certificates app, which puts it in :data:`REFRESHER_RULE` when it starts
(``certificates.apps``). One person is one ID number (its keyed hash); their latest valid
certificate counts. One query whatever the number of people.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Exists, OuterRef, Value
from django.utils import timezone

from ..models import LIVE_STATUSES, CertificateType, Programme, Trainee
from ..validators import id_number_mask

#: ``"info"``: ``(issue_date=, today=) -> object with .due_on and .state`` ("overdue", "due_soon",
#: "ok"), set by the certificates app (certificates.refresher.refresher_info).
REFRESHER_RULE: dict[str, Callable] = {}
#: The certificates app's "valid" status (certificates.models.CertificateStatus.VALID).
CERTIFICATE_VALID = "valid"


@dataclass(frozen=True)
class Person:
    trainee: Trainee  # the registration the latest certificate was issued on
    id_masked: str
    certificate_number: str
    certificate_type: str
    certificate_type_label: str
    issue_date: datetime.date
    due_on: datetime.date | None
    state: str  # "overdue", "due_soon", "ok" ("" without the rule)
    registered: bool  # already registered in the programme open now

    @property
    def selectable(self) -> bool:
        return not self.registered


def certificate_model():
    """The certificates app's model, found through the reverse relations (``None`` without it)."""
    try:
        enrollment = Trainee._meta.get_field("enrollment").related_model
        return enrollment._meta.get_field("certificate").related_model
    except FieldDoesNotExist:
        return None


def _latest_per_person(certificates) -> list:
    seen: set[str] = set()
    latest = []
    for certificate in certificates:  # newest first
        key = certificate.enrollment.trainee.id_number_hash
        if key in seen:
            continue
        seen.add(key)
        latest.append(certificate)
    return latest


def people_certificates(*, trainees_filter: dict, programme: Programme | None = None):
    """The latest valid certificate of each person among the trainees matching ``trainees_filter``
    (lookups on ``Trainee``), newest first, trainee and application joined; each carries
    ``registered_now``: the person has a live registration in ``programme``. One query."""
    model = certificate_model()
    if model is None:
        return []
    registered = (
        Exists(
            Trainee.objects.filter(
                programme=programme,
                status__in=LIVE_STATUSES,
                is_duplicate=False,
                id_number_hash=OuterRef("enrollment__trainee__id_number_hash"),
            )
        )
        if programme is not None
        else Value(False)
    )
    rows = (
        model._default_manager.filter(status=CERTIFICATE_VALID)
        .filter(**{f"enrollment__trainee__{key}": value for key, value in trainees_filter.items()})
        .exclude(enrollment__trainee__id_number_hash="")
        .annotate(registered_now=registered)
        .select_related("enrollment__trainee__application")
        .order_by("-issue_date", "-pk")
    )
    return _latest_per_person(rows)


def _person(certificate, *, today) -> Person:
    trainee = certificate.enrollment.trainee
    rule = REFRESHER_RULE.get("info")
    info = rule(issue_date=certificate.issue_date, today=today) if rule else None
    return Person(
        trainee=trainee,
        id_masked=trainee.id_number_masked or id_number_mask(trainee.id_number),
        certificate_number=certificate.number or "",
        certificate_type=certificate.certificate_type,
        certificate_type_label=str(CertificateType(certificate.certificate_type).label)
        if certificate.certificate_type in CertificateType.values
        else certificate.certificate_type,
        issue_date=certificate.issue_date,
        due_on=info.due_on if info else None,
        state=info.state if info else "",
        registered=bool(certificate.registered_now),
    )


def unit_people(*, unit, programme: Programme | None = None, today=None) -> list[Person]:
    """Everyone the ``unit`` has trained (its applications' certified trainees), one row per
    person with the latest certificate, the refresher due first; ``registered`` says who is
    registered in ``programme`` already. One query."""
    today = today or timezone.localdate()
    certificates = people_certificates(trainees_filter={"application__unit": unit}, programme=programme)
    people = [_person(c, today=today) for c in certificates]
    people.sort(key=lambda p: (p.due_on or datetime.date.max, p.trainee.name))
    return people


def user_people(*, user, programme: Programme | None = None, today=None) -> list[Person]:
    """The certificates of a trainee's own study account (personal centre), the latest per person.
    One query."""
    today = today or timezone.localdate()
    certificates = people_certificates(trainees_filter={"enrollment__user": user}, programme=programme)
    return [_person(c, today=today) for c in certificates]


def unit_people_selected(*, unit, trainee_ids, programme: Programme | None = None) -> list[Person]:
    """The unit's people whose rows (trainee ids as shown on the page) were selected; people
    of other units and people already registered in ``programme`` are left out."""
    wanted = set()
    for value in trainee_ids:
        try:
            wanted.add(int(value))
        except (TypeError, ValueError):
            continue
    return [
        person
        for person in unit_people(unit=unit, programme=programme)
        if person.trainee.pk in wanted and not person.registered
    ]
