"""Attachment 2 uploads: one bad file never discards the good ones, the size limit is stated next to
each input, large phone photos are scaled down, and after saving the signature and consents show as
given."""

import pytest
from django.urls import reverse

from portal.models import AuditEntry
from registration.models import Trainee
from tests.factories import TraineeFactory, upload

from .test_views import attachment2_post, programme  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def _url(trainee) -> str:
    return reverse("registration:attachment2", args=[trainee.access_key])


def test_each_file_input_states_the_size_limit(client, programme):  # noqa: F811
    trainee = TraineeFactory(programme=programme)
    html = client.get(_url(trainee)).content.decode()
    assert html.count("不超过 5 MB；手机拍摄的较大照片（20 MB 以内）会自动缩小。") == 3
    client.cookies["django_language"] = "en"
    html = client.get(_url(trainee), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count("At most 5 MB; a larger phone photo (up to 20 MB) is scaled down automatically.") == 3


def test_a_bad_upload_keeps_the_good_ones(client, programme):  # noqa: F811
    trainee = TraineeFactory(programme=programme)
    response = client.post(
        _url(trainee),
        attachment2_post(trainee, id_back=upload("back.jpg", content=b"<html>not an image</html>")),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "不是 JPEG 或 PNG 图片" in html  # the bad one, under its field
    assert (
        "已保存：一寸彩色证件照（25×35 mm）、身份证正面（人像面），无需重新选择；请改正其余内容后提交。"
        in html
    )
    trainee.refresh_from_db()
    assert trainee.photo and trainee.id_front and not trainee.id_back
    assert trainee.declared_at is None  # nothing signed yet
    assert AuditEntry.objects.filter(action="trainee.documents_kept").count() == 1
    # the kept documents show as uploaded; only the bad one is chosen again
    assert html.count("✓ 已上传") == 2
    response = client.post(_url(trainee), attachment2_post(trainee, photo=None, id_front=None), follow=True)
    trainee.refresh_from_db()
    assert trainee.attachment2_complete


def test_other_mistakes_keep_the_valid_files(client, programme):  # noqa: F811
    """A field mistake (caught before the images are read) keeps the uploads all the same."""
    trainee = TraineeFactory(programme=programme)
    response = client.post(_url(trainee), attachment2_post(trainee, education=""))
    assert "已保存：" in response.content.decode()
    trainee.refresh_from_db()
    assert trainee.photo and trainee.id_front and trainee.id_back and trainee.declared_at is None


def test_large_phone_photo_is_scaled_down_not_refused(client, programme, settings):  # noqa: F811
    settings.REGISTRATION_MAX_UPLOAD_BYTES = 300_000  # a small stored limit, a big photo
    trainee = TraineeFactory(programme=programme)
    import io
    import os

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (1600, 1200), os.urandom(1600 * 1200 * 3)).save(out, "JPEG", quality=95)
    assert out.tell() > 1_000_000
    response = client.post(
        _url(trainee), attachment2_post(trainee, id_front=upload("front.jpg", content=out.getvalue()))
    )
    assert response.status_code == 302
    trainee.refresh_from_db()
    assert trainee.id_front.size <= 300_000


def test_after_saving_the_signature_and_consents_show_as_given(client, programme):  # noqa: F811
    trainee = TraineeFactory(programme=programme)
    client.post(_url(trainee), attachment2_post(trainee))
    trainee = Trainee.objects.get(pk=trainee.pk)
    assert trainee.declared_at
    form = client.get(_url(trainee)).context["form"]
    assert form["declaration_name"].value() == trainee.name
    assert all(field.value() for field in form.consent_fields)
    html = client.get(_url(trainee)).content.decode()
    assert f"已由 {trainee.name} 于" in html and 'id="declaration-given"' in html
    assert html.count("checked") >= len(form.consent_fields)
