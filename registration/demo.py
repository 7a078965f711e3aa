"""Demo data of registration: this year's open programme and one unit with three trainees.

All people, numbers and the unit are fictional (ID numbers and the credit code have valid check
digits so the forms accept them). Loaded by ``manage.py demo_data``; safe to run again.
"""

import io
from datetime import date, timedelta

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw
from stdnum.cn import ric, uscc

from portal.models import User

from .consents import ATTACHMENT1_CONSENTS, ATTACHMENT2_CONSENTS
from .models import ApplicantKind, Application, ConsentGiver, Programme, Trainee, TraineeStatus
from .services.personal_data import consents_record, trainee_set_id_number
from .validators import id_number_birth_date, id_number_gender

DEMO_REFERENCE_SUFFIX = "DEMO01"


def _id_number(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def _image(width: int, height: int, colour: tuple[int, int, int], label: str) -> ContentFile:
    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    # A plain silhouette for photos, a card outline for ID copies: enough for the thumbnails.
    if height > width:
        draw.ellipse((width * 0.3, height * 0.15, width * 0.7, height * 0.5), fill=(240, 220, 200))
        draw.rectangle((width * 0.2, height * 0.55, width * 0.8, height), fill=(40, 60, 110))
    else:
        draw.rectangle((20, 20, width - 20, height - 20), outline=(80, 80, 80), width=6)
        draw.text((50, 50), label, fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return ContentFile(out.getvalue(), name=f"{label}.jpg")


def _programme(today: date) -> Programme:
    year = today.year
    programme, _created = Programme.objects.get_or_create(
        year=year,
        name=f"{year}年度非高危行业生产经营单位主要负责人和安全生产管理人员线上培训",
        defaults={
            "opens_on": date(year, 1, 1),
            "closes_on": date(year, 12, 31),
            "fee_initial_fen": 80_000,
            "fee_refresher_fen": 30_000,
            "hours_initial": 32,
            "hours_refresher": 12,
            "study_window_days": 30,
            "exam_pass_mark": 80,
            "exam_resits": 2,
        },
    )
    return programme


TRAINEES = [
    # name, first 17 digits of the ID number, mobile, certificate type, category, status, reason
    ("张演示", "44010419800315001", "13700000011", "principal", "initial", TraineeStatus.APPROVED, ""),
    ("李示例", "44010619850720002", "13700000012", "safety_manager", "initial", TraineeStatus.SUBMITTED, ""),
    (
        "王样本",
        "44011119900101003",
        "13700000013",
        "safety_manager",
        "refresher",
        TraineeStatus.RETURNED,
        "身份证复印件不清晰，请重新上传。",
    ),
]


def load(*, stdout) -> None:
    today = timezone.localdate()
    programme = _programme(today)
    reference = f"{programme.year}{DEMO_REFERENCE_SUFFIX}"
    if Application.objects.filter(reference=reference).exists():
        stdout.write(f"Demo registration {reference} already there.")
        return
    first17 = "91440104MA59CDEM0"
    application = Application.objects.create(
        programme=programme,
        reference=reference,
        kind=ApplicantKind.UNIT,
        unit_name="示例市安康贸易有限公司",
        industry="F",
        contact_name="陈联系",
        contact_phone="13700000010",
        contact_email="contact@example.org",
        mail_recipient="陈联系",
        mail_phone="13700000010",
        mail_address="示例市中心区安康路 8 号 3 楼",
        invoice_title="示例市安康贸易有限公司",
        invoice_tax_id=first17 + uscc.calc_check_digit(first17),
        invoice_email="invoice@example.org",
        submitted_ip="127.0.0.1",
    )
    reviewer = User.objects.filter(mobile="13900000002").first()
    now = timezone.now()
    for row, (name, id17, mobile, certificate, category, status, reason) in enumerate(TRAINEES, start=1):
        number = _id_number(id17)
        trainee = Trainee(
            application=application,
            programme=programme,
            row_number=row,
            name=name,
            mobile=mobile,
            certificate_type=certificate,
            training_category=category,
            previous_certificate_no="示例安培〔2023〕0001" if category == "refresher" else "",
            gender=id_number_gender(number),
            birth_date=id_number_birth_date(number),
            education="bachelor",
            safety_years=row * 3,
            work_unit=application.unit_name,
            work_unit_address=application.mail_address,
            mailing_address=application.mail_address,
            work_history=f"{2010 + row}年至今 示例市安康贸易有限公司 安全生产管理",
            declaration_name=name,
            declared_at=now - timedelta(days=2),
            declared_ip="127.0.0.1",
            status=status,
            status_reason=reason,
            status_changed_at=now - timedelta(days=1),
            reviewed_by=reviewer if status != TraineeStatus.SUBMITTED else None,
        )
        trainee_set_id_number(trainee=trainee, id_number=number)
        trainee.photo.save("photo.jpg", _image(354, 496, (230, 235, 245), "photo"), save=False)
        trainee.id_front.save("front.jpg", _image(856, 540, (235, 240, 235), "ID front"), save=False)
        trainee.id_back.save("back.jpg", _image(856, 540, (240, 235, 235), "ID back"), save=False)
        trainee.save()
        # As if given on the forms: the contact for the roster, the trainee on attachment 2.
        consents_record(
            trainees=[trainee],
            kinds=ATTACHMENT1_CONSENTS,
            given_by=ConsentGiver.CONTACT,
            ip="127.0.0.1",
            now=application.submitted_at,
        )
        consents_record(
            trainees=[trainee],
            kinds=ATTACHMENT2_CONSENTS,
            given_by=ConsentGiver.TRAINEE,
            ip="127.0.0.1",
            now=trainee.declared_at,
        )
    stdout.write(f"Demo registration {reference}: {application.unit_name}, {len(TRAINEES)} trainees.")
