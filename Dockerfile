FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 STATIC_ROOT=/app/staticfiles

# The Debian packages of scripts/system-packages.txt, the one list `make run`, `make serve-prod` and
# CI install too (Pango, HarfBuzz's subset library, the CJK and rare-character fonts, nginx, ffmpeg).
COPY scripts/system-packages.txt scripts/system_deps.sh /app/scripts/
RUN bash /app/scripts/system_deps.sh \
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
EXPOSE 8000 8080 8443
# The web server; docker-compose.yml runs the proxy (nginx), worker and beat from this image too.
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "portal.wsgi:application"]
