"""Encryption at rest of personal data, and keyed hashes to find it again.

* ``FIELD_ENCRYPTION_KEYS``: Fernet keys, newest first. Values are encrypted with the first key and
  decrypted with any of them (:class:`cryptography.fernet.MultiFernet`), so a new key can be put in
  front and the old ones dropped once ``manage.py rotate_encryption_keys`` has re-encrypted everything.
* ``PERSONAL_DATA_HASH_KEY``: the key of the HMAC-SHA256 of :func:`personal_hash`, stored next to an
  encrypted value so that it can be found (exact match only) and kept unique. Changing this key
  makes every stored hash useless: keep it.

:class:`EncryptedCharField` is transparent: the Python value is the clear text, the column holds the
Fernet token (``""`` and ``NULL`` are stored as they are). It cannot be used in lookups (a token is
different each time a value is encrypted); query the hash instead.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, router, transaction

from portal.settings.keys import development_key, fernet_keys_check

__all__ = [
    "DecryptionError",
    "EncryptedCharField",
    "decrypt",
    "development_key",
    "encrypt",
    "encrypted_fields_rotate",
    "fernet_keys_check",
    "personal_hash",
    "rotate",
]


class DecryptionError(Exception):
    """A stored value cannot be decrypted with any of ``FIELD_ENCRYPTION_KEYS``."""


@functools.lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode("ascii")) for key in fernet_keys_check(keys)])


@functools.lru_cache(maxsize=8)
def _primary_fernet(key: str) -> Fernet:
    return Fernet(key.encode("ascii"))


def _keys() -> tuple[str, ...]:
    keys = getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or ()
    if isinstance(keys, str):
        keys = keys.split(",")
    return tuple(str(key).strip() for key in keys if str(key).strip())


def multi_fernet() -> MultiFernet:
    return _multi_fernet(_keys())


def encrypt(value: str) -> str:
    """The Fernet token of ``value`` with the newest key."""
    return multi_fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return multi_fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError(
            "A stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS (a key was removed too early?)."
        ) from exc


def token_is_current(token: str) -> bool:
    """Whether ``token`` is encrypted with the newest key already."""
    keys = _keys()
    multi_fernet()  # checks the keys
    try:
        _primary_fernet(keys[0]).decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """``token`` re-encrypted with the newest key (its original timestamp is kept)."""
    try:
        return multi_fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionError("A stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS.") from exc


def normalise(value) -> str:
    """What is hashed: NFKC, no white space, upper case (``x`` and ``X`` at the end of an ID match)."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return "".join(text.split()).upper()


def personal_hash(value) -> str:
    """Hex HMAC-SHA256 (keyed with ``PERSONAL_DATA_HASH_KEY``) of the normalised ``value``; ``""`` for
    an empty value, so that blanks never match each other."""
    text = normalise(value)
    if not text:
        return ""
    key = getattr(settings, "PERSONAL_DATA_HASH_KEY", "") or ""
    if not key:
        raise ImproperlyConfigured("Set PERSONAL_DATA_HASH_KEY.")
    return hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


class EncryptedCharField(models.CharField):
    """A text field stored encrypted (Fernet, ``FIELD_ENCRYPTION_KEYS``).

    ``max_length`` limits the clear text (forms and model validation); the column is a ``text``
    column holding the token. No lookups except ``isnull``; no index, no uniqueness: keep a
    :func:`personal_hash` next to it for that.
    """

    description = "Text encrypted at rest"

    def __init__(self, *args, **kwargs):
        for option in ("unique", "db_index", "primary_key"):
            if kwargs.get(option):
                raise TypeError(f"EncryptedCharField cannot be {option}: store a personal_hash for that.")
        super().__init__(*args, **kwargs)

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None

    def get_transform(self, lookup_name):
        return None


# ---------------------------------------------------------------------------------------------
# Key rotation


@dataclass
class RotationResult:
    label: str
    rotated: int = 0
    current: int = 0

    @property
    def total(self) -> int:
        return self.rotated + self.current


def encrypted_fields() -> list[tuple[type[models.Model], models.Field]]:
    """Every concrete (model, field) pair stored with :class:`EncryptedCharField`."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedCharField)
    ]


def encrypted_field_rotate(model, field, *, batch_size: int = 1000) -> RotationResult:
    """Re-encrypt one column with the newest key, ``batch_size`` rows per transaction.

    Reads and writes the tokens with plain SQL (no decryption into Python objects); a row changed
    by someone else meanwhile is left as they wrote it (already under the newest key).
    """
    result = RotationResult(label=f"{model._meta.label}.{field.name}")
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table, column, pk = quote(model._meta.db_table), quote(field.column), quote(model._meta.pk.column)
    select = (
        f"SELECT {pk}, {column} FROM {table} WHERE {pk} > %s AND {column} IS NOT NULL "  # noqa: S608
        f"AND {column} <> '' ORDER BY {pk} LIMIT %s"
    )
    update = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s"  # noqa: S608
    last = 0 if model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField") else ""
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(select, [last, batch_size])
            rows = cursor.fetchall()
            if not rows:
                break
            changes = []
            for row_pk, token in rows:
                if token_is_current(token):
                    result.current += 1
                else:
                    changes.append((rotate(token), row_pk, token))
            if changes:
                cursor.executemany(update, changes)
            result.rotated += len(changes)
            last = rows[-1][0]
        if len(rows) < batch_size:
            break
    return result


def encrypted_fields_rotate(*, batch_size: int = 1000) -> list[RotationResult]:
    """Re-encrypt every encrypted column of every model with the newest key."""
    return [
        encrypted_field_rotate(model, field, batch_size=batch_size) for model, field in encrypted_fields()
    ]
