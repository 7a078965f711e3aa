"""The nginx configuration of docker compose and ``make serve-prod``, rendered from
``deploy/nginx/portal.conf.template`` with the portal's own settings.

The folders (``STATIC_ROOT``, ``PRIVATE_MEDIA_ROOT``, ``MEDIA_ROOT``) and the body-size limits
(``PORTAL_MAX_REQUEST_BYTES``, ``PORTAL_MAX_ADMIN_REQUEST_BYTES``) come from Django's settings, so
nginx refuses exactly what Django would and sends files from where Django stores them; addresses,
log and temporary paths are the caller's (``manage.py nginx_config``, scripts/serve_prod.py).
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "portal.conf.template"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# What may stand in a placeholder: paths and addresses, never a quote, space, ";" or brace that
# would end the directive and start another one.
SAFE_VALUE = re.compile(r"^[A-Za-z0-9_./:\[\]@%+=,-]+$")
LISTEN = re.compile(r"^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|localhost):)?\d{1,5}$")
TEMP_FOLDERS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass(frozen=True)
class NginxOptions:
    listen: str = "8080"  # port, or address:port
    upstream: str = "127.0.0.1:8000"  # gunicorn (host:port or unix:/path)
    run_dir: str = "var/nginx"  # nginx.pid and the temporary folders
    access_log: str = ""  # default: <run_dir>/access.log
    error_log: str = ""  # default: <run_dir>/error.log
    worker_processes: str = "auto"
    mime_types: str = "/etc/nginx/mime.types"
    tls_listen: str = "8443"
    tls_certificate: str = ""  # a certificate turns TLS on: HTTPS on tls_listen, HTTP redirects
    tls_key: str = ""


def _user_directive() -> str:
    """Started by root (CI, a container started as root), the workers keep the starting user: they
    read the private files, which only their owner may read (FILE_UPLOAD_PERMISSIONS 0o640)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "# user: nginx runs as the user who started it"
    import grp
    import pwd

    return f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"


def nginx_values(options: NginxOptions) -> dict[str, str]:
    run_dir = Path(options.run_dir)
    values = {
        "NGINX_USER": _user_directive(),
        "NGINX_WORKER_PROCESSES": options.worker_processes,
        "NGINX_PID": str(run_dir / "nginx.pid"),
        "NGINX_ERROR_LOG": options.error_log or str(run_dir / "error.log"),
        "NGINX_ACCESS_LOG": options.access_log or str(run_dir / "access.log"),
        "NGINX_MIME_TYPES": options.mime_types,
        "NGINX_TEMP": str(run_dir / "tmp"),
        "NGINX_LISTEN": options.listen,
        "NGINX_UPSTREAM": options.upstream,
        "NGINX_TLS_LISTEN": options.tls_listen,
        "NGINX_TLS_CERTIFICATE": options.tls_certificate,
        "NGINX_TLS_KEY": options.tls_key,
        "STATIC_ROOT": str(Path(settings.STATIC_ROOT).resolve()),
        "PRIVATE_MEDIA_ROOT": str(Path(settings.PRIVATE_MEDIA_ROOT).resolve()),
        "MEDIA_ROOT": str(Path(settings.MEDIA_ROOT).resolve()),
        "PORTAL_MAX_REQUEST_BYTES": str(int(settings.PORTAL_MAX_REQUEST_BYTES)),
        "PORTAL_MAX_ADMIN_REQUEST_BYTES": str(int(settings.PORTAL_MAX_ADMIN_REQUEST_BYTES)),
    }
    for name in ("NGINX_LISTEN", "NGINX_TLS_LISTEN"):
        if not LISTEN.match(values[name]):
            raise ValueError(f"{name}: {values[name]!r} is not a port or address:port")
    if bool(options.tls_certificate) != bool(options.tls_key):
        raise ValueError("TLS needs both the certificate and its key.")
    for name, value in values.items():
        if name != "NGINX_USER" and value and not SAFE_VALUE.match(value):
            raise ValueError(f"{name}: {value!r} may only hold letters, digits and ./:[]@%+=,_-")
    return values


def nginx_config_render(options: NginxOptions, *, template: str | None = None) -> str:
    """The configuration text; ``#%tls`` lines kept only with a certificate, ``#%plain`` without."""
    values = nginx_values(options)
    text = TEMPLATE.read_text(encoding="utf-8") if template is None else template
    keep, drop = ("#%tls ", "#%plain ") if options.tls_certificate else ("#%plain ", "#%tls ")
    lines = []
    for line in text.splitlines():
        if line.startswith(drop):
            continue
        lines.append(line.removeprefix(keep))

    def value(match: re.Match) -> str:
        if match.group(1) not in values:
            raise KeyError(f"unknown placeholder ${{{match.group(1)}}} in {TEMPLATE.name}")
        return values[match.group(1)]

    return PLACEHOLDER.sub(value, "\n".join(lines) + "\n")


def nginx_config_write(options: NginxOptions, *, output: Path) -> Path:
    """Render into ``output`` and make the folders nginx writes to (pid, temporary files, logs)."""
    text = nginx_config_render(options)
    run_dir = Path(options.run_dir)
    for folder in TEMP_FOLDERS:
        (run_dir / "tmp" / folder).mkdir(parents=True, exist_ok=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    return output
