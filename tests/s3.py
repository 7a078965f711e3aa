"""A local S3-API server for the object storage tests: moto's standalone server on a free loopback
port, started by the tests themselves (never the internet).

Use the ``s3`` fixture: a fresh bucket, ``STORAGES`` switched to it exactly as
``PORTAL_STORAGE=s3`` does (``portal/settings/storage.py``), and a few helpers to look inside.
Import it into a test module: ``from tests.s3 import moto_server_fixture, s3_fixture  # noqa: F401``.
"""

import uuid
from dataclasses import dataclass

import pytest

REGION = "us-east-1"
KEYS = {"aws_access_key_id": "portal-test", "aws_secret_access_key": "portal-test-secret"}


@pytest.fixture(name="moto_server", scope="session")
def moto_server_fixture():
    """``http://127.0.0.1:<port>`` of a moto server running in this process (stopped at the end)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class Bucket:
    name: str
    endpoint_url: str
    options: dict

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=REGION, **KEYS)

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.name, Key=key)["Body"].read()

    def env(self) -> dict:
        """The environment that makes a ``manage.py`` process use this bucket."""
        return {
            "PORTAL_STORAGE": "s3",
            "PORTAL_S3_BUCKET": self.name,
            "PORTAL_S3_ENDPOINT_URL": self.endpoint_url,
            "PORTAL_S3_REGION": REGION,
            "PORTAL_S3_ACCESS_KEY_ID": KEYS["aws_access_key_id"],
            "PORTAL_S3_SECRET_ACCESS_KEY": KEYS["aws_secret_access_key"],
        }


@pytest.fixture(name="s3")
def s3_fixture(moto_server, settings):
    """A new bucket on the local server, with ``STORAGES`` pointing at it for this test."""
    from portal.settings.storage import s3_storages

    name = f"portal-{uuid.uuid4().hex[:12]}"
    options = {
        "bucket_name": name,
        "endpoint_url": moto_server,
        "region_name": REGION,
        "access_key": KEYS["aws_access_key_id"],
        "secret_key": KEYS["aws_secret_access_key"],
        "querystring_expire": settings.PORTAL_S3_URL_SECONDS,
    }
    bucket = Bucket(name=name, endpoint_url=moto_server, options=options)
    bucket.client().create_bucket(Bucket=name)
    settings.STORAGES = {**settings.STORAGES, **s3_storages(options)}
    settings.PORTAL_STORAGE = "s3"
    return bucket
