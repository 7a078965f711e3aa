"""gunicorn's one configuration: docker compose (service "web") and ``make serve-prod`` both start
``gunicorn --config deploy/gunicorn.conf.py portal.wsgi:application``.

Workers. gunicorn sits behind nginx (deploy/nginx/portal.conf.template), which reads every request
body before passing it on, buffers every response and sends stored files itself
(X-Accel-Redirect): a worker only ever talks to nginx over loopback and never waits for a slow
phone. So plain synchronous workers fit, one request each: the work is Django's CPU time plus
short PostgreSQL / Redis round trips. Fewer processes than 2 x cores leave a core idle during those
round trips; many more only add memory and context switches. Hence ``2 x cores + 1`` (5 here);
``WEB_CONCURRENCY`` overrides it, ``GUNICORN_THREADS`` > 1 switches to threaded workers.

Measured on this 2-core machine (2026-12-04, through nginx, wrk with 32 connections for 8-10 s,
a logged-in home page / personal centre, three runs). The machine was shared with other work
(load 5-12), so requests per second were noise; the gunicorn processes' own CPU time per request
is the steadier figure: sync x 2: 5.6-8.5 / 15.7-22.5 ms; x 3: 6.4-9.0 / 20.3-25.0 ms; x 5:
6.3-8.2 / 18.6-21.8 ms; x 9: 7.3 / 21.7 ms (its run's highest); gthread 2 x 4 threads: 6.9-7.1 /
19.1-22.9 ms; 3 x 4: 5.3-8.6 / 15.0-25.2 ms. No configuration used clearly less CPU, and 3 x 4
threads had the worst 99th percentile of the home page in both runs of all five (1.49-1.67 s
against 0.70-1.27 s): the threads of one process queue for its interpreter lock.

Everything can be overridden by the environment: ``GUNICORN_BIND``, ``WEB_CONCURRENCY``,
``GUNICORN_TIMEOUT``, ``GUNICORN_MAX_REQUESTS``.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count() + 1)
# GUNICORN_THREADS > 1 switches to threaded workers (measured: no gain here, see above).
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"

# A request that takes longer than this is a bug or a stuck query: its worker is killed and
# replaced (nginx's proxy_read_timeout is 75 s, so gunicorn's answer comes first).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# On SIGHUP (reload) or SIGTERM (stop) a worker finishes the request in hand first, for this long.
graceful_timeout = 30
# Connections come from nginx only; sync workers close each one after its response.
keepalive = 2

# A worker is replaced after this many requests (plus a random part, so that they do not all
# restart at once): memory a long-lived worker gathers (fragmentation, caches) is given back.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10

# nginx has buffered the request: a header this large is no browser's.
limit_request_line = 8190
limit_request_fields = 100

# Logs to standard output / error, where compose and honcho collect them. The address is the one
# nginx saw (X-Forwarded-For), the time in microseconds.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%({x-forwarded-for}i)s "%(r)s" %(s)s %(B)s %(D)sus "%(f)s" "%(a)s"'

# The worker heartbeat file in memory: a container's overlay filesystem can stall it.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# gunicorn's own use of X-Forwarded-* (wsgi.url_scheme): only from the proxies Django trusts.
forwarded_allow_ips = os.environ.get("PORTAL_TRUSTED_PROXIES") or "127.0.0.1,::1"

# Loaded in each worker, not in the master: SIGHUP then reloads new code gracefully.
preload_app = False
