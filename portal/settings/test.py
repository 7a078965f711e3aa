"""Settings for pytest. SQLite and the in-process (eager) Celery unless the environment points
``DATABASE_URL`` / ``CELERY_BROKER_URL`` at the real services."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import FIELD_ENCRYPTION_KEYS, PERSONAL_DATA_HASH_KEY, STORAGES, env
from .database import sqlite_options_apply
from .keys import development_key, fernet_keys_check

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-used-anywhere-else-7d3e"
ALLOWED_HOSTS = ["*"]
FIELD_ENCRYPTION_KEYS = fernet_keys_check(FIELD_ENCRYPTION_KEYS or [development_key(SECRET_KEY)])
PERSONAL_DATA_HASH_KEY = PERSONAL_DATA_HASH_KEY or development_key(SECRET_KEY, "personal-data-hash")

# The same SQLite options as `make run` (WAL itself needs a file: in memory it stays "memory").
DATABASES = {"default": sqlite_options_apply(env.db("DATABASE_URL", default="sqlite:///:memory:"))}
DATABASES["default"]["TEST"] = (
    {"NAME": env("TEST_DATABASE_NAME", default=None)} if env("TEST_DATABASE_NAME", default=None) else {}
)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "portal.notifications.LocmemSmsBackend"

_tmp = Path(tempfile.mkdtemp(prefix="portal-test-"))
MEDIA_ROOT = _tmp / "media"
STATIC_ROOT = _tmp / "static"
STATIC_ROOT.mkdir()
PRIVATE_MEDIA_ROOT = _tmp / "private"
STORAGES = {
    **STORAGES,
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
}

# Tasks run in-process unless a test starts a real worker (tests marked ``services``).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

LOGGING = {
    **LOGGING,  # noqa: F405
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
