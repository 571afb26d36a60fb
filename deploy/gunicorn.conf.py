"""gunicorn settings for Omni's web processes: ``gunicorn -c deploy/gunicorn.conf.py omni.wsgi``.

Every value can be changed from the environment (the systemd unit's EnvironmentFile, the compose
file's ``environment``) without editing this file; docs/deployment.md lists them. gunicorn's
own command-line flags still win over this file.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("OMNI_WEB_BIND", "127.0.0.1:8000")
# The usual (2 × cores) + 1: requests wait on PostgreSQL more than on the CPU.
workers = _int("OMNI_WEB_WORKERS", 2 * multiprocessing.cpu_count() + 1)
threads = _int("OMNI_WEB_THREADS", 1)
# Both answer gunicorn's own errors (URL too long, too many headers, a malformed request) in the
# API's JSON error shape instead of gunicorn's HTML page (omni/gunicorn_workers.py).
worker_class = (
    "omni.gunicorn_workers.ThreadWorker" if threads > 1 else "omni.gunicorn_workers.SyncWorker"
)

# A request that takes longer has a bug or a lock it should not wait on: long work (forecasts,
# allocations) runs in Celery workers, never in a request.
timeout = _int("OMNI_WEB_TIMEOUT", 30)
graceful_timeout = _int("OMNI_WEB_GRACEFUL_TIMEOUT", 30)
# Behind a reverse proxy that keeps connections to us open; above its idle timeout would be
# wasted, below it the proxy may send on a connection we just closed (nginx's default is 60 s
# upstream, but it only reuses connections with `keepalive` set).
keepalive = _int("OMNI_WEB_KEEPALIVE", 5)
# A worker is replaced after this many requests (with jitter, so not all at once): it bounds
# what a slow leak in a library (pandas, matplotlib on the planner pages) can grow to.
max_requests = _int("OMNI_WEB_MAX_REQUESTS", 2000)
max_requests_jitter = _int("OMNI_WEB_MAX_REQUESTS_JITTER", 200)

# Only the reverse proxy may say which scheme and client address a request came with
# (X-Forwarded-Proto, X-Forwarded-For); from anyone else those headers are ignored. Django's
# SECURE_PROXY_SSL_HEADER (omni/settings/production.py) trusts X-Forwarded-Proto too, so the
# proxy must set it on every request, overwriting what a client sent.
forwarded_allow_ips = os.environ.get("OMNI_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicorn's defaults, stated: the longest request line (method, URL and version), how many
# header fields and how long one may be. Past them the answer is 414 or 431 in the error shape.
# Request bodies are limited by Django (DATA_UPLOAD_MAX_MEMORY_SIZE, 413).
limit_request_line = _int("OMNI_WEB_LIMIT_REQUEST_LINE", 4094)
limit_request_fields = _int("OMNI_WEB_LIMIT_REQUEST_FIELDS", 100)
limit_request_field_size = _int("OMNI_WEB_LIMIT_REQUEST_FIELD_SIZE", 8190)

# Logs go to standard output/error: journald or the container runtime keeps them.
accesslog = os.environ.get("OMNI_WEB_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("OMNI_WEB_LOG_LEVEL", "info")
# The worker heartbeat file: on tmpfs when there is one, a disk-backed /tmp can stall it.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "omni-web"


def child_exit(server: object, worker: object) -> None:
    """A dead worker's metrics stop counting as live (with PROMETHEUS_MULTIPROC_DIR set: one
    empty directory per machine, docs/operations.md "Metrics")."""
    from omni.metrics import gunicorn_child_exit

    gunicorn_child_exit(server, worker)


# gunicorn 24+ opens a control socket at one fixed path per user; nothing here uses it, and two
# servers on one machine (a blue-green switch, a test beside a running server) would fight
# over the path. (Older versions ignore the setting.)
control_socket_disable = True
