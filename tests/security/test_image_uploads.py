"""Issue #22, finding 7: a 13000 x 13000 pixel PNG of one colour (about 490 KB, 507 MB decoded) is
refused by every image upload from its header, before a pixel is decoded: the payment screenshot,
the attachment 2 documents, the collection QR code and the certificate seal. Decoding fails the
test (``Image.load`` is replaced once the files are built)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageFile

from tests.portal.spreadsheet_files import png_of_one_colour

pytestmark = pytest.mark.django_db

TOO_MANY_PIXELS = "图片像素过多（超过 40 百万像素），请上传较小的图片。"


@pytest.fixture
def bomb(monkeypatch):
    """A function giving a fresh upload of the PNG; from the fixture on, decoding fails the test."""
    data = png_of_one_colour(13000, 13000)
    assert 400_000 < len(data) < 500_000

    def refuse(self, *args, **kwargs):
        pytest.fail("the image was decoded before its pixels were checked")

    Image.init()  # Pillow's plugins make small images of their own when first imported
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)  # decoding any image file
    return lambda name="image.png": SimpleUploadedFile(name, data, "image/png")


def test_payment_screenshot(client, bomb):
    from payments.models import Payment
    from tests.factories import ApprovedTraineeFactory
    from tests.payments.test_views import form_data, pay_url

    trainee = ApprovedTraineeFactory()
    data = form_data([trainee], amount="800.00", screenshot=bomb("pay.png"))
    response = client.post(pay_url(trainee.application), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"screenshot": [TOO_MANY_PIXELS]}
    assert not Payment.objects.exists()


def test_attachment_2_documents(client, programme, bomb):
    from registration.forms import Attachment2Form
    from tests.factories import ApplicationFactory, CompleteTraineeFactory

    trainee = CompleteTraineeFactory(
        application=ApplicationFactory(programme=programme), status="submitted", declared_at=None
    )
    stored = (trainee.photo.name, trainee.id_front.name, trainee.id_back.name)
    data = {
        "education": "bachelor",
        "safety_years": "6",
        "work_unit": "广州示例贸易有限公司",
        "work_unit_address": "广州市天河区示例大道 100 号",
        "mailing_address": "广州市天河区示例大道 100 号",
        "work_history": "2015-2025 广州示例贸易有限公司 安全主任",
        "declaration_name": trainee.name,
        **{name: "on" for name in Attachment2Form(trainee=trainee).fields if name.startswith("consent")},
        "photo": bomb("photo.png"),
        "id_front": bomb("front.png"),
        "id_back": bomb("back.png"),
    }
    response = client.post(reverse("registration:attachment2", args=[trainee.access_key]), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {name: errors[name] for name in ("photo", "id_front", "id_back")} == {
        name: [TOO_MANY_PIXELS] for name in ("photo", "id_front", "id_back")
    }
    trainee.refresh_from_db()
    assert (trainee.photo.name, trainee.id_front.name, trainee.id_back.name) == stored
    assert trainee.declared_at is None


def test_collection_qr_code(admin_client, bomb):
    from payments.models import PaymentSettings

    row = PaymentSettings.objects.create(payee_name="协会", bank_name="银行", account_number="1")
    response = admin_client.post(
        reverse("admin:payments_paymentsettings_change", args=[row.pk]),
        {"payee_name": "协会", "bank_name": "银行", "account_number": "1", "qr_image": bomb("qr.png")},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"qr_image": [TOO_MANY_PIXELS]}
    row.refresh_from_db()
    assert not row.qr_image


def test_certificate_seal(admin_client, bomb):
    from certificates.models import CertificateSettings

    row = CertificateSettings.objects.create()
    response = admin_client.post(
        reverse("admin:certificates_certificatesettings_change", args=[row.pk]),
        {"number_prefix": "AQ", "mailing_working_days": 10, "seal": bomb("seal.png")},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"seal": [TOO_MANY_PIXELS]}
    row.refresh_from_db()
    assert not row.seal
