"""Settings, read from the environment (12-factor).

``DATABASE_URL`` defaults to the embedded SQLite database at ``var/omni.sqlite3`` (WAL mode);
``REDIS_URL`` unset means Celery runs tasks eagerly in-process, so a bare machine needs no broker.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from omni.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("OMNI_VAR_DIR", BASE_DIR / "var"))


def env_secret(name: str, default: str = "") -> str:
    """A secret from ``NAME``, or from the file ``NAME_FILE`` names (Docker and systemd
    credentials mount secrets as files, which keeps them out of the environment and of
    ``ps e``); surrounding whitespace and the final newline are dropped."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("OMNI_SECRET_KEY", "omni-insecure-development-key-change-me-0123456789")
# Old keys still accepted for sessions and signed values while a new SECRET_KEY takes over
# (docs/deployment.md, "Rotating secrets"); comma-separated.
SECRET_KEY_FALLBACKS = [k for k in env_secret("OMNI_SECRET_KEY_FALLBACKS").split(",") if k]
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
# Django's test client sends "testserver".
ALLOWED_HOSTS.append("testserver")

# Omni's own apps, lowest layer first (their loggers are configured by omni.logs too).
PROJECT_APPS = [
    "omni",
    "inventory",
    "network",
    "orders",
    "fulfillment",
    "forecasting",
    "allocation",
    "purchasing",
    "loyalty",
    "staff",
    "demo",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "axes",
    *PROJECT_APPS,
]

MIDDLEWARE = [
    # First: the request id and the request metrics cover everything below, redirects included.
    "omni.observability.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "omni.middleware.ApiErrorShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its refusal page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "omni.urls"
WSGI_APPLICATION = "omni.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'omni.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_secret("DATABASE_URL", SQLITE_DEFAULT))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue instead of failing on a lock upgrade.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("OMNI_TEST_SQLITE", ":memory:")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "omni.User"

# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
TIME_ZONE = os.environ.get("OMNI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
# One catalogue for every staff page and service message (``manage.py makemessages`` from the
# project root collects every app's strings into it).
LOCALE_PATHS = [BASE_DIR / "staff" / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# The staff pages' login; the admin keeps its own at /admin/login/.
LOGIN_URL = "/staff/login/"
LOGIN_REDIRECT_URL = "/staff/"

# Celery: eager (in-process) unless a broker is configured.
REDIS_URL = env_secret("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# The queue every task goes to and every worker consumes (web, workers and beat must agree); the
# parallel integration tests give each test process its own on one Redis database.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("OMNI_CELERY_QUEUE", "celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# Above the longest task (a forecast chunk, an allocation run), so Redis never redelivers one
# still running (chunks are acknowledged late).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
# A worker reserves one message at a time: with late acknowledgement (forecast chunks) the tasks
# a worker had merely reserved would otherwise wait out the visibility timeout when it dies,
# and the chunks of a run would queue behind one worker while another sits idle.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "reservations-expire": {"task": "inventory.tasks.reservations_expire_task", "schedule": 60.0},
    "idempotency-purge": {"task": "omni.tasks.idempotency_purge_task", "schedule": 3600.0},
    "orders-expire-unpaid": {"task": "orders.tasks.orders_expire_unpaid_task", "schedule": 60.0},
    "pickups-expire-no-shows": {
        "task": "fulfillment.tasks.pickups_expire_no_shows_task",
        "schedule": 300.0,
    },
    # Waiting orders are routed again as stock comes free (on the event); this sweep catches
    # what no event announces: a new day's capacity, a buffer lowered, a store going live.
    "orders-route-waiting": {"task": "orders.tasks.orders_route_waiting_task", "schedule": 900.0},
    # Customer messages a failed send or a lost task left unsent go out again.
    "notifications-send-pending": {
        "task": "fulfillment.tasks.notifications_send_pending_task",
        "schedule": 300.0,
    },
    # Fails forecast runs whose worker died; starts each city's daily run (after 02:00 local).
    "forecast-runs": {"task": "forecasting.tasks.forecast_runs_tick_task", "schedule": 60.0},
    # Each city's daily replenishment proposal (once per local day, after the forecasts).
    "replenishment-daily": {
        "task": "purchasing.tasks.replenishment_runs_daily_task",
        "schedule": 600.0,
    },
}

# The cache holds the attempt counters of the rate limits: Redis when configured, so a limit
# holds across every web process and machine; this process's memory otherwise (one process).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "omni",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Limits on guessing (docs/operations.md, "Limits on attempts"). Logins (staff pages and admin):
# after OMNI_LOGIN_FAILURE_LIMIT failures for one user name from one address, that pair is
# refused for OMNI_LOGIN_COOLOFF_MINUTES (django-axes, counted in the database).
AXES_FAILURE_LIMIT = int(os.environ.get("OMNI_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("OMNI_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "staff.views.auth.locked_out"
# Behind N reverse proxies the client's address is the Nth from the right of X-Forwarded-For.
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("OMNI_PROXY_COUNT", "0")) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
# Pickup codes: refused redemptions per user (API or counter page), in the shared cache.
OMNI_PICKUP_REDEEM_FAILURES_RATE = os.environ.get("OMNI_PICKUP_REDEEM_FAILURES_RATE", "10/m")
# Wrong six-digit short codes per store, whoever types them; past it, short codes are refused at
# that store until the window ends (QR codes still work). docs/api.md has the guessing sums.
OMNI_PICKUP_SHORT_CODE_STORE_RATE = os.environ.get("OMNI_PICKUP_SHORT_CODE_STORE_RATE", "10/h")
RATELIMIT_USE_CACHE = "default"

# Observability (docs/operations.md, "Health, metrics, logs"). /metrics answers only with
# "Authorization: Bearer <OMNI_METRICS_TOKEN>"; unset, it does not exist.
# The company's currency: stock value, cost of goods, budgets. Purchases in another currency are
# converted at the exchange rate their purchase order was sent at.
OMNI_CURRENCY = os.environ.get("OMNI_CURRENCY", "CNY")
OMNI_METRICS_TOKEN = os.environ.get("OMNI_METRICS_TOKEN", "")
# How long /health/ready waits for a Celery worker's pong.
OMNI_HEALTH_CELERY_TIMEOUT = float(os.environ.get("OMNI_HEALTH_CELERY_TIMEOUT", "2"))

NINJA_PAGINATION_CLASS = "omni.pagination.CursorPagination"
NINJA_PAGINATION_PER_PAGE = 50
NINJA_MAX_PER_PAGE_SIZE = 500

# Pickup codes are signed with this Ed25519 key (base64 of 32 bytes, or PEM). Unset, a key is
# derived from SECRET_KEY: fine for a demo, refused by the production settings.
OMNI_SIGNING_KEY = env_secret("OMNI_SIGNING_KEY", "")
# How long a pickup waits at the store once ready, before it goes back to stock.
OMNI_PICKUP_HOLD_HOURS = int(os.environ.get("OMNI_PICKUP_HOLD_HOURS", "72"))
DEFAULT_FROM_EMAIL = os.environ.get("OMNI_FROM_EMAIL", "omni@localhost")
# Customer notifications: written to var/mail/ on one machine; set an SMTP backend to send.
EMAIL_BACKEND = os.environ.get(
    "OMNI_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = Path(os.environ.get("OMNI_EMAIL_FILE_PATH", VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("OMNI_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("OMNI_EMAIL_PORT", "25"))
EMAIL_TIMEOUT = 10
# A notification is sent by a Celery task after the order's transaction commits. A failed send
# is retried after OMNI_NOTIFY_RETRY_SECONDS, doubling each time (at most an hour apart), up to
# OMNI_NOTIFY_MAX_ATTEMPTS sends; the notifications-send-pending sweep picks up what is left.
OMNI_NOTIFY_RETRY_SECONDS = int(os.environ.get("OMNI_NOTIFY_RETRY_SECONDS", "60"))
OMNI_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("OMNI_NOTIFY_MAX_ATTEMPTS", "12"))

# Sourcing: units of each SKU a store keeps for its counter unless the rollout says otherwise,
# and what a kilometre between node and customer costs when nodes are compared.
OMNI_SHELF_PROTECTED_DEFAULT = int(os.environ.get("OMNI_SHELF_PROTECTED_DEFAULT", "1"))
OMNI_SHIP_COST_PER_KM = float(os.environ.get("OMNI_SHIP_COST_PER_KM", "0.5"))
# A pickup is ready this long after it is placed (within opening hours); with today's pickup
# slots gone it is promised for the next day with room, looking this many days ahead.
OMNI_PICKUP_PREP_MINUTES = int(os.environ.get("OMNI_PICKUP_PREP_MINUTES", "60"))
OMNI_PICKUP_DAYS_AHEAD = int(os.environ.get("OMNI_PICKUP_DAYS_AHEAD", "7"))

# How long a stored Idempotency-Key response is replayed.
OMNI_IDEMPOTENCY_TTL_HOURS = 24

# One line per record on stderr, each naming its request id (and task): JSON in production
# (``omni.settings.production``), plain text on a terminal. See docs/operations.md.
OMNI_LOG_FORMAT = os.environ.get("OMNI_LOG_FORMAT", "plain")
LOGGING = logging_config(OMNI_LOG_FORMAT, os.environ.get("OMNI_LOG_LEVEL", "INFO"), PROJECT_APPS)

# Loyalty: what a store's till may accept on a coupon's signature alone while offline, per
# day, unless the store has its own (``loyalty.StoreOfflineAllowance``): (count, amount).
OMNI_LOYALTY_OFFLINE_ALLOWANCE = (
    int(os.environ.get("OMNI_LOYALTY_OFFLINE_MAX_COUNT", "20")),
    os.environ.get("OMNI_LOYALTY_OFFLINE_MAX_AMOUNT", "500.00"),
)
