"""Production hardening on top of ``base``: passes ``manage.py check --deploy``.

docs/deployment.md lists every variable; ``deploy/omni.env.example`` is a starting file.
"""

from __future__ import annotations

import os

from .base import *  # noqa: F403
from .base import (
    ALLOWED_HOSTS,
    MIDDLEWARE,
    OMNI_SIGNING_KEY,
    PROJECT_APPS,
    SECRET_KEY,
    env_bool,
    env_secret,
    logging_config,
)

if SECRET_KEY.startswith("omni-insecure"):
    raise RuntimeError("Set OMNI_SECRET_KEY to a long random value in production.")
if not OMNI_SIGNING_KEY:
    raise RuntimeError("Set OMNI_SIGNING_KEY (Ed25519, base64 of 32 bytes) for pickup codes.")

DEBUG = False
ALLOWED_HOSTS = [h for h in ALLOWED_HOSTS if h != "testserver"]
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto on every request (overwriting the
# client's); gunicorn trusts it only from OMNI_FORWARDED_ALLOW_IPS (deploy/gunicorn.conf.py).
SECURE_SSL_REDIRECT = env_bool("OMNI_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("OMNI_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The staff pages' forms post from the public origin the proxy serves, e.g.
# https://omni.example.com (Django compares it with the Origin header).
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("OMNI_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Static files (the admin's, the staff pages' CSS and htmx) are served by the web processes
# themselves with WhiteNoise: one process less to deploy and configure than a proxy location
# pointing at a shared directory, and every web machine serves the same files from its own
# release. `manage.py collectstatic` writes them to STATIC_ROOT with hashed names (cached for a
# year by browsers) and compressed copies; it runs at image build or on each upgrade.
# Right after SecurityMiddleware, as WhiteNoise asks.
_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
MIDDLEWARE = [
    *MIDDLEWARE[: _security + 1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[_security + 1 :],
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Customer notifications by SMTP when OMNI_EMAIL_BACKEND says so (host and port: base).
EMAIL_HOST_USER = os.environ.get("OMNI_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_secret("OMNI_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("OMNI_EMAIL_USE_TLS", False)

# Probes and scrapes come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
# One JSON object per log line, each with its request id (docs/operations.md).
OMNI_LOG_FORMAT = os.environ.get("OMNI_LOG_FORMAT", "json")
LOGGING = logging_config(OMNI_LOG_FORMAT, os.environ.get("OMNI_LOG_LEVEL", "INFO"), PROJECT_APPS)
