"""Settings for ``bench_learning`` only: the portal served by gunicorn with a prepared database.

SQLite in a temp dir (``BENCH_LEARNING_DB``) unless ``DATABASE_URL`` is set; WAL and immediate
transactions so that several gunicorn workers can write concurrently. Adds a bench-only bare view
(``benchmarks.learning_urls``); nothing here reaches production code.
"""

import os
import tempfile

from portal.settings.test import *  # noqa: F403
from portal.settings.test import LOGGING, env

ROOT_URLCONF = "benchmarks.learning_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
CELERY_TASK_ALWAYS_EAGER = True

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    # bench_learning works in a throw-away database next to the configured one ("test_<name>").
    if os.environ.get("BENCH_LEARNING_PG_NAME"):
        DATABASES["default"]["NAME"] = os.environ["BENCH_LEARNING_PG_NAME"]
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get(
                "BENCH_LEARNING_DB", os.path.join(tempfile.gettempdir(), "bench-learning.sqlite3")
            ),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Persistent connections, as in production (portal.settings.production: CONN_MAX_AGE).
            "CONN_MAX_AGE": 600,
        }
    }

LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "ERROR"}}
