"""Factories for registration tests: programmes, applications and trainees with valid numbers."""

import datetime
import io

import factory
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from stdnum.cn import ric, uscc

from portal.crypto import personal_hash
from registration.models import ApplicantKind, Application, Programme, Trainee, TraineeStatus
from registration.validators import id_number_mask


def id_number_make(n: int, *, birth: datetime.date | None = None, region: str = "440106", male=None) -> str:
    """A valid 18-digit ID number (GB 11643 check digit) for sequence number ``n``."""
    birth = birth or datetime.date(1970, 1, 1) + datetime.timedelta(days=(n * 37) % 12000)
    order = n % 1000
    if male is not None and (order % 2 == 1) != male:
        order = (order + 1) % 1000
    first17 = f"{region}{birth:%Y%m%d}{order:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def mobile_make(n: int) -> str:
    return f"1370000{n % 10000:04d}"


def uscc_make(n: int) -> str:
    first17 = f"91440101{n % 10**9:09d}"
    return first17 + uscc.calc_check_digit(first17)


def image_bytes(width=354, height=496, fmt="JPEG", color=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format=fmt, **save)
    return out.getvalue()


def upload(name="photo.jpg", content=None, content_type="image/jpeg", **image) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content if content is not None else image_bytes(**image), content_type)


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"线上培训项目 {n}")
    year = factory.LazyFunction(lambda: timezone.localdate().year)
    opens_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    closes_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    programme = factory.SubFactory(ProgrammeFactory)
    reference = factory.Sequence(lambda n: f"T{n:09d}")
    kind = ApplicantKind.UNIT
    unit_name = "示例制造有限公司"
    industry = "C"
    contact_name = "王联系"
    contact_phone = "13700009999"
    contact_email = "contact@example.org"
    mail_recipient = "王联系"
    mail_phone = "13700009999"
    mail_address = "广州市越秀区示例路 1 号"
    invoice_title = "示例制造有限公司"
    invoice_tax_id = factory.Sequence(uscc_make)
    invoice_email = "invoice@example.org"


class TraineeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trainee

    application = factory.SubFactory(ApplicationFactory)
    programme = factory.SelfAttribute("application.programme")
    row_number = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"学员{n}")
    id_number = factory.Sequence(id_number_make)
    # Set with the ID number, as registration.services.trainee_set_id_number does.
    id_number_hash = factory.LazyAttribute(lambda o: personal_hash(o.id_number))
    id_number_masked = factory.LazyAttribute(lambda o: id_number_mask(o.id_number))
    mobile = factory.Sequence(mobile_make)
    certificate_type = "principal"
    training_category = "initial"
    status = TraineeStatus.SUBMITTED


class CompleteTraineeFactory(TraineeFactory):
    """A trainee whose attachment 2 is complete (files in the private storage)."""

    gender = "M"
    birth_date = datetime.date(1980, 1, 1)
    education = "bachelor"
    safety_years = 5
    work_unit = "示例制造有限公司"
    work_unit_address = "广州市越秀区示例路 1 号"
    mailing_address = "广州市越秀区示例路 1 号"
    work_history = "2010-2020 示例制造有限公司 安全主任"
    photo = factory.LazyFunction(lambda: ContentFile(image_bytes(), name="photo.jpg"))
    id_front = factory.LazyFunction(lambda: ContentFile(image_bytes(800, 500), name="front.jpg"))
    id_back = factory.LazyFunction(lambda: ContentFile(image_bytes(800, 500), name="back.jpg"))
    declaration_name = factory.SelfAttribute("name")
    declared_at = factory.LazyFunction(timezone.now)
    declared_ip = "127.0.0.1"


# The consent checkboxes as posted (registration.consents): attachment 1 asks for the ID-number
# consent, attachment 2 for all three.
ATTACHMENT1_CONSENTS_POST = {"consent_id_number": "on"}
ATTACHMENT2_CONSENTS_POST = {"consent_id_number": "on", "consent_photo": "on", "consent_id_copy": "on"}
ALL_CONSENTS = ("id_number", "photo", "id_copy")


def applicant_data(**overrides) -> dict:
    data = {
        "kind": "unit",
        "unit_name": "广州示例贸易有限公司",
        "industry": "F",
        "contact_name": "李联系",
        "contact_phone": "13700008888",
        "contact_email": "contact@example.org",
        "mail_recipient": "李联系",
        "mail_phone": "13700008888",
        "mail_address": "广州市天河区示例大道 100 号",
        "invoice_title": "广州示例贸易有限公司",
        "invoice_tax_id": uscc_make(12345),
        "invoice_email": "invoice@example.org",
    }
    data.update(overrides)
    return data


def roster_rows(count: int, start: int = 0, **overrides) -> list[dict]:
    rows = []
    for n in range(start, start + count):
        row = {
            "name": f"学员{n}",
            "id_number": id_number_make(n),
            "mobile": mobile_make(n),
            "email": "",
            "certificate_type": "principal" if n % 2 else "safety_manager",
            "training_category": "initial",
            "previous_certificate_no": "",
        }
        row.update(overrides)
        rows.append(row)
    return rows
