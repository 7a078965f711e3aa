"""一人一档 (issue #23): one trainee's whole record in one PDF, for inspectors (kept at least 3
years): registration data (ID number masked unless the viewer may see it in full), consents,
attachment 2 with the photo, the hour log per lesson with times and presence-check results, the
offline check-ins, every exam attempt with its questions, answers and score, the certificate and
its mailing.

:func:`trainee_dossier` reads everything with a fixed number of queries whatever the record's size;
:func:`dossier_pdf` renders it with WeasyPrint (system Noto CJK fonts, like the printable attachment
2; only ``data:`` URIs are fetched). Auditing the view is the caller's job
(``certificates.services.dossier``).
"""

from dataclasses import dataclass, field

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from exams.models import Attempt, AttemptQuestion
from exams.question_import import OPTION_LETTERS
from learning.models import Enrollment, OfflineCheckIn, StudyRecord
from learning.selectors.study import enrollment_study_overview, hours_display
from portal.selectors import association_get
from registration.models import Consent, Trainee
from registration.pdf import _photo_data_uri, _url_fetcher
from registration.validators import id_number_mask

from .models import Certificate


@dataclass
class AttemptBlock:
    attempt: Attempt
    items: list = field(default_factory=list)


@dataclass
class Dossier:
    trainee: Trainee
    full_id: bool
    id_number_shown: str
    consents: list
    enrollment: Enrollment | None = None
    overview: object = None
    records: list = field(default_factory=list)
    checkins: list = field(default_factory=list)
    attempts: list[AttemptBlock] = field(default_factory=list)
    certificate: Certificate | None = None


def _letters(indexes) -> str:
    if not indexes:
        return "—"
    return "".join(
        OPTION_LETTERS[i] if isinstance(i, int) and 0 <= i < len(OPTION_LETTERS) else "?" for i in indexes
    )


def trainee_dossier(trainee_id: int, *, full_id: bool = False) -> Dossier:
    """Everything about one trainee, in a fixed number of queries (trainee, consents, enrollment,
    the study overview's queries, record lines, check-ins, attempts, their questions, certificate)."""
    trainee = Trainee.objects.select_related("application", "programme").get(pk=trainee_id)
    shown = trainee.id_number if full_id else (trainee.id_number_masked or id_number_mask(trainee.id_number))
    dossier = Dossier(
        trainee=trainee,
        full_id=full_id,
        id_number_shown=shown,
        consents=list(Consent.objects.filter(trainee=trainee).order_by("given_at", "pk")),
    )
    enrollment = (
        Enrollment.objects.select_related("trainee", "programme", "user").filter(trainee=trainee).first()
    )
    if enrollment is None:
        return dossier
    dossier.enrollment = enrollment
    dossier.overview = enrollment_study_overview(enrollment)
    dossier.records = list(
        StudyRecord.objects.filter(enrollment=enrollment)
        .select_related("lesson")
        .order_by("started_at", "pk")
    )
    dossier.checkins = list(
        OfflineCheckIn.objects.filter(enrollment=enrollment)
        .select_related("session")
        .order_by("session__starts_at")
    )
    attempts = list(Attempt.objects.filter(enrollment=enrollment).order_by("number", "pk"))
    blocks = {attempt.pk: AttemptBlock(attempt) for attempt in attempts}
    if blocks:
        for item in AttemptQuestion.objects.filter(attempt__in=list(blocks)).order_by(
            "attempt_id", "position"
        ):
            item.answer_letters = _letters(item.answer)
            item.correct_letters = _letters(item.correct)
            item.option_rows = [
                (OPTION_LETTERS[i], text) for i, text in enumerate(item.options[: len(OPTION_LETTERS)])
            ]
            blocks[item.attempt_id].items.append(item)
    dossier.attempts = list(blocks.values())
    dossier.certificate = Certificate.objects.filter(enrollment=enrollment).first()
    return dossier


def dossier_html(dossier: Dossier) -> str:
    trainee = dossier.trainee
    for record in dossier.records:
        record.hours = hours_display(record.credited_ms)
    context = {
        "d": dossier,
        "trainee": trainee,
        "application": trainee.application,
        "programme": trainee.programme,
        "photo": _photo_data_uri(trainee),
        "printed_at": timezone.localtime(),
        "association_name": getattr(association_get(), "name", "") or _("the association"),
    }
    return render_to_string("certificates/dossier/dossier.html", context)


def dossier_pdf(dossier: Dossier) -> bytes:
    """The PDF bytes (printed in Chinese, like the paper forms the inspectors read)."""
    from weasyprint import HTML  # heavy import: only when a PDF is made

    with translation.override("zh-hans"):
        html = dossier_html(dossier)
    return HTML(string=html, url_fetcher=_url_fetcher(), base_url=None).write_pdf()


def dossier_filename(trainee: Trainee) -> str:
    return f"dossier-{trainee.programme_id}-{trainee.pk}.pdf"
