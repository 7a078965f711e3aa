"""Local development: ``make run``. Needs nothing set; SQLite and the filesystem broker by default."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-development-only-not-secret-6c1f0e9a")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# The SQLite database, the filesystem broker and uploads live here: make sure it exists.
VAR_DIR.mkdir(parents=True, exist_ok=True)
