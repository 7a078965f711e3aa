"""Key helpers the settings modules use (no Django imports: settings load before Django is set up).

:mod:`portal.crypto` uses the keys; see it for what each is for.
"""

import base64
import hashlib

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured


def development_key(secret: str, purpose: str = "field-encryption") -> str:
    """A deterministic Fernet key derived from ``secret``: local development and tests only."""
    digest = hashlib.sha256(f"{purpose}:{secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def fernet_keys_check(keys) -> list[str]:
    """The keys (newest first) as a list of strings, or ``ImproperlyConfigured`` naming the bad one."""
    if isinstance(keys, str):
        keys = keys.split(",")
    keys = [str(key).strip() for key in keys or [] if str(key).strip()]
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS needs at least one Fernet key.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe base64 bytes)."
            ) from exc
    return keys
