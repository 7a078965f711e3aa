"""Encryption at rest (portal.crypto): the column holds tokens, keys rotate, hashes find values."""

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from portal import crypto
from portal.settings.keys import development_key, fernet_keys_check
from registration.models import Trainee
from tests.factories import TraineeFactory, id_number_make

BASE = Path(__file__).resolve().parents[2]


def _raw_id_column(trainee_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM registration_trainee WHERE id = %s", [trainee_id])
        return cursor.fetchone()[0]


def test_encrypt_decrypt_round_trip_with_a_fresh_token_each_time():
    first, second = crypto.encrypt("440106198001010011"), crypto.encrypt("440106198001010011")
    assert first != second and "440106" not in first
    assert crypto.decrypt(first) == crypto.decrypt(second) == "440106198001010011"


def test_personal_hash_is_keyed_normalised_and_blank_for_blank(settings):
    number = id_number_make(7)
    lower = number[:-1] + number[-1].lower()
    assert crypto.personal_hash(number) == crypto.personal_hash(f" {lower} ")
    assert len(crypto.personal_hash(number)) == 64
    assert crypto.personal_hash("") == crypto.personal_hash(None) == ""
    before = crypto.personal_hash(number)
    settings.PERSONAL_DATA_HASH_KEY = "another-key-" * 4
    assert crypto.personal_hash(number) != before
    settings.PERSONAL_DATA_HASH_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        crypto.personal_hash(number)


@pytest.mark.django_db
def test_the_column_holds_ciphertext_only_and_the_model_the_clear_text():
    number = id_number_make(42)
    trainee = TraineeFactory(id_number=number)
    raw = _raw_id_column(trainee.pk)
    assert number not in raw and number[:6] not in raw and number[-4:] not in raw
    assert crypto.decrypt(raw) == number
    assert Trainee.objects.get(pk=trainee.pk).id_number == number
    assert list(Trainee.objects.filter(pk=trainee.pk).values_list("id_number", flat=True)) == [number]
    # Blank stays blank (a purged row), and is not mistaken for a token.
    Trainee.objects.filter(pk=trainee.pk).update(id_number="")
    assert _raw_id_column(trainee.pk) == "" and Trainee.objects.get(pk=trainee.pk).id_number == ""


@pytest.mark.django_db
def test_lookups_on_the_encrypted_field_are_refused():
    with pytest.raises(FieldError):
        list(Trainee.objects.filter(id_number="440106198001010011"))
    with pytest.raises(FieldError):
        list(Trainee.objects.filter(id_number__in=["440106198001010011"]))
    with pytest.raises(FieldError):
        list(Trainee.objects.filter(id_number__startswith="4401"))
    assert list(Trainee.objects.filter(id_number__isnull=True)) == []


def test_field_cannot_be_indexed_or_unique():
    with pytest.raises(TypeError):
        crypto.EncryptedCharField(max_length=18, unique=True)
    with pytest.raises(TypeError):
        crypto.EncryptedCharField(max_length=18, db_index=True)


@pytest.mark.django_db
def test_a_value_from_an_unknown_key_fails_loudly(settings):
    trainee = TraineeFactory()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionError):
        Trainee.objects.get(pk=trainee.pk)


@pytest.mark.django_db
def test_key_rotation_old_key_still_decrypts_then_only_the_new_one_is_needed(settings):
    old_key, new_key = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    trainees = TraineeFactory.create_batch(5)
    numbers = {t.pk: t.id_number for t in trainees}
    tokens_before = {t.pk: _raw_id_column(t.pk) for t in trainees}

    # 1. New key in front: old rows still read, new writes use the new key.
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert {t.pk: t.id_number for t in Trainee.objects.filter(pk__in=numbers)} == numbers
    fresh = TraineeFactory()
    assert Fernet(new_key.encode()).decrypt(_raw_id_column(fresh.pk).encode()).decode() == fresh.id_number

    # 2. Rotate (batches of 2 to cross batch boundaries); running it again rotates nothing.
    out = StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "2", stdout=out)
    assert "registration.Trainee.id_number: 5 re-encrypted, 1 already on the newest key" in out.getvalue()
    assert crypto.encrypted_fields_rotate(batch_size=2)[0].rotated == 0
    for pk, before in tokens_before.items():
        assert _raw_id_column(pk) != before

    # 3. Old key dropped: everything still decrypts with the new key alone.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert {t.pk: t.id_number for t in Trainee.objects.filter(pk__in=numbers)} == numbers
    assert Trainee.objects.get(pk=fresh.pk).id_number == fresh.id_number


@pytest.mark.django_db
def test_rotation_leaves_a_concurrently_changed_row_alone(settings, monkeypatch):
    old_key, new_key = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    trainee = TraineeFactory()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    real_rotate = crypto.rotate

    def rotate_while_someone_writes(token):
        # Someone saves a new number between the read and the write of the batch.
        Trainee.objects.filter(pk=trainee.pk).update(id_number="440106198001010011")
        return real_rotate(token)

    monkeypatch.setattr(crypto, "rotate", rotate_while_someone_writes)
    crypto.encrypted_fields_rotate()
    assert Trainee.objects.get(pk=trainee.pk).id_number == "440106198001010011"


def test_key_checks():
    key = Fernet.generate_key().decode()
    assert fernet_keys_check(f" {key} , {development_key('x')} ") == [key, development_key("x")]
    with pytest.raises(ImproperlyConfigured):
        fernet_keys_check([])
    with pytest.raises(ImproperlyConfigured, match="key 2"):
        fernet_keys_check([key, "not-a-key"])
    assert development_key("a") == development_key("a") != development_key("b")


def _production_check(env_overrides: dict, drop=()):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "SECRET_KEY": "x" * 20 + "-production-secret-for-the-test-only-" + "y" * 20,
        "ALLOWED_HOSTS": "training.example.org",
        "DATABASE_URL": "postgres://portal:pw@db.example.org:5432/portal",
        "CELERY_BROKER_URL": "redis://redis.example.org:6379/0",
        "EMAIL_URL": "smtp+tls://user:pw@mail.example.org:587",
        "DEFAULT_FROM_EMAIL": "portal@example.org",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PERSONAL_DATA_HASH_KEY": "h" * 40,
        **env_overrides,
    }
    for name in drop:
        env.pop(name)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_needs_the_keys():
    assert _production_check({}).returncode == 0
    for missing in ("FIELD_ENCRYPTION_KEYS", "PERSONAL_DATA_HASH_KEY"):
        result = _production_check({}, drop=[missing])
        assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr, missing
    bad = _production_check({"FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"})
    assert bad.returncode != 0 and "FIELD_ENCRYPTION_KEYS" in bad.stderr
    short = _production_check({"PERSONAL_DATA_HASH_KEY": "short"})
    assert short.returncode != 0 and "PERSONAL_DATA_HASH_KEY" in short.stderr
