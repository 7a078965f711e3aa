import pytest
from django.core.exceptions import ValidationError

from portal.validators import mobile_normalize, mobile_validate


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "0086 13812345678",
        "8613812345678",
        " 138-1234-5678 ",
    ],
)
def test_mobile_normalised(raw):
    assert mobile_validate(raw) == "13812345678"


@pytest.mark.parametrize(
    "raw", ["", "12345", "1381234567", "138123456789", "23812345678", "020-12345678", "abc"]
)
def test_mobile_rejected_with_message(raw):
    with pytest.raises(ValidationError) as exc:
        mobile_validate(raw)
    assert exc.value.messages[0]


def test_unallocated_prefix_is_refused():
    # 120 is not a mainland mobile prefix.
    with pytest.raises(ValidationError):
        mobile_validate("12012345678")


def test_normalise_keeps_unknown_text():
    assert mobile_normalize("(139) 0000-0001") == "13900000001"
