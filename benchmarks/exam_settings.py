"""Settings for the exam load test only (``benchmarks/bench_exams.py``): the test settings with the
database from ``DATABASE_URL`` (a PostgreSQL database or a SQLite file the benchmark prepares)."""

from portal.settings.base import PASSWORD_HASHERS as PRODUCTION_PASSWORD_HASHERS
from portal.settings.test import *  # noqa: F403
from portal.settings.test import DATABASES

# Log-ins cost what they cost in production (Argon2), not the test settings' fast hasher.
PASSWORD_HASHERS = PRODUCTION_PASSWORD_HASHERS

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several gunicorn workers write to one file: wait for the lock instead of failing, take the
    # write lock at BEGIN, and let readers go on while a writer commits.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# Keep connections between requests (each gunicorn thread has its own).
DATABASES["default"]["CONN_MAX_AGE"] = 60

LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
