import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import ValidationError
from django.test import RequestFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_create_user_normalises_mobile_and_hashes_with_argon2(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = User.objects.create_user(mobile="+86 138-1234-5678", name="张三", password="s3cret-pass")
    assert user.mobile == "13812345678"
    assert user.password.startswith("argon2")
    assert user.check_password("s3cret-pass")
    assert str(user) == "张三 (13812345678)"


def test_mobile_is_unique_whatever_the_spelling():
    User.objects.create_user(mobile="13812345678", name="张三")
    with pytest.raises(ValidationError) as exc:
        User.objects.create_user(mobile="+86 13812345678", name="李四")
    assert "mobile" in exc.value.message_dict


def test_invalid_mobile_refused():
    with pytest.raises(ValidationError):
        User.objects.create_user(mobile="12345", name="王五")
    assert not User.objects.exists()


def test_user_without_password_cannot_log_in():
    user = User.objects.create_user(mobile="13812345678", name="张三")
    assert not user.has_usable_password()


def test_authenticate_with_any_spelling_of_the_mobile():
    User.objects.create_user(mobile="13812345678", name="张三", password="s3cret-pass")
    request = RequestFactory().post("/login/")
    assert authenticate(request, username="+86 138 1234 5678", password="s3cret-pass") is not None
    assert authenticate(request, username="13812345678", password="wrong") is None


def test_superuser_flags():
    admin = User.objects.create_superuser(mobile="13900000001", name="管理员", password="x" * 12)
    assert admin.is_staff and admin.is_superuser
