import io

import pytest
from pypdf import PdfReader

from registration.pdf import attachment2_html, attachment2_pdf
from registration.validators import id_number_mask
from tests.factories import CompleteTraineeFactory, TraineeFactory

pytestmark = pytest.mark.django_db


def test_pdf_of_a_complete_attachment2_has_the_data_and_the_photo():
    trainee = CompleteTraineeFactory(
        name="陈大文", work_unit="示例制造有限公司", training_category="refresher"
    )
    content = attachment2_pdf(trainee, full_id=True)
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "陈大文" in text
    assert trainee.id_number in text
    assert "学员信息登记表" in text
    assert "示例制造有限公司" in text
    assert "本人自愿参加" in text
    assert len(reader.pages[0].images) == 1  # the photo


def test_id_number_is_masked_unless_asked_for():
    trainee = CompleteTraineeFactory()
    html = attachment2_html(trainee)
    assert trainee.id_number not in html and id_number_mask(trainee.id_number) in html
    assert trainee.id_number in attachment2_html(trainee, full_id=True)


def test_html_ticks_the_right_boxes_and_embeds_the_photo_as_data():
    trainee = CompleteTraineeFactory(certificate_type="safety_manager", training_category="initial")
    html = attachment2_html(trainee)
    assert "data:image/jpeg;base64," in html
    assert "http://" not in html and "https://" not in html
    assert html.count("✓") == 2


def test_pdf_of_an_empty_attachment2_still_renders():
    trainee = TraineeFactory(name="空白")
    content = attachment2_pdf(trainee)
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "空白" in text and "一寸彩色证件相片" in text
