import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.deploy import NginxOptions, nginx_config_render, nginx_config_write


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


class Command(BaseCommand):
    help = (
        "Write the nginx configuration (deploy/nginx/portal.conf.template filled with this portal's "
        "folders and body-size limits). Options default to the NGINX_* environment variables."
    )
    # Runs in the proxy container with the base settings (no secrets there): no system checks.
    requires_system_checks = []

    def add_arguments(self, parser):
        defaults = NginxOptions()
        parser.add_argument("--listen", default=_env("NGINX_LISTEN", defaults.listen))
        parser.add_argument("--upstream", default=_env("NGINX_UPSTREAM", defaults.upstream))
        parser.add_argument(
            "--run-dir",
            default=_env("NGINX_RUN_DIR", str(Path(settings.VAR_DIR) / "nginx")),
            help="nginx.pid, temporary files and (by default) the logs go here.",
        )
        parser.add_argument("--access-log", default=_env("NGINX_ACCESS_LOG", ""))
        parser.add_argument("--error-log", default=_env("NGINX_ERROR_LOG", ""))
        parser.add_argument("--worker-processes", default=_env("NGINX_WORKER_PROCESSES", "auto"))
        parser.add_argument("--mime-types", default=_env("NGINX_MIME_TYPES", defaults.mime_types))
        parser.add_argument("--tls-listen", default=_env("NGINX_TLS_LISTEN", defaults.tls_listen))
        parser.add_argument("--tls-certificate", default=_env("NGINX_TLS_CERTIFICATE", ""))
        parser.add_argument("--tls-key", default=_env("NGINX_TLS_KEY", ""))
        parser.add_argument("--output", default="", help="File to write (default: print it).")

    def handle(self, *args, **opts):
        options = NginxOptions(
            listen=opts["listen"],
            upstream=opts["upstream"],
            run_dir=opts["run_dir"],
            access_log=opts["access_log"],
            error_log=opts["error_log"],
            worker_processes=opts["worker_processes"],
            mime_types=opts["mime_types"],
            tls_listen=opts["tls_listen"],
            tls_certificate=opts["tls_certificate"],
            tls_key=opts["tls_key"],
        )
        try:
            if opts["output"]:
                self.stdout.write(str(nginx_config_write(options, output=Path(opts["output"]))))
            else:
                self.stdout.write(nginx_config_render(options), ending="")
        except (ValueError, KeyError) as exc:
            raise CommandError(str(exc)) from exc
