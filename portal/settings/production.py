"""Production: every secret must come from the environment; start-up fails without them."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import STORAGES, env
from .database import sqlite_options_apply
from .keys import fernet_keys_check

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long in production.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS for production.")

# Personal data: encryption keys and the hash key are required (see README, "Key rotation").
FIELD_ENCRYPTION_KEYS = fernet_keys_check(env.list("FIELD_ENCRYPTION_KEYS"))
PERSONAL_DATA_HASH_KEY = env("PERSONAL_DATA_HASH_KEY")
if len(PERSONAL_DATA_HASH_KEY) < 32:
    raise ImproperlyConfigured("PERSONAL_DATA_HASH_KEY must be at least 32 characters long in production.")

DATABASES = {"default": sqlite_options_apply(env.db("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

CELERY_BROKER_URL = env("CELERY_BROKER_URL")
# One cache shared by every web process (rate limits count across processes); Redis by default.
CACHES = {
    "default": env.cache("CACHE_URL", default=CELERY_BROKER_URL.replace("redis://", "rediscache://", 1))
}
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

EMAIL_CONFIG = env.email_url("EMAIL_URL")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

STORAGES = {
    **STORAGES,
    # Hashed names and .gz copies, sent by nginx (portal/staticfiles.py).
    "staticfiles": {"BACKEND": "portal.staticfiles.GzipManifestStaticFilesStorage"},
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True

# Logs: one-time codes and password links sent by SMS never reach them (portal/log_filters.py).
LOGGING = {
    **LOGGING,  # noqa: F405
    "filters": {"sms_redact": {"()": "portal.log_filters.SmsRedactFilter"}},
    "loggers": {
        **LOGGING["loggers"],  # noqa: F405
        "portal.sms": {"filters": ["sms_redact"]},
    },
}

# The registered photo's face gate (registration.validators.photo_face_validate) is on here.
PORTAL_FACE_PHOTO_GATE = env.bool("PORTAL_FACE_PHOTO_GATE", default=True)
