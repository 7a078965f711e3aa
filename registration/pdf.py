"""The printable attachment 2 (学员信息登记表) of one trainee, as filled in, rendered by WeasyPrint.

The photo is embedded as a data URI read from the private storage, so WeasyPrint never fetches
anything over the network or from disk (its URL fetcher allows ``data:`` URIs only). Fonts: the system's Noto CJK.
"""

import base64

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.selectors import association_get

from .models import Trainee
from .validators import id_number_mask


def _url_fetcher():
    """Only ``data:`` URIs (the embedded photo): nothing is fetched from the network or disk."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint < 66: a plain function
        from weasyprint import default_url_fetcher

        def fetch(url, *args, **kwargs):
            if not url.startswith("data:"):
                raise ValueError("only data: URIs are allowed in printed forms")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch
    return URLFetcher(allowed_protocols={"data"})


def _photo_data_uri(trainee: Trainee) -> str:
    if not trainee.photo:
        return ""
    try:
        with trainee.photo.storage.open(trainee.photo.name, "rb") as handle:
            data = handle.read()
    except OSError:
        return ""
    mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# What the form shows instead of a hidden date of birth (like the masked ID number's stars).
BIRTH_DATE_HIDDEN = "****-**-**"


def _birth_date_shown(trainee: Trainee, *, shown: bool) -> str:
    if not trainee.birth_date:
        return ""
    return f"{trainee.birth_date:%Y-%m-%d}" if shown else BIRTH_DATE_HIDDEN


def attachment2_html(trainee: Trainee, *, full_id: bool = False, birth_date: bool = True) -> str:
    """The form as HTML. The ID number is masked unless ``full_id`` (staff with the full-ID
    permission; the caller audits that). ``birth_date=False`` hides the date of birth: with the
    masked number it would leave only a few candidates for the full one (staff without the
    full-ID permission)."""
    declared_at = timezone.localtime(trainee.declared_at) if trainee.declared_at else None
    context = {
        "trainee": trainee,
        "id_number_shown": trainee.id_number
        if full_id
        else (trainee.id_number_masked or id_number_mask(trainee.id_number)),
        "birth_date_shown": _birth_date_shown(trainee, shown=birth_date),
        "application": trainee.application,
        "programme": trainee.programme,
        "photo": _photo_data_uri(trainee),
        "declared_at": declared_at,
        "printed_at": timezone.localtime(),
        "association_name": getattr(association_get(), "name", "") or _("the association"),
    }
    return render_to_string("registration/print/attachment2.html", context)


def attachment2_pdf(trainee: Trainee, *, full_id: bool = False, birth_date: bool = True) -> bytes:
    """The PDF bytes. The paper form is Chinese, so it is printed in Chinese whatever the language.
    The ID number is masked unless ``full_id``; the date of birth hidden with ``birth_date=False``."""
    from weasyprint import HTML  # heavy import: only when a PDF is made, not in every web process

    with translation.override("zh-hans"):
        html = attachment2_html(trainee, full_id=full_id, birth_date=birth_date)
    return HTML(string=html, url_fetcher=_url_fetcher(), base_url=None).write_pdf()
