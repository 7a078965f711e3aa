"""Object storage settings (``PORTAL_STORAGE=s3``): the STORAGES entries and the origin the browser
fetches presigned URLs from (added to the Content-Security-Policy)."""

from urllib.parse import urlsplit

S3_BACKEND = "storages.backends.s3.S3Storage"


def s3_setting_required(value: str, name: str) -> str:
    if not value:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"Set {name} for PORTAL_STORAGE=s3.")
    return value


def s3_storages(options: dict) -> dict:
    """``STORAGES["default"]`` and ``["private"]`` in one private bucket, under ``media/`` and
    ``private/``. Nothing is public: every URL is presigned (``querystring_auth``), names are never
    overwritten (as on disk), and the bucket's own policy decides the ACL."""
    common = {
        **{key: value for key, value in options.items() if value is not None},
        "querystring_auth": True,
        "file_overwrite": False,
        "default_acl": None,
        "signature_version": "s3v4",
        "object_parameters": {"CacheControl": "private, max-age=3600"},
    }
    return {
        "default": {"BACKEND": S3_BACKEND, "OPTIONS": {**common, "location": "media"}},
        "private": {"BACKEND": S3_BACKEND, "OPTIONS": {**common, "location": "private"}},
    }


def s3_csp_origin(options: dict) -> str:
    """Where presigned URLs point: the endpoint (path style), ``<bucket>.<endpoint host>`` (virtual
    hosted style, e.g. Aliyun OSS), or AWS itself."""
    endpoint = options.get("endpoint_url")
    if not endpoint:
        return "https://*.amazonaws.com"
    parts = urlsplit(endpoint)
    if options.get("addressing_style") == "virtual":
        return f"{parts.scheme}://{options['bucket_name']}.{parts.netloc}"
    return f"{parts.scheme}://{parts.netloc}"
