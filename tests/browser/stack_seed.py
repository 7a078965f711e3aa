"""Test data for the smoke test through the production-like stack (tests/browser/test_serving_stack.py).

Run inside the stack's environment (production settings, its PostgreSQL database and folders):
``python scripts/serve_prod.py run python tests/browser/stack_seed.py VIDEO.mp4``. Builds, with the
shared test factories, a trainee with an open study account and a video lesson in their plan, a
trainee's attachment 2 documents, a certificate with its PDF and a reviewer; prints what the test
needs as JSON.
"""

import io
import json
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.core.files.base import ContentFile  # noqa: E402
from pypdf import PdfWriter  # noqa: E402

from portal.roles import REVIEWER  # noqa: E402
from tests.factories import (  # noqa: E402
    PASSWORD,
    CertificateFactory,
    CompleteTraineeFactory,
    EnrollmentFactory,
    LessonFactory,
    StaffFactory,
    plan_with,
)


def _pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)  # A4
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def main(video: Path) -> dict:
    lesson = LessonFactory(
        kind="video",
        title="安全生产法视频课",
        class_hours=Decimal("1"),
        body_html="",
        video=ContentFile(video.read_bytes(), name="lesson.mp4"),
        video_duration_seconds=5,
    )
    plan_with(lesson.course)
    enrollment = EnrollmentFactory()
    trainee = CompleteTraineeFactory(name="王𠮷")
    certificate = CertificateFactory()
    certificate.pdf.save("certificate.pdf", ContentFile(_pdf()))
    reviewer = StaffFactory(role=REVIEWER)
    return {
        "trainee_mobile": enrollment.user.mobile,
        "staff_mobile": reviewer.mobile,
        "password": PASSWORD,
        "enrollment": enrollment.pk,
        "lesson": lesson.pk,
        "video_name": lesson.video.name,
        "trainee": trainee.pk,
        "id_front_name": trainee.id_front.name,
        "certificate": certificate.pk,
        "certificate_number": certificate.number,
        "certificate_pdf_name": certificate.pdf.name,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
