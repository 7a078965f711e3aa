"""Backup and restore of the database and the uploaded files.

A backup is a folder holding ``database.dump`` (``pg_dump --format=custom`` for PostgreSQL, a copy
made with SQLite's online backup API for SQLite), ``files.tar.gz`` (public media and private
documents) and ``manifest.json`` (what was saved, with SHA-256 checksums). Restoring replaces the
database content and the files with the backup's.

Files in object storage (``PORTAL_STORAGE=s3``) go into the same archive: each object of the bucket
under the storage's folder is streamed into ``media/`` or ``private/`` of ``files.tar.gz``, and a
restore uploads the archive's files back and then removes the objects the backup does not have.
The archive is the same either way, so a backup made on disk restores into a bucket (the way to
move to object storage) and back.
"""

import hashlib
import json
import mimetypes
import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.storage import storages
from django.db import connections
from django.utils import timezone

from .storage import is_object_storage

FILE_ROOTS = {"media": "MEDIA_ROOT", "private": "PRIVATE_MEDIA_ROOT"}
# The storage (STORAGES alias) behind each part of the archive.
FILE_STORAGES = {"media": "default", "private": "private"}


class BackupError(Exception):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_env(db: dict) -> tuple[list[str], dict]:
    args = ["--host", db.get("HOST") or "127.0.0.1", "--port", str(db.get("PORT") or 5432)]
    args += ["--username", db.get("USER") or "postgres"]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (fixed argv, no shell)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


def backup_create(*, target: Path, using: str = "default") -> Path:
    """Write a backup folder under ``target``; return its path."""
    db = connections[using].settings_dict
    folder = Path(target) / timezone.now().strftime("backup-%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=False)
    dump = folder / "database.dump"
    if connections[using].vendor == "postgresql":
        args, env = _pg_env(db)
        _run(["pg_dump", *args, "--format=custom", "--no-owner", "--file", str(dump), db["NAME"]], env)
    elif connections[using].vendor == "sqlite":
        source = sqlite3.connect(str(db["NAME"]))
        with sqlite3.connect(str(dump)) as copy:
            source.backup(copy)
        source.close()
    else:
        raise BackupError(f"Unsupported database: {connections[using].vendor}")

    archive = folder / "files.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, setting in FILE_ROOTS.items():
            storage = storages[FILE_STORAGES[name]]
            if is_object_storage(storage):
                _bucket_to_tar(storage, tar, arcname=name)
                continue
            root = Path(getattr(settings, setting))
            if root.exists():
                tar.add(root, arcname=name)
    manifest = {
        "created_at": timezone.now().isoformat(),
        "database_vendor": connections[using].vendor,
        "file_storage": {
            name: "s3" if is_object_storage(storages[alias]) else "local"
            for name, alias in FILE_STORAGES.items()
        },
        "database": {"file": dump.name, "sha256": _sha256(dump)},
        "files": {"file": archive.name, "sha256": _sha256(archive)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder


def backup_restore(*, source: Path, using: str = "default") -> None:
    """Replace the database content and the uploaded files with the backup in ``source``."""
    source = Path(source)
    manifest = json.loads((source / "manifest.json").read_text())
    for part in ("database", "files"):
        path = source / manifest[part]["file"]
        if _sha256(path) != manifest[part]["sha256"]:
            raise BackupError(f"{path.name} does not match its checksum: the backup is damaged.")
    connection = connections[using]
    if manifest["database_vendor"] != connection.vendor:
        raise BackupError("The backup was made from another kind of database.")
    db = connection.settings_dict
    dump = source / manifest["database"]["file"]
    connection.close()
    if connection.vendor == "postgresql":
        args, env = _pg_env(db)
        _run(
            [
                "pg_restore",
                *args,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                db["NAME"],
                str(dump),
            ],
            env,
        )
    else:
        with sqlite3.connect(str(dump)) as copy, sqlite3.connect(str(db["NAME"])) as target:
            copy.backup(target)

    with tarfile.open(source / manifest["files"]["file"], "r:gz") as tar:
        for name, setting in FILE_ROOTS.items():
            storage = storages[FILE_STORAGES[name]]
            members = [m for m in tar.getmembers() if m.name == name or m.name.startswith(name + "/")]
            if is_object_storage(storage):
                _tar_to_bucket(storage, tar, members, arcname=name)
                continue
            root = Path(getattr(settings, setting))
            if root.exists():
                shutil.rmtree(root)
            if not members:
                continue
            staging = root.parent / f".restore-{name}"
            shutil.rmtree(staging, ignore_errors=True)
            tar.extractall(staging, members=members, filter="data")
            (staging / name).rename(root)
            staging.rmdir()


def _bucket_prefix(storage) -> str:
    location = (storage.location or "").strip("/")
    return f"{location}/" if location else ""


def _bucket_to_tar(storage, tar: tarfile.TarFile, *, arcname: str) -> None:
    """Stream every object under the storage's folder into ``<arcname>/<name>`` of the archive."""
    prefix = _bucket_prefix(storage)
    for summary in storage.bucket.objects.filter(Prefix=prefix):
        if summary.key.endswith("/"):
            continue  # a "folder" marker some consoles create
        info = tarfile.TarInfo(f"{arcname}/{summary.key[len(prefix) :]}")
        info.size = summary.size
        info.mtime = int(summary.last_modified.timestamp())
        info.mode = 0o640
        body = summary.get()["Body"]
        try:
            tar.addfile(info, body)
        finally:
            body.close()


def _tar_to_bucket(storage, tar: tarfile.TarFile, members: list, *, arcname: str) -> None:
    """Upload the archive's ``<arcname>/`` files to the storage's folder, then remove the objects
    the backup does not have (uploading first: a restore cut short leaves no hole)."""
    prefix = _bucket_prefix(storage)
    restored = set()
    for member in members:
        if not member.isfile():
            continue
        relative = PurePosixPath(member.name).relative_to(arcname)
        if relative.is_absolute() or ".." in relative.parts:
            raise BackupError(f"Refusing the archive member {member.name!r}.")
        key = prefix + relative.as_posix()
        parameters = {
            **storage.get_object_parameters(relative.as_posix()),
            "ContentType": mimetypes.guess_type(relative.name)[0] or "application/octet-stream",
        }
        handle = tar.extractfile(member)
        storage.bucket.Object(key).upload_fileobj(handle, ExtraArgs=parameters)
        restored.add(key)
    extra = [
        {"Key": summary.key}
        for summary in storage.bucket.objects.filter(Prefix=prefix)
        if summary.key not in restored
    ]
    for start in range(0, len(extra), 1000):
        storage.bucket.delete_objects(Delete={"Objects": extra[start : start + 1000], "Quiet": True})
