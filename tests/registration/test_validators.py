import datetime
import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from PIL import Image, ImageDraw
from stdnum.cn import ric, uscc

from registration.validators import (
    HIGH_RISK_INDUSTRIES,
    INDUSTRY_CHOICES,
    id_number_birth_date,
    id_number_gender,
    id_number_mask,
    id_number_validate,
    industry_validate,
    photo_colour_validate,
    photo_face_validate,
    photo_is_grayscale,
    uscc_area_code,
    uscc_area_name,
    uscc_in_area,
    uscc_validate,
)
from tests.factories import id_number_make, uscc_make


def with_check_digit(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def error_codes(excinfo) -> set[str]:
    return {error.code for error in excinfo.value.error_list}


class TestIdNumber:
    def test_valid_numbers_pass_and_are_normalised(self):
        number = with_check_digit("11010519491231002")
        assert number == "11010519491231002X"  # a check digit of 10 is written X
        assert id_number_validate(number.lower()) == number
        assert id_number_validate(" 1101 0519 4912 3100 2x ") == number

    @pytest.mark.parametrize("n", range(0, 200, 17))
    def test_generated_numbers_pass(self, n):
        number = id_number_make(n)
        assert id_number_validate(number) == number

    def test_wrong_check_digit_is_refused(self):
        number = with_check_digit("44010619800101001")
        wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
        with pytest.raises(ValidationError) as excinfo:
            id_number_validate(wrong)
        assert error_codes(excinfo) == {"id_checksum"}
        assert wrong in excinfo.value.messages[0]

    def test_transposed_digits_are_refused(self):
        number = with_check_digit("44010619800101021")
        swapped = number[:14] + number[15] + number[14] + number[16:]
        with pytest.raises(ValidationError):
            id_number_validate(swapped)

    @pytest.mark.parametrize("first17", ["44010619801301001", "44010619800230001", "44010630000101001"])
    def test_impossible_birth_date_is_refused(self, first17):
        with pytest.raises(ValidationError) as excinfo:
            id_number_validate(with_check_digit(first17))
        assert error_codes(excinfo) == {"id_birth_date"}

    def test_unknown_region_is_refused(self):
        with pytest.raises(ValidationError) as excinfo:
            id_number_validate(with_check_digit("99999919800101001"))
        assert error_codes(excinfo) == {"id_region"}

    @pytest.mark.parametrize(
        ("value", "code"),
        [
            ("", "id_required"),
            ("4401061980", "id_length"),
            ("4401061980010100123", "id_length"),
            ("44010619800101001A", "id_format"),
            ("4401O6198001010013", "id_format"),
            ("44010680010100A", "id_format"),
        ],
    )
    def test_bad_format_is_refused(self, value, code):
        with pytest.raises(ValidationError) as excinfo:
            id_number_validate(value)
        assert error_codes(excinfo) == {code}

    def test_fifteen_digit_number_is_upgraded(self):
        upgraded = id_number_validate("110101800101001")
        assert upgraded == with_check_digit("11010119800101001")
        assert len(upgraded) == 18
        assert ric.is_valid(upgraded)

    def test_fifteen_digit_number_with_impossible_date_is_refused(self):
        with pytest.raises(ValidationError):
            id_number_validate("440106801301001")

    def test_message_names_the_problem(self):
        with translation.override("en"):
            with pytest.raises(ValidationError) as excinfo:
                id_number_validate("123")
            assert "18 characters" in excinfo.value.messages[0]

    def test_birth_date_and_gender(self):
        male = with_check_digit("44010619800315011")
        female = with_check_digit("44010619911224002")
        assert id_number_birth_date(male) == datetime.date(1980, 3, 15)
        assert id_number_gender(male) == "M"
        assert id_number_birth_date(female) == datetime.date(1991, 12, 24)
        assert id_number_gender(female) == "F"

    def test_mask_shows_first_and_last_four(self):
        assert id_number_mask("44010619800101123X") == "4401**********123X"
        assert id_number_mask("") == ""
        assert "1980" not in id_number_mask("440106198001011234")


class TestUscc:
    def test_valid_codes(self):
        assert uscc_validate("91110000600037341L") == "91110000600037341L"
        assert uscc_validate("9111 0000 6000 3734 1l") == "91110000600037341L"
        code = uscc_make(777)
        assert uscc_validate(code.lower()) == code

    def test_wrong_check_character(self):
        first17 = "91440101000000777"
        right = uscc.calc_check_digit(first17)
        wrong = "0" if right != "0" else "1"
        with pytest.raises(ValidationError) as excinfo:
            uscc_validate(first17 + wrong)
        assert error_codes(excinfo) == {"uscc_checksum"}

    @pytest.mark.parametrize(
        ("value", "code"),
        [("", "uscc_required"), ("9111000060003734", "uscc_length"), ("ABCDEFGH600037341L", "uscc_format")],
    )
    def test_bad_codes(self, value, code):
        with pytest.raises(ValidationError) as excinfo:
            uscc_validate(value)
        assert error_codes(excinfo) == {code}


class TestIndustry:
    def test_non_high_risk_industries_pass(self):
        for code, _label in INDUSTRY_CHOICES:
            if code not in HIGH_RISK_INDUSTRIES:
                assert industry_validate(code) == code

    @pytest.mark.parametrize("code", sorted(HIGH_RISK_INDUSTRIES))
    def test_high_risk_industries_are_refused_with_the_notice_explanation(self, code):
        with translation.override("en"):
            with pytest.raises(ValidationError) as excinfo:
                industry_validate(code)
            message = excinfo.value.messages[0]
        assert error_codes(excinfo) == {"industry_high_risk"}
        assert "high-risk" in message
        assert "mining" in message and "construction" in message and "road transport" in message

    def test_high_risk_list_covers_the_notice(self):
        labels = {code: str(label) for code, label in INDUSTRY_CHOICES}
        assert {"B", "E", "G54", "C31-C32", "HAZ"} <= HIGH_RISK_INDUSTRIES
        assert set(HIGH_RISK_INDUSTRIES) <= set(labels)

    def test_unknown_code(self):
        with pytest.raises(ValidationError):
            industry_validate("Z9")


# -- the colour photo (the notice asks for a recent colour photo) --------------------------------


def _portrait(background=(255, 255, 255), face=(224, 172, 150), clothes=(30, 30, 40)) -> Image.Image:
    """A one-inch ID photo's layout: plain background, a face, dark clothes."""
    image = Image.new("RGB", (354, 496), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((107, 90, 247, 270), fill=face)
    draw.rectangle((40, 330, 314, 496), fill=clothes)
    return image


def _jpeg_round_trip(image: Image.Image) -> Image.Image:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return Image.open(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize(
    "image",
    [
        _portrait(),  # white background, colour face
        _portrait(background=(67, 142, 219)),  # the usual blue background
        _jpeg_round_trip(_portrait()),
        _portrait().convert("P"),  # a palette PNG
        _portrait().convert("CMYK"),
    ],
    ids=["white background", "blue background", "jpeg", "palette", "cmyk"],
)
def test_colour_photos_pass(image):
    assert not photo_is_grayscale(image)
    assert photo_colour_validate(image) is image


@pytest.mark.parametrize(
    "image",
    [
        _portrait().convert("L"),
        _portrait().convert("LA"),
        _portrait().convert("1"),
        _portrait().convert("L").convert("RGB"),  # black and white saved as colour
        _jpeg_round_trip(_portrait().convert("L").convert("RGB")),  # with JPEG's colour noise
        _portrait(background=(250, 250, 250), face=(200, 196, 192), clothes=(40, 40, 42)),  # nearly equal
    ],
    ids=["L", "LA", "1", "gray as RGB", "gray as RGB jpeg", "nearly gray"],
)
def test_grayscale_photos_are_refused_with_a_clear_message(image):
    assert photo_is_grayscale(image)
    with pytest.raises(ValidationError) as excinfo:
        photo_colour_validate(image)
    assert excinfo.value.code == "photo_grayscale"
    assert excinfo.value.messages == ["照片是黑白（灰度）照片。通知要求近期彩色照片：请上传彩色一寸证件照。"]


# -- the programme's area (characters 3-8 of the credit code) ------------------------------------


def test_credit_code_area():
    first17 = "91440106000000777"
    code = first17 + uscc.calc_check_digit(first17)
    assert uscc_area_code(code) == "440106"
    assert uscc_in_area(code, prefix="4401") and uscc_in_area(code, prefix="44")
    assert not uscc_in_area(code, prefix="4403")
    assert uscc_area_name("4401") == "广州市" and uscc_area_name("440106") == "天河区"
    assert uscc_area_name("9999") == "9999"  # unknown: the digits themselves


# -- the registered photo's face gate (issue #23: identity checks compare snapshots with it) -------


class TestPhotoFaceGate:
    @pytest.fixture(autouse=True)
    def _gate_on(self, settings):
        settings.PORTAL_FACE_PHOTO_GATE = True
        settings.PORTAL_FACE_PHOTO_MIN_SHARE = 0.08

    @staticmethod
    def _image(data: bytes):
        return Image.open(io.BytesIO(data)).convert("RGB")

    def test_one_large_face_passes(self):
        from tests.factories.faces import face_photo_bytes

        image = self._image(face_photo_bytes())
        assert photo_face_validate(image) is image

    @pytest.mark.parametrize(
        ("make", "code", "message"),
        [
            (
                "two_faces_bytes",
                "photo_many_faces",
                "The photo shows 2 faces. Upload a one-inch ID photo of yourself alone.",
            ),
            (
                "small_face_bytes",
                "photo_face_small",
                "The face in the photo is too small (1% of the photo; at least 8%). Upload a one-inch ID "
                "photo in which the face fills most of the picture.",
            ),
        ],
    )
    def test_two_faces_or_a_small_face_are_refused(self, make, code, message):
        from tests.factories import faces

        with pytest.raises(ValidationError) as excinfo:
            photo_face_validate(self._image(getattr(faces, make)()))
        assert excinfo.value.code == code
        with translation.override("en"):
            assert excinfo.value.messages == [message]

    def test_a_photo_without_a_face_is_refused_through_the_upload_check(self):
        from registration.documents import photo_clean
        from tests.factories.registration import upload

        with pytest.raises(ValidationError) as excinfo:
            photo_clean(upload())  # the generated one-colour photo of the other tests
        assert excinfo.value.code == "photo_no_face"

    def test_the_gate_is_off_unless_set(self, settings):
        from registration.documents import photo_clean
        from tests.factories.registration import upload

        settings.PORTAL_FACE_PHOTO_GATE = False
        assert photo_clean(upload()).size > 0

    def test_production_turns_the_gate_on(self):
        source = (Path(__file__).resolve().parents[2] / "portal/settings/production.py").read_text()
        assert 'PORTAL_FACE_PHOTO_GATE = env.bool("PORTAL_FACE_PHOTO_GATE", default=True)' in source
