"""Backup, wipe, restore, compare: on SQLite everywhere, on PostgreSQL where it is configured.

Runs ``manage.py`` in subprocesses against a database of its own (never the test database).
"""

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

BASE = Path(__file__).resolve().parents[2]

SNAPSHOT = """
import hashlib, json
from pathlib import Path
from django.apps import apps
from django.conf import settings
out = {"tables": {}, "files": {}}
for model in apps.get_models():
    rows = list(model.objects.order_by("pk").values_list())
    out["tables"][model._meta.db_table] = [len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()]
for root in (settings.MEDIA_ROOT, settings.PRIVATE_MEDIA_ROOT):
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            out["files"][str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
print(json.dumps(out))
"""

SEED = """
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from portal.models import User, AuditEntry
User.objects.create_user(mobile="13812345678", name="张三", password="pw-123456789")
User.objects.create_user(mobile="13912345678", name="𠮷田", email="a@example.org")
AuditEntry.objects.create(action="seed", new_value={"名字": "张三"})
storages["private"].save("registration/photos/a.jpg", ContentFile(b"\\xff\\xd8photo"))
storages["default"].save("public/b.txt", ContentFile("文件".encode()))
"""

WIPE = """
import shutil
from django.conf import settings
from portal.models import User, AuditEntry
AuditEntry.objects.all().delete(); User.objects.all().delete()
shutil.rmtree(settings.PRIVATE_MEDIA_ROOT); shutil.rmtree(settings.MEDIA_ROOT)
"""


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _snapshot(env: dict) -> dict:
    lines = _manage(env, "shell", "--no-imports", "-c", SNAPSHOT).splitlines()
    return json.loads(next(line for line in reversed(lines) if line.startswith("{")))


def _round_trip(env: dict, tmp_path: Path) -> None:
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "shell", "--no-imports", "-c", SEED)
    before = _snapshot(env)
    assert before["tables"]["portal_user"][0] == 2 and len(before["files"]) == 2

    folder = Path(_manage(env, "backup", "--target", str(tmp_path / "backups")).strip().splitlines()[-1])
    assert (folder / "manifest.json").exists()

    _manage(env, "shell", "--no-imports", "-c", WIPE)
    wiped = _snapshot(env)
    assert wiped["tables"]["portal_user"][0] == 0 and wiped["files"] == {}

    _manage(env, "restore", str(folder), "--yes")
    after = _snapshot(env)
    assert after == before


def _env(tmp_path: Path, database_url: str) -> dict:
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "var" / "private"),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": "memory://",
    }


def test_backup_wipe_restore_compare_sqlite(tmp_path):
    _round_trip(_env(tmp_path, f"sqlite:///{tmp_path / 'portal.sqlite3'}"), tmp_path)


def test_damaged_backup_is_refused(tmp_path):
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    _manage(env, "migrate", "--noinput", "-v", "0")
    folder = Path(_manage(env, "backup", "--target", str(tmp_path / "backups")).strip().splitlines()[-1])
    with (folder / "database.dump").open("ab") as handle:
        handle.write(b"garbage")
    result = subprocess.run(
        [sys.executable, "manage.py", "restore", str(folder), "--yes"],
        cwd=BASE,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "checksum" in result.stderr


@pytest.mark.services("postgres")
def test_backup_wipe_restore_compare_postgres(tmp_path):
    import psycopg2

    db = settings.DATABASES["default"]
    name = f"portal_backup_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"], dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        url = f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{name}"
        _round_trip(_env(tmp_path, url), tmp_path)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
