"""The SQLite options every settings module applies (no Django imports: settings load first).

SQLite is the embedded default (``make run``: the web server's threads, the Celery worker and beat
share one file). With SQLite's defaults parallel requests fail with "database is locked": a
transaction that reads and then writes cannot get the write lock while another one holds it, and
SQLite refuses it at once instead of waiting. So:

- ``journal_mode=WAL``: readers do not block the writer nor the writer the readers (kept in the
  file; an in-memory database, as in the tests, stays in its "memory" mode without an error);
- ``synchronous=NORMAL``: with WAL, a power cut can lose the last commits but never corrupts;
- ``transaction_mode=IMMEDIATE``: every ``transaction.atomic`` block takes the write lock when it
  begins, so writers queue up instead of deadlocking halfway;
- ``timeout``: how long (seconds) a writer waits for the lock before giving up.
"""

SQLITE_ENGINE = "django.db.backends.sqlite3"
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def sqlite_options_apply(database: dict) -> dict:
    """``database`` (one entry of ``DATABASES``) with :data:`SQLITE_OPTIONS` when it is SQLite;
    options given in ``DATABASE_URL`` (``?timeout=60``) win. Other databases are left alone."""
    if database.get("ENGINE") == SQLITE_ENGINE:
        database["OPTIONS"] = {**SQLITE_OPTIONS, **database.get("OPTIONS", {})}
    return database
