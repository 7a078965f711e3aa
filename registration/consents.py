"""The consent texts of sign-up: one separate consent each for the ID number, the photo and the ID
card copy (PIPL art. 29: sensitive personal information needs separate consent).

Each text says why the data is needed and how long it is kept (``RETENTION_DAYS`` after the
training ends). The forms show :func:`consent_text` and the services store the very same text,
rendered in the active language, with :data:`CONSENT_TEXT_VERSION`. Change the wording → bump the
version.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.selectors import association_get

from .models import ConsentGiver, ConsentKind

CONSENT_TEXT_VERSION = "2026.1"

# The consents each form asks for.
ATTACHMENT1_CONSENTS = (ConsentKind.ID_NUMBER,)
ATTACHMENT2_CONSENTS = (ConsentKind.ID_NUMBER, ConsentKind.PHOTO, ConsentKind.ID_COPY)


def consent_field_name(kind: str) -> str:
    return f"consent_{kind}"


def retention_period() -> str:
    """``RETENTION_DAYS`` in words: “3 years” (whole years) or “400 days”."""
    days = int(settings.RETENTION_DAYS)
    if days % 365 == 0:
        years = days // 365
        return ngettext("%(count)s year", "%(count)s years", years) % {"count": years}
    return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}


def _association() -> str:
    return getattr(association_get(), "name", "") or _("the association")


def consent_text(kind: str, *, given_by: str = ConsentGiver.TRAINEE) -> str:
    """The text of one consent in the active language, as shown and as stored."""
    params = {"association": _association(), "period": retention_period()}
    if kind == ConsentKind.ID_NUMBER and given_by == ConsentGiver.CONTACT:
        text = _(
            "I confirm that every trainee on this roster has been told and agrees that %(association)s "
            "processes their resident ID number, to confirm who they are, to make sure each person "
            "registers only once and to put it on the training certificate. It is stored encrypted and "
            "kept until %(period)s after their training ends, then deleted (only a masked copy stays for "
            "checking certificates). Each trainee also confirms this on their own information form."
        )
    elif kind == ConsentKind.ID_NUMBER:
        text = _(
            "I agree that %(association)s processes my resident ID number, to confirm who I am, to make "
            "sure I register only once and to put it on my training certificate. It is stored encrypted "
            "and kept until %(period)s after my training ends, then deleted (only a masked copy stays for "
            "checking certificates)."
        )
    elif kind == ConsentKind.PHOTO:
        text = _(
            "I agree that %(association)s processes my photo, to print it on my training certificate and "
            "my registration form and to check my identity. It is kept until %(period)s after my "
            "training ends, then deleted."
        )
    elif kind == ConsentKind.ID_COPY:
        text = _(
            "I agree that %(association)s processes the copy of both sides of my ID card, so that staff "
            "can check my name and ID number against the card when they review my registration. It is "
            "kept until %(period)s after my training ends, then deleted."
        )
    elif kind == ConsentKind.FACE_RECOGNITION:
        text = _(
            "I agree that %(association)s compares camera snapshots of my face with my registered photo "
            "during my study and exam, to confirm that I am the one studying (face recognition: biometric "
            "data). The snapshots and the comparison results are kept until %(period)s after my training "
            "ends, or less when the association says so, then deleted. I may decline: I then confirm who "
            "I am with a code sent to my own mobile, and staff check a photo at the exam."
        )
    else:
        raise ValueError(f"unknown consent kind {kind!r}")
    return text % params


def consent_missing_message(kind: str, *, given_by: str = ConsentGiver.TRAINEE) -> str:
    """The error when a required consent is not ticked."""
    if kind == ConsentKind.ID_NUMBER and given_by == ConsentGiver.CONTACT:
        return _(
            "Tick the box to confirm that the trainees agree to the processing of their ID numbers: "
            "without it the registration cannot be accepted."
        )
    return {
        ConsentKind.ID_NUMBER: _(
            "Tick the box to agree to the processing of your ID number: without it you cannot register."
        ),
        ConsentKind.PHOTO: _(
            "Tick the box to agree to the processing of your photo: without it you cannot register."
        ),
        ConsentKind.ID_COPY: _(
            "Tick the box to agree to the processing of your ID card copy: without it you cannot register."
        ),
    }[kind]
