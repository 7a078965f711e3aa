"""Registration data: programmes open today, unit applications, trainees at each step (submitted,
approved, paid, attachment 2 complete), the form data of attachment 1 and image uploads."""

import datetime
import io

import factory
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from portal.crypto import personal_hash
from registration.models import ApplicantKind, Application, Programme, Trainee, TraineeStatus
from registration.validators import id_number_mask

from .people import id_number_make, mobile_make, uscc_make


def image_bytes(width=354, height=496, fmt="JPEG", color=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format=fmt, **save)
    return out.getvalue()


def upload(name="photo.jpg", content=None, content_type="image/jpeg", **image) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content if content is not None else image_bytes(**image), content_type)


class ProgrammeFactory(factory.django.DjangoModelFactory):
    """This year's programme, open for registration today (fees, hours and windows: model defaults)."""

    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"线上培训项目 {n}")
    year = factory.LazyFunction(lambda: timezone.localdate().year)
    opens_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    closes_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A unit's attachment 1 with valid phones and credit code; each unit has its own name."""

    class Meta:
        model = Application

    programme = factory.SubFactory(ProgrammeFactory)
    reference = factory.Sequence(lambda n: f"T{n:09d}")
    kind = ApplicantKind.UNIT
    unit_name = factory.Sequence(lambda n: f"示例制造有限公司{n}")
    industry = "C"
    contact_name = "王联系"
    contact_phone = "13700009999"
    contact_email = "contact@example.org"
    mail_recipient = "王联系"
    mail_phone = "13700009999"
    mail_address = "广州市越秀区示例路 1 号"
    invoice_title = factory.SelfAttribute("unit_name")
    invoice_tax_id = factory.Sequence(uscc_make)
    invoice_email = "invoice@example.org"


class TraineeFactory(factory.django.DjangoModelFactory):
    """A roster row just submitted (awaiting review): a principal, initial training."""

    class Meta:
        model = Trainee

    application = factory.SubFactory(ApplicationFactory)
    programme = factory.SelfAttribute("application.programme")
    row_number = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"学员{n}")
    id_number = factory.Sequence(id_number_make)
    # Set with the ID number, as registration's trainee_set_id_number does.
    id_number_hash = factory.LazyAttribute(lambda o: personal_hash(o.id_number))
    id_number_masked = factory.LazyAttribute(lambda o: id_number_mask(o.id_number))
    mobile = factory.Sequence(mobile_make)
    email = factory.Sequence(lambda n: f"trainee{n}@example.org")
    certificate_type = "principal"
    training_category = "initial"
    status = TraineeStatus.SUBMITTED


class ApprovedTraineeFactory(TraineeFactory):
    """Approved by the reviewer, fee not yet paid (pass ``paid_at`` or use PaidTraineeFactory)."""

    status = TraineeStatus.APPROVED


class PaidTraineeFactory(ApprovedTraineeFactory):
    """Approved and paid: the state in which a study account is opened."""

    paid_at = factory.LazyFunction(timezone.now)


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


class ReturnReasonFactory(factory.django.DjangoModelFactory):
    """A preset return / reject reason (the migration seeds the usual ones)."""

    class Meta:
        model = "registration.ReturnReason"
        django_get_or_create = ("text",)

    text = factory.Sequence(lambda n: f"预设理由{n}")
    order = factory.Sequence(lambda n: 1000 + n)
    active = True


# The consent checkboxes as posted (registration.consents): attachment 1 asks for the ID-number
# consent, attachment 2 for all three.
ATTACHMENT1_CONSENTS_POST = {"consent_id_number": "on"}
ATTACHMENT2_CONSENTS_POST = {"consent_id_number": "on", "consent_photo": "on", "consent_id_copy": "on"}
ALL_CONSENTS = ("id_number", "photo", "id_copy")


def applicant_data(**overrides) -> dict:
    """Attachment 1's applicant fields as the form posts them."""
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
    """``count`` roster rows with valid ID numbers and mobiles, numbered from ``start``."""
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
