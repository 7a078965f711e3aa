FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 STATIC_ROOT=/app/staticfiles
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk fontconfig \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . .
RUN pip install -c constraints.txt . \
 && DJANGO_SETTINGS_MODULE=portal.settings.production SECRET_KEY=build-only-collectstatic-not-a-secret-0123456789abcdef \
    ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.db CELERY_BROKER_URL=memory:// EMAIL_URL=consolemail:// \
    DEFAULT_FROM_EMAIL=build@localhost FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1jb2xsZWN0c3RhdGljLW5vdC1rZXk= \
    PERSONAL_DATA_HASH_KEY=build-only-collectstatic-not-a-secret-0123456789 python manage.py collectstatic --noinput \
 && useradd --system --home /app portal && mkdir -p /app/var && chown -R portal /app/var
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000"]
