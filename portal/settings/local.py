"""Local development: ``make run``. Needs nothing set; SQLite and the filesystem broker by default."""

from .base import *  # noqa: F403
from .base import FIELD_ENCRYPTION_KEYS, PERSONAL_DATA_HASH_KEY, VAR_DIR, env
from .keys import development_key, fernet_keys_check

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-development-only-not-secret-6c1f0e9a")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# Development keys derived from the development secret when none are set (never in production).
FIELD_ENCRYPTION_KEYS = fernet_keys_check(FIELD_ENCRYPTION_KEYS or [development_key(SECRET_KEY)])
PERSONAL_DATA_HASH_KEY = PERSONAL_DATA_HASH_KEY or development_key(SECRET_KEY, "personal-data-hash")

# The SQLite database, the filesystem broker and uploads live here: make sure it exists.
VAR_DIR.mkdir(parents=True, exist_ok=True)
