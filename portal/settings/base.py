"""Settings shared by every environment. Values come from the environment (12-factor)."""

import os
from datetime import timedelta
from pathlib import Path

import environ

from .database import sqlite_options_apply

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))
VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Our apps first, in pipeline order: their templates and translations win.
    "portal",
    "registration",
    "payments",
    "learning",
    "exams",
    "certificates",
    "portal.admin_site.PortalAdminConfig",  # django.contrib.admin, with the secret-field guard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",  # Bootstrap 5 assets shipped by the django-bootstrap-static package
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.LanguageMiddleware",
    "portal.uploads.RequestSizeLimitMiddleware",  # before anything reads the body (CSRF does)
    "django.middleware.common.CommonMiddleware",
    "portal.wechat.WeChatMiddleware",  # request.in_wechat: WeChat's browser cannot download files
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.inspector.InspectorAuditMiddleware",  # audits every admin page an inspector opens
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "portal.login_throttle.KnownDeviceMiddleware",  # remembers browsers that logged in (see below)
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# SQLite (the default) in WAL mode with IMMEDIATE transactions and a busy timeout: the web server,
# the Celery worker and beat write to one file in parallel (portal/settings/database.py).
DATABASES = {
    "default": sqlite_options_apply(env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rate limits and throttles count in the cache: use a shared one (Redis) when several processes serve.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://portal")}

# --- Users and authentication -------------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

# django-axes: lock out by account and address together after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "portal.validators.axes_username"
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
# The client's address: REMOTE_ADDR, or X-Forwarded-For from a trusted proxy (portal/http.py).
AXES_CLIENT_IP_CALLABLE = "portal.http.client_ip_for_axes"
# Per account, across addresses (portal/login_throttle.py): not a lockout but a slow-down. Locking
# an account after N failures from anywhere would let anybody lock any trainee out by typing their
# mobile number; axes has one failure limit and one cool-off for all its parameters, so it cannot
# do both. Instead: after LOGIN_ACCOUNT_FREE_FAILURES failures (more than one address gets from
# axes) each password check of the account waits its turn, 30 s after the last failure, doubling
# per failure up to 15 minutes; attempts while waiting are refused unchecked and uncounted, so an
# attacker gets one guess per turn and cannot make the wait longer by hammering. The trainee's own
# browser (it logged in before: signed cookie) never waits, a new one at most the 15 minutes, and
# a log-in by code or link ends it.
LOGIN_ACCOUNT_FREE_FAILURES = env.int("LOGIN_ACCOUNT_FREE_FAILURES", default=10)
LOGIN_ACCOUNT_DELAY_SECONDS = env.int("LOGIN_ACCOUNT_DELAY_SECONDS", default=30)
LOGIN_ACCOUNT_MAX_DELAY_SECONDS = env.int("LOGIN_ACCOUNT_MAX_DELAY_SECONDS", default=15 * 60)
LOGIN_ACCOUNT_WINDOW_SECONDS = env.int("LOGIN_ACCOUNT_WINDOW_SECONDS", default=24 * 3600)

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
# Personal documents (photos, ID copies) live outside MEDIA_ROOT and are never served by URL:
# only views that check permissions stream them.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000
FILE_UPLOAD_PERMISSIONS = 0o640
# Whole request bodies (files included), refused with 413 before they are read (portal/uploads.py):
# public pages need at most the three documents of attachment 2 as phones take them (up to 20 MB
# each, scaled down below 5 MB by registration.documents); admin takes lesson videos.
PORTAL_MAX_REQUEST_BYTES = env.int("PORTAL_MAX_REQUEST_BYTES", default=64 * 1024 * 1024)
PORTAL_MAX_ADMIN_REQUEST_BYTES = env.int("PORTAL_MAX_ADMIN_REQUEST_BYTES", default=1100 * 1024 * 1024)
# How stored files reach the browser after the permission check (portal/files.py): "django" streams
# them itself (make run, tests); "nginx" answers with X-Accel-Redirect and nginx sends them from an
# internal location (docker compose, make serve-prod).
PORTAL_FILE_SERVING = env.str("PORTAL_FILE_SERVING", default="django")

# Object storage (several web hosts share the files): PORTAL_STORAGE=s3 puts every uploaded and
# generated file in a private bucket of any S3-compatible service (django-storages), "media/" and
# "private/" in it; permitted users then get a presigned URL valid PORTAL_S3_URL_SECONDS (lesson
# videos PORTAL_S3_VIDEO_URL_SECONDS: a player keeps asking for ranges while the lesson plays).
# Local disk ("local") is the default. Keys: PORTAL_S3_ACCESS_KEY_ID / _SECRET_ACCESS_KEY, or
# boto3's own sources (AWS_* variables, an instance role).
PORTAL_STORAGE = env.str("PORTAL_STORAGE", default="local")
PORTAL_S3_URL_SECONDS = env.int("PORTAL_S3_URL_SECONDS", default=300)
PORTAL_S3_VIDEO_URL_SECONDS = env.int("PORTAL_S3_VIDEO_URL_SECONDS", default=4 * 3600)
if PORTAL_STORAGE == "s3":
    from .storage import s3_csp_origin, s3_setting_required, s3_storages

    PORTAL_S3_OPTIONS = {
        "bucket_name": s3_setting_required(env.str("PORTAL_S3_BUCKET", default=""), "PORTAL_S3_BUCKET"),
        "endpoint_url": env.str("PORTAL_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("PORTAL_S3_REGION", default="") or None,
        "access_key": env.str("PORTAL_S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("PORTAL_S3_SECRET_ACCESS_KEY", default="") or None,
        "addressing_style": env.str("PORTAL_S3_ADDRESSING_STYLE", default="") or None,
        "querystring_expire": PORTAL_S3_URL_SECONDS,
    }
    STORAGES = {**STORAGES, **s3_storages(PORTAL_S3_OPTIONS)}
    PORTAL_S3_ORIGIN = env.str("PORTAL_S3_PUBLIC_ORIGIN", default="") or s3_csp_origin(PORTAL_S3_OPTIONS)
elif PORTAL_STORAGE != "local":
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured('PORTAL_STORAGE must be "local" or "s3".')

# --- Forms ----------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------------------------
# The embedded default needs no server: kombu's filesystem transport under var/celery.
# Point CELERY_BROKER_URL at redis://... to use Redis.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_FILESYSTEM_DIR = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_DIR / "queue"),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR / "queue"),
        "control_folder": str(CELERY_FILESYSTEM_DIR / "control"),
        "store_processed": False,
    }
    _default_result_backend = f"file://{CELERY_FILESYSTEM_DIR / 'results'}"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    _default_result_backend = CELERY_BROKER_URL
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=_default_result_backend)
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Each new pool process renders a throw-away certificate first (certificates/receivers.py); under
# load that takes over a second, so give it more than Celery's 4 s before the pool gives up on it.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 10
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The beat schedule lives in code: portal/celery.py (BEAT_SCHEDULE).

# --- SMS and the record of every message (portal/messaging) ------------------------------------
# Console (logs) by default; production: portal.messaging.aliyun.AliyunSmsBackend or
# portal.messaging.tencent.TencentSmsBackend, with the keys, the signature (签名) and one approved
# template (模板) per message kind: SMS_TEMPLATES as JSON {"attachment2_link": "SMS_123", ...}
# and / or one SMS_TEMPLATE_<KIND> variable per kind (`manage.py sms_templates` lists them).
SMS_BACKEND = env("SMS_BACKEND", default="portal.notifications.ConsoleSmsBackend")
# Aliyun AccessKey ID and secret / Tencent SecretId and SecretKey.
SMS_ACCESS_KEY_ID = env("SMS_ACCESS_KEY_ID", default="")
SMS_ACCESS_KEY_SECRET = env("SMS_ACCESS_KEY_SECRET", default="")
SMS_SIGN_NAME = env("SMS_SIGN_NAME", default="")
SMS_APP_ID = env("SMS_APP_ID", default="")  # Tencent: SmsSdkAppId
SMS_REGION = env("SMS_REGION", default="")  # default cn-hangzhou (Aliyun) / ap-guangzhou (Tencent)
SMS_ENDPOINT = env("SMS_ENDPOINT", default="")  # the provider's API address (tests: a local server)
SMS_TIMEOUT_SECONDS = env.int("SMS_TIMEOUT_SECONDS", default=10)
SMS_TEMPLATES = {
    **env.json("SMS_TEMPLATES", default={}),
    **{
        name[len("SMS_TEMPLATE_") :].lower(): value
        for name, value in os.environ.items()
        if name.startswith("SMS_TEMPLATE_") and value
    },
}
# Sending: retries with exponential backoff (30 s doubled each time, at most 15 minutes apart);
# a message still waiting after MESSAGE_STALE_MINUTES counts as undelivered; records are deleted
# after MESSAGE_RETENTION_DAYS (they hold mobile numbers, names and, encrypted, codes and links).
MESSAGE_MAX_RETRIES = env.int("MESSAGE_MAX_RETRIES", default=6)
MESSAGE_RETRY_BACKOFF_SECONDS = env.int("MESSAGE_RETRY_BACKOFF_SECONDS", default=30)
MESSAGE_RETRY_BACKOFF_MAX_SECONDS = env.int("MESSAGE_RETRY_BACKOFF_MAX_SECONDS", default=900)
MESSAGE_STALE_MINUTES = env.int("MESSAGE_STALE_MINUTES", default=15)
MESSAGE_RETENTION_DAYS = env.int("MESSAGE_RETENTION_DAYS", default=180)

# --- Portal ---------------------------------------------------------------------------------
PORTAL_SITE_URL = env("PORTAL_SITE_URL", default="http://127.0.0.1:8000")
# Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed: the
# client's address for the log-in lockout, audit entries, consents and rate limits comes from
# portal.http.client_ip. Empty: REMOTE_ADDR only. The proxy's own address, never a client network.
PORTAL_TRUSTED_PROXIES = env.list("PORTAL_TRUSTED_PROXIES", default=[])
# Staff digests (portal/dashboard/services.py): local times of the working days at which each role
# (reviewer, finance, course administrator) gets its e-mail of what is new, comma-separated.
PORTAL_STAFF_DIGEST_TIMES = env.list("PORTAL_STAFF_DIGEST_TIMES", default=["09:00", "15:00"])

# --- Personal data (portal/crypto.py) -------------------------------------------------------
# Fernet keys for the encrypted columns, newest first (comma-separated); old keys still decrypt
# until ``manage.py rotate_encryption_keys`` has re-encrypted everything with the first one.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# Key of the HMAC-SHA256 stored next to encrypted values to find them (never change it).
PERSONAL_DATA_HASH_KEY = env("PERSONAL_DATA_HASH_KEY", default="")
# Documents and personal data are purged this many days after the training ended.
RETENTION_DAYS = env.int("RETENTION_DAYS", default=3 * 365)
# Log-in records of django-axes (mobile number, address, browser of every log-in and failure).
LOGIN_LOG_RETENTION_DAYS = env.int("LOGIN_LOG_RETENTION_DAYS", default=180)

# --- Identity checks (issue #23: portal/faces.py, learning/services/identity.py) ------------------
# Two faces are the same person below this descriptor distance (dlib's threshold).
PORTAL_FACE_MATCH_THRESHOLD = env.float("PORTAL_FACE_MATCH_THRESHOLD", default=0.6)
# The registered photo must show exactly one face covering at least this share of it. The gate is
# on in production; off by default elsewhere (the generated test photos have no face).
PORTAL_FACE_PHOTO_GATE = env.bool("PORTAL_FACE_PHOTO_GATE", default=False)
PORTAL_FACE_PHOTO_MIN_SHARE = env.float("PORTAL_FACE_PHOTO_MIN_SHARE", default=0.08)
# Identity-check snapshots are deleted this many days after they were taken (0: kept as long as the
# training record, RETENTION_DAYS after the training ended).
PORTAL_IDENTITY_SNAPSHOT_RETENTION_DAYS = env.int("PORTAL_IDENTITY_SNAPSHOT_RETENTION_DAYS", default=0)

# --- Refresher training (certificates/refresher.py) ---------------------------------------------
# A certificate is due for the refresher this many months after its issue date; holders due by a
# programme's closing day are invited once per programme. The unit's people page marks "due soon"
# from PORTAL_REFRESHER_DUE_SOON_DAYS before the date. A re-registration carries last year's photo
# and ID copies over when the photo is younger than PORTAL_REFRESHER_PHOTO_MAX_AGE_DAYS.
PORTAL_REFRESHER_INTERVAL_MONTHS = env.int("PORTAL_REFRESHER_INTERVAL_MONTHS", default=12)
PORTAL_REFRESHER_DUE_SOON_DAYS = env.int("PORTAL_REFRESHER_DUE_SOON_DAYS", default=60)
PORTAL_REFRESHER_PHOTO_MAX_AGE_DAYS = env.int("PORTAL_REFRESHER_PHOTO_MAX_AGE_DAYS", default=365)

# Error reports hide secrets and ID numbers in every frame and POST field (portal/log_filters.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.log_filters.PortalExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
        # The SMS SDKs log whole requests (template variables: codes, private links) at DEBUG.
        "tencentcloud_sdk_common": {"level": "WARNING"},
        "darabonba-core": {"level": "WARNING"},
    },
}

# Content Security Policy (django-csp): scripts only from the portal itself, no inline scripts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
if PORTAL_STORAGE == "s3":  # lesson videos, posters and PDFs play from presigned bucket URLs
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(PORTAL_S3_ORIGIN)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["media-src"].append(PORTAL_S3_ORIGIN)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["frame-src"] = ["'self'", PORTAL_S3_ORIGIN]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Learning: study accounts and the study window (owned by the learning app) -------------
# Defaults and the other LEARNING_* knobs: learning/conf.py.
LEARNING_REMINDER_DAYS = tuple(env.list("LEARNING_REMINDER_DAYS", cast=int, default=[7, 2]))
LEARNING_LINK_HOURS = env.int("LEARNING_LINK_HOURS", default=72)
LEARNING_CODE_MINUTES = env.int("LEARNING_CODE_MINUTES", default=10)
# Study: one class hour (学时) in minutes, the heartbeat interval, the default daily cap (class hours).
LEARNING_CLASS_HOUR_MINUTES = env.int("LEARNING_CLASS_HOUR_MINUTES", default=45)
LEARNING_HEARTBEAT_SECONDS = env.int("LEARNING_HEARTBEAT_SECONDS", default=15)
LEARNING_DAILY_CAP_HOURS = env.int("LEARNING_DAILY_CAP_HOURS", default=8)
# --- end learning ---------------------------------------------------------------------------
