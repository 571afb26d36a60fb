"""Production hardening on top of ``base``: passes ``manage.py check --deploy``."""

from __future__ import annotations

import os

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, OMNI_SIGNING_KEY, SECRET_KEY, env_bool, logging_config

if SECRET_KEY.startswith("omni-insecure"):
    raise RuntimeError("Set OMNI_SECRET_KEY to a long random value in production.")
if not OMNI_SIGNING_KEY:
    raise RuntimeError("Set OMNI_SIGNING_KEY (Ed25519, base64 of 32 bytes) for pickup codes.")

DEBUG = False
ALLOWED_HOSTS = [h for h in ALLOWED_HOSTS if h != "testserver"]
SECURE_SSL_REDIRECT = env_bool("OMNI_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("OMNI_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Probes and scrapes come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
# One JSON object per log line, each with its request id (docs/operations.md).
OMNI_LOG_FORMAT = os.environ.get("OMNI_LOG_FORMAT", "json")
LOGGING = logging_config(OMNI_LOG_FORMAT, os.environ.get("OMNI_LOG_LEVEL", "INFO"))
