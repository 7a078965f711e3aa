"""Validation of what people type into attachments 1 and 2.

ID numbers follow GB 11643 (``stdnum.cn.ric``; 15-digit legacy numbers are upgraded to 18 digits),
unified social credit codes GB 32100 (``stdnum.cn.uscc``); industries follow the sections of
GB/T 4754 with the high-risk ones of section 一 of the notice split out so they can be refused.
Mobile numbers: :func:`portal.validators.mobile_validate`. Photos: :func:`photo_colour_validate`
(the notice asks for a recent colour photo) and :func:`photo_face_validate` (one face, large enough
to compare with the identity checks' snapshots).
"""

import functools
import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageChops
from stdnum import exceptions as stdnum_exceptions
from stdnum import numdb
from stdnum.cn import ric, uscc

from portal.validators import mobile_validate  # noqa: F401  (re-exported: one place to look)

_SPACES = re.compile(r"[\s\-]")


def _ric_check_digit(first17: str) -> str:
    return ric.calc_check_digit(first17 + "0")


@functools.lru_cache(maxsize=8192)
def _region_known(code: str) -> bool:
    """Whether the administrative division code ever existed (in any year: the number is assigned
    where the card was first issued, which may be years after birth or before a renaming)."""
    info = {key: value for _part, props in numdb.get("cn/loc").info(code) for key, value in props.items()}
    return bool(info.get("county"))


def id_number_validate(value: str) -> str:
    """Return the 18-digit resident ID number for ``value`` or raise ``ValidationError``.

    Spaces are stripped and a trailing ``x`` uppercased; a 15-digit first-generation number is
    upgraded (``19`` inserted before the year, the check digit computed).
    """
    number = _SPACES.sub("", str(value or "")).upper()
    if not number:
        raise ValidationError(_("Enter the ID number."), code="id_required")
    if len(number) == 15:
        if not number.isdigit():
            raise ValidationError(
                _("A 15-digit ID number has digits only."), code="id_format", params={"value": number}
            )
        first17 = number[:6] + "19" + number[6:]
        number = first17 + _ric_check_digit(first17)
    if len(number) != 18:
        raise ValidationError(
            _("An ID number has 18 characters (or 15 digits for an old card); %(value)s has %(length)s."),
            code="id_length",
            params={"value": number, "length": len(number)},
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(
            _("An ID number is 17 digits followed by a digit or X."),
            code="id_format",
            params={"value": number},
        )
    try:
        birth = ric.get_birth_date(number)
    except stdnum_exceptions.ValidationError:
        birth = None
    if birth is None or birth > timezone.localdate() or birth.year < 1900:
        raise ValidationError(
            _("The date of birth in ID number %(value)s is impossible."),
            code="id_birth_date",
            params={"value": number},
        )
    if number[17] != _ric_check_digit(number[:17]):
        raise ValidationError(
            _("ID number %(value)s is wrong: its check digit does not match. Check every digit."),
            code="id_checksum",
            params={"value": number},
        )
    if not _region_known(number[:6]):
        raise ValidationError(
            _("The region code (first 6 digits) of ID number %(value)s does not exist."),
            code="id_region",
            params={"value": number},
        )
    return number


def id_number_birth_date(number: str) -> date:
    """Date of birth of an already validated 18-digit ID number."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def id_number_gender(number: str) -> str:
    """``"M"`` or ``"F"`` from the 17th digit (odd = male) of an already validated number."""
    return "M" if int(number[16]) % 2 else "F"


def id_number_mask(number: str) -> str:
    """Show the first and last four characters only, e.g. ``4401**********123X``."""
    number = str(number or "")
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


#: Image modes without colour.
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
#: A pixel is coloured when its channels differ by more than this (0-255): JPEG noise and chroma
#: subsampling of a black-and-white picture saved in colour stay below it.
PHOTO_COLOUR_SPREAD = 24
#: The share of coloured pixels below which a photo counts as black and white. A colour ID photo
#: has a face (and usually a coloured background): far more than this.
PHOTO_COLOUR_MIN_SHARE = 0.02
_PHOTO_SAMPLE = (96, 96)


def photo_is_grayscale(image: Image.Image) -> bool:
    """Whether a decoded photo is black and white: a gray mode, or colour channels that are (nearly)
    equal in (nearly) every pixel (judged on a small copy: a few thousand pixels)."""
    if image.mode in _GRAY_MODES:
        return True
    sample = image.copy()
    sample.thumbnail(_PHOTO_SAMPLE)
    if sample.mode != "RGB":
        sample = sample.convert("RGB")  # P (palette), CMYK, RGBA...: the colours as shown
    red, green, blue = sample.split()
    spread = ImageChops.lighter(
        ImageChops.lighter(ImageChops.difference(red, green), ImageChops.difference(green, blue)),
        ImageChops.difference(red, blue),
    )
    coloured = sum(spread.histogram()[PHOTO_COLOUR_SPREAD + 1 :])
    return coloured < PHOTO_COLOUR_MIN_SHARE * sample.width * sample.height


def photo_colour_validate(image: Image.Image) -> Image.Image:
    """Refuse a black-and-white (grayscale) photo: the notice asks for a recent colour photo."""
    if photo_is_grayscale(image):
        raise ValidationError(
            _(
                "The photo is black and white (grayscale). The notice asks for a recent colour photo: "
                "upload a colour one-inch ID photo."
            ),
            code="photo_grayscale",
        )
    return image


#: The registered photo's face gate (issue #23: identity checks compare snapshots with this photo):
#: exactly one face, its box at least this share of the photo's area. A one-inch ID photo's face
#: covers 20-40 %; a group photo, a distant snapshot or a photo of a document covers far less.
PHOTO_FACE_MIN_SHARE = 0.08


def photo_face_validate(image: Image.Image) -> Image.Image:
    """Refuse a photo without exactly one face, or with a face too small to compare later
    (``PORTAL_FACE_PHOTO_GATE``: on in production; ``PORTAL_FACE_PHOTO_MIN_SHARE`` the smallest
    share of the photo the face's box may cover)."""
    from django.conf import settings

    from portal.faces import faces_find

    if not getattr(settings, "PORTAL_FACE_PHOTO_GATE", False):
        return image
    faces = faces_find(image, upsample=1)
    if not faces:
        raise ValidationError(
            _(
                "No face can be seen in the photo. Upload a recent one-inch ID photo showing your whole "
                "face from the front, without a hat or sunglasses."
            ),
            code="photo_no_face",
        )
    if len(faces) > 1:
        raise ValidationError(
            _("The photo shows %(count)s faces. Upload a one-inch ID photo of yourself alone."),
            code="photo_many_faces",
            params={"count": len(faces)},
        )
    min_share = float(getattr(settings, "PORTAL_FACE_PHOTO_MIN_SHARE", PHOTO_FACE_MIN_SHARE))
    if faces[0].area_share < min_share:
        raise ValidationError(
            _(
                "The face in the photo is too small (%(share)s%% of the photo; at least %(min)s%%). "
                "Upload a one-inch ID photo in which the face fills most of the picture."
            ),
            code="photo_face_small",
            params={"share": round(faces[0].area_share * 100), "min": round(min_share * 100)},
        )
    return image


def uscc_validate(value: str) -> str:
    """Return the normalised 18-character unified social credit code or raise ``ValidationError``."""
    code = _SPACES.sub("", str(value or "")).upper()
    if not code:
        raise ValidationError(_("Enter the unified social credit code."), code="uscc_required")
    try:
        return uscc.validate(code)
    except stdnum_exceptions.InvalidLength:
        raise ValidationError(
            _("A unified social credit code has 18 characters; %(value)s has %(length)s."),
            code="uscc_length",
            params={"value": code, "length": len(code)},
        ) from None
    except stdnum_exceptions.InvalidChecksum:
        raise ValidationError(
            _("Unified social credit code %(value)s is wrong: its check character does not match."),
            code="uscc_checksum",
            params={"value": code},
        ) from None
    except stdnum_exceptions.ValidationError:
        raise ValidationError(
            _("%(value)s is not a valid unified social credit code."),
            code="uscc_format",
            params={"value": code},
        ) from None


def uscc_area_code(code: str) -> str:
    """The administrative division code of a valid credit code (characters 3–8, e.g. ``440106``)."""
    return code[2:8]


def uscc_in_area(code: str, *, prefix: str) -> bool:
    """Whether a valid credit code is registered in the area whose division codes start with
    ``prefix`` (``4401``: Guangzhou)."""
    return uscc_area_code(code).startswith(prefix)


@functools.lru_cache(maxsize=64)
def uscc_area_name(prefix: str) -> str:
    """The name of the area of a division code prefix (``4401`` → 广州市), or the prefix itself."""
    code = (prefix + "000000")[:6]
    names = {key: value for _part, props in numdb.get("cn/loc").info(code) for key, value in props.items()}
    name = re.sub(r"^\[[^\]]*\]", "", names.get("county") or names.get("province") or "")
    return name or prefix


# Sections of GB/T 4754-2017; the high-risk trades of the notice (section 一) are listed apart.
INDUSTRY_CHOICES = [
    ("A", _("A Agriculture, forestry, animal husbandry and fishery")),
    ("B", _("B Mining")),
    ("C", _("C Manufacturing (other than metal smelting and hazardous chemicals)")),
    ("C31-C32", _("C31–C32 Smelting and rolling of ferrous and non-ferrous metals")),
    ("HAZ", _("Production, trading, storage or disposal of hazardous goods (chemicals, explosives...)")),
    ("HAZ-MAJOR", _("Units whose use of hazardous goods constitutes a major hazard installation")),
    ("D", _("D Electricity, heat, gas and water production and supply")),
    ("E", _("E Construction")),
    ("F", _("F Wholesale and retail trade")),
    ("G54", _("G54 Road transport")),
    ("G", _("G Transport (other than road transport), storage and postal services")),
    ("H", _("H Accommodation and catering")),
    ("I", _("I Information transmission, software and IT services")),
    ("J", _("J Finance")),
    ("K", _("K Real estate")),
    ("L", _("L Leasing and business services")),
    ("M", _("M Scientific research and technical services")),
    ("N", _("N Water conservancy, environment and public facilities management")),
    ("O", _("O Resident services, repair and other services")),
    ("P", _("P Education")),
    ("Q", _("Q Health and social work")),
    ("R", _("R Culture, sports and entertainment")),
    ("S", _("S Public administration, social security and social organisations")),
]

HIGH_RISK_INDUSTRIES = {"B", "C31-C32", "HAZ", "HAZ-MAJOR", "E", "G54"}
# The refusal of a high-risk industry: on submit (industry_validate) and, as soon as one is chosen,
# on the page (registration/industry.js reads it from the industry list's data attributes).
HIGH_RISK_MESSAGE = _(
    "“%(industry)s” is a high-risk industry. This online training is only for non-high-risk "
    "businesses: all except mining, metal smelting, construction, road transport, units "
    "producing, trading, storing or disposing of hazardous goods and units whose use of "
    "hazardous goods constitutes a major hazard installation. Please attend the training "
    "for high-risk industries instead."
)

_INDUSTRY_LABELS = dict(INDUSTRY_CHOICES)


def industry_validate(code: str) -> str:
    """Return ``code`` if it is a known non-high-risk industry, else raise ``ValidationError``."""
    code = str(code or "").strip()
    if code not in _INDUSTRY_LABELS:
        raise ValidationError(_("Choose the unit's industry from the list."), code="industry_unknown")
    if code in HIGH_RISK_INDUSTRIES:
        raise ValidationError(
            HIGH_RISK_MESSAGE,
            code="industry_high_risk",
            params={"industry": _INDUSTRY_LABELS[code]},
        )
    return code
