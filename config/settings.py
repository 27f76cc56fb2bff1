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
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is not set: set it (or DJANGO_DEBUG=1 for local development).")

# Never "testserver": Django's test set-up adds it for tests only; in production it would let a
# request with Host: testserver build reset links to https://testserver/….
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    # Before django_rq: its rqworker commands are overridden to read JSON jobs by default.
    "config.apps.ConfigConfig",
    "django_rq",
    "django_htmx",
    "podcasts",
    "summaries",
    "curation",
    "django_ratelimit",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
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
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: take the write lock up front instead of failing on upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
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
# Every job is JSON (ids only); `manage.py rqworker` and `rqworker-pool` default to it and refuse others.
RQ_SERIALIZER = "rq.serializers.JSONSerializer"
RQ_QUEUES = {
    name: {
        **_rq_connection,
        "DEFAULT_TIMEOUT": 600,
        "SERIALIZER": RQ_SERIALIZER,
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
    ),
    # Rate-limit counters must be shared by every gunicorn worker process: Redis, or
    # without it a table in the database (`migrate` creates it, config/apps.py), never
    # the per-process memory cache (each of N workers would allow the full rate).
    "ratelimit": (
        {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "config.cache.DatabaseCache", "LOCATION": "castnotes_ratelimit_cache"}
    ),
}
RATELIMIT_USE_CACHE = "ratelimit"
# Sessions are read on every signed-in page: from Redis when there is one, written
# through to the database so a flushed cache logs nobody out. Without Redis the
# cache is per process, which could keep serving a session another process ended.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
# Ranked search hits are cached this long (0 turns the cache off); see summaries.selectors.
SEARCH_CACHE_SECONDS = env.int("SEARCH_CACHE_SECONDS", default=60)

# --- Pipeline ---------------------------------------------------------------------
MAX_ATTEMPTS = env.int("MAX_ATTEMPTS", default=3)
# A feed's first ingest sends only its newest N episodes down the pipeline.
BACKFILL_EPISODES = env.int("BACKFILL_EPISODES", default=3)
FEED_MAX_BYTES = env.int("FEED_MAX_BYTES", default=20 * 1024 * 1024)
# A feed's first N items (newest first) are read, and show notes are cut at N bytes; the
# cut is logged (feed_cut) and reported by addfeed/pollfeeds --json.
FEED_MAX_ITEMS = env.int("FEED_MAX_ITEMS", default=2000)
FEED_FIELD_MAX_BYTES = env.int("FEED_FIELD_MAX_BYTES", default=100_000)
AUDIO_MAX_BYTES = env.int("AUDIO_MAX_BYTES", default=500 * 1024 * 1024)
AUDIO_MAX_SECONDS = env.int("AUDIO_MAX_SECONDS", default=4 * 60 * 60)
# The audio cache's limits, enforced by the scheduler (podcasts/media.py); 0 turns each off.
AUDIO_RETENTION_DAYS = env.int("AUDIO_RETENTION_DAYS", default=0)
MEDIA_MAX_BYTES = env.int("MEDIA_MAX_BYTES", default=0)
FETCH_ALLOW_PRIVATE_NETWORKS = env.bool("FETCH_ALLOW_PRIVATE_NETWORKS", default=False)
# Specific non-public networks an operator trusts (e.g. an internal feed host), as CIDRs:
# "10.1.2.0/24" on ports 80 and 443 only, "10.1.2.3/32:8080" (or "[fd00::/8]:8080") on that port.
FETCH_ALLOWED_NETWORKS = env.list("FETCH_ALLOWED_NETWORKS", default=[])
FETCH_CONNECT_TIMEOUT = env.float("FETCH_CONNECT_TIMEOUT", default=10.0)
FETCH_READ_TIMEOUT = env.float("FETCH_READ_TIMEOUT", default=30.0)
FETCH_FEED_DEADLINE = env.float("FETCH_FEED_DEADLINE", default=60.0)
FETCH_USER_AGENT = "Castnotes/0.1 (+https://github.com/castnotes/castnotes)"

WHISPER_MODEL = env.str("WHISPER_MODEL", default="")  # empty: the bundled tiny.en
WHISPER_COMPUTE_TYPE = env.str("WHISPER_COMPUTE_TYPE", default="int8")
WHISPER_THREADS = env.int("WHISPER_THREADS", default=0)  # 0: CTranslate2 picks
WHISPER_BEAM_SIZE = env.int("WHISPER_BEAM_SIZE", default=1)  # 1: ~40% faster than 5 on CPU
# Decoding temperatures whisper falls back through when a window decodes badly (faster-whisper's
# default); "0" alone decodes greedily, the same words every run.
WHISPER_TEMPERATURES = [float(t) for t in env.list("WHISPER_TEMPERATURES", default=["0", "0.2", "0.4", "0.6", "0.8", "1"])]
# Audio is transcribed in windows of this length (cut in a pause), so memory does not grow with the episode.
WHISPER_WINDOW_SECONDS = env.float("WHISPER_WINDOW_SECONDS", default=300.0)
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
SUMMARY_PROVIDER = env.str("SUMMARY_PROVIDER", default="anthropic" if ANTHROPIC_API_KEY else "extractive")
if SUMMARY_PROVIDER not in ("anthropic", "extractive", "openai"):
    raise ImproperlyConfigured("SUMMARY_PROVIDER must be 'anthropic', 'openai' or 'extractive'.")
if SUMMARY_PROVIDER == "anthropic" and not ANTHROPIC_API_KEY:
    raise ImproperlyConfigured("SUMMARY_PROVIDER=anthropic needs ANTHROPIC_API_KEY.")
SUMMARY_PROMPT_VERSION = env.str("SUMMARY_PROMPT_VERSION", default="v3")
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
# Sampling temperature sent with prompt v3 and later when set (e.g. 0.2). Unset by default:
# Anthropic API version 2026-10-21, which the anthropic 2.x SDK sends, rejects any temperature
# with a 400, so only set it for a proxy or server that accepts one (docs/summaries.md).
SUMMARY_TEMPERATURE = env.float("SUMMARY_TEMPERATURE", default=None)
if SUMMARY_TEMPERATURE is not None and not 0.0 <= SUMMARY_TEMPERATURE <= 1.0:
    raise ImproperlyConfigured("SUMMARY_TEMPERATURE must be between 0 and 1.")
if ANTHROPIC_TIMEOUT * (ANTHROPIC_MAX_RETRIES + 1) + ANTHROPIC_RETRY_AFTER_MAX * ANTHROPIC_MAX_RETRIES >= SUMMARIES_JOB_TIMEOUT:
    raise ImproperlyConfigured(
        "ANTHROPIC_TIMEOUT x (ANTHROPIC_MAX_RETRIES + 1) + retry waits must stay below SUMMARIES_JOB_TIMEOUT."
    )
if SUMMARY_DEADLINE_SECONDS >= SUMMARIES_JOB_TIMEOUT:
    raise ImproperlyConfigured("SUMMARY_DEADLINE_SECONDS must stay below SUMMARIES_JOB_TIMEOUT.")
if SUMMARY_PROVIDER == "anthropic" and not any(ANTHROPIC_MODEL.startswith(m) for m in LLM_PRICES_USD_PER_MTOK):
    raise ImproperlyConfigured(f"ANTHROPIC_MODEL {ANTHROPIC_MODEL!r} has no price in LLM_PRICES_USD_PER_MTOK.")
# Any OpenAI-compatible /v1/chat/completions server: Ollama, llama.cpp, vLLM, LM Studio, OpenAI
# (docs/summaries.md "Local models"). There is no portable way to ask a server its context
# window, so OPENAI_CONTEXT_TOKENS must say it; a longer transcript is summarized in parts.
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")  # local servers need none
OPENAI_MODEL = env.str("OPENAI_MODEL", default="")
OPENAI_CONTEXT_TOKENS = env.int("OPENAI_CONTEXT_TOKENS", default=0)
# The reply's share of the context window.
OPENAI_MAX_OUTPUT_TOKENS = env.int(
    "OPENAI_MAX_OUTPUT_TOKENS", default=min(SUMMARY_MAX_OUTPUT_TOKENS, max(OPENAI_CONTEXT_TOKENS // 4, 256))
)
# A local model on a CPU is slow: raise SUMMARIES_JOB_TIMEOUT with OPENAI_TIMEOUT (docs/summaries.md).
OPENAI_TIMEOUT = env.float("OPENAI_TIMEOUT", default=120.0)
OPENAI_MAX_RETRIES = env.int("OPENAI_MAX_RETRIES", default=2)
OPENAI_RETRY_AFTER_MAX = env.float("OPENAI_RETRY_AFTER_MAX", default=30.0)
OPENAI_RETRY_BACKOFF = env.float("OPENAI_RETRY_BACKOFF", default=2.0)


def _is_local_url(url: str) -> bool:
    """A loopback, private-network or single-label host (e.g. a compose service named `ollama`)."""
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or "." not in host or host.endswith((".local", ".internal", ".lan"))
    return address.is_loopback or address.is_private or address.is_link_local


if SUMMARY_PROVIDER == "openai":
    if not OPENAI_BASE_URL:
        raise ImproperlyConfigured(
            "SUMMARY_PROVIDER=openai needs OPENAI_BASE_URL, the server's OpenAI-compatible endpoint "
            "(e.g. http://127.0.0.1:11434/v1 for Ollama, http://127.0.0.1:8080/v1 for llama.cpp)."
        )
    if not OPENAI_MODEL:
        raise ImproperlyConfigured("SUMMARY_PROVIDER=openai needs OPENAI_MODEL (the model name the server knows).")
    if OPENAI_CONTEXT_TOKENS < 1024:
        raise ImproperlyConfigured(
            "SUMMARY_PROVIDER=openai needs OPENAI_CONTEXT_TOKENS, the server's context window in tokens "
            "(at least 1024; e.g. Ollama's num_ctx or llama.cpp's --ctx-size / --n_ctx)."
        )
    if not 0 < OPENAI_MAX_OUTPUT_TOKENS <= OPENAI_CONTEXT_TOKENS // 2:
        raise ImproperlyConfigured("OPENAI_MAX_OUTPUT_TOKENS must be positive and at most half of OPENAI_CONTEXT_TOKENS.")
    if OPENAI_TIMEOUT * (OPENAI_MAX_RETRIES + 1) + OPENAI_RETRY_AFTER_MAX * OPENAI_MAX_RETRIES >= SUMMARIES_JOB_TIMEOUT:
        raise ImproperlyConfigured(
            "OPENAI_TIMEOUT x (OPENAI_MAX_RETRIES + 1) + retry waits must stay below SUMMARIES_JOB_TIMEOUT."
        )
    if not any(OPENAI_MODEL.startswith(m) for m in LLM_PRICES_USD_PER_MTOK):
        if not _is_local_url(OPENAI_BASE_URL):
            raise ImproperlyConfigured(f"OPENAI_MODEL {OPENAI_MODEL!r} has no price in LLM_PRICES_USD_PER_MTOK.")
        # A model on the operator's own machine or network costs nothing per token.
        LLM_PRICES_USD_PER_MTOK = {**LLM_PRICES_USD_PER_MTOK, OPENAI_MODEL: {"input": 0.0, "output": 0.0}}
REGENERATIONS_PER_DAY = env.int("REGENERATIONS_PER_DAY", default=5)
EMAILS_PER_USER_PER_DAY = env.int("EMAILS_PER_USER_PER_DAY", default=50)

# --- Email ------------------------------------------------------------------------
# Unset: printed to the console under DJANGO_DEBUG; otherwise not sent at all (the console
# would put addresses and live reset links in the process's output), and `check --deploy` warns.
if env.str("EMAIL_URL", default="") or DEBUG:
    vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
else:
    EMAIL_BACKEND = "config.mail.UnconfiguredEmailBackend"
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
    # Preload lists are a commitment (every subdomain HTTPS for years, slow to undo): opt-in.
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
    # Load balancers and orchestrators probe /healthz over plain HTTP: a redirect is a failed probe.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging: JSON events, ids not emails, no secrets ---------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "config.logging.RedactingJsonFormatter",
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
# Reset links, private-feed tokens, Bearer tokens and addresses never reach a log line.
LOGGING["filters"]["redact_secrets"] = {"()": "config.logging.RedactSecrets"}
LOGGING["handlers"]["console"]["filters"] = ["request_path_only", "redact_secrets"]
# Python warnings go through logging, so every line a process writes is JSON.
import logging as _logging  # noqa: E402

_logging.captureWarnings(True)

# Rate limits (config/ratelimits.py), per client IP or signed-in user, on POSTs.
RATELIMIT_VIEW = "config.ratelimits.ratelimited"
RATELIMIT_LOGIN = env.str("RATELIMIT_LOGIN", default="10/m")
RATELIMIT_SIGNUP = env.str("RATELIMIT_SIGNUP", default="10/h")
# Each password-reset POST can send an email: per client address, and per address asked for.
RATELIMIT_PASSWORD_RESET = env.str("RATELIMIT_PASSWORD_RESET", default="10/h")
RATELIMIT_PASSWORD_RESET_ADDRESS = env.str("RATELIMIT_PASSWORD_RESET_ADDRESS", default="3/h")
RATELIMIT_FEED_SUBMIT = env.str("RATELIMIT_FEED_SUBMIT", default="10/h")
# Regenerate is idempotent (a burst of clicks makes one Delivery): the limit only stops hammering.
RATELIMIT_REGENERATE = env.str("RATELIMIT_REGENERATE", default="60/m")
# Behind a proxy REMOTE_ADDR is the proxy: name the header that carries the client address.
if env.str("RATELIMIT_IP_META_KEY", default=""):
    RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY")
# --- JSON API (docs/api.md): personal Bearer tokens only, JSON only, capped pages ----------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["summaries.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "summaries.api.permissions.ReadOnlyTokenIsReadOnly",
    ],
    "DEFAULT_PAGINATION_CLASS": "summaries.api.pagination.Pagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.FormParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Castnotes API",
    "DESCRIPTION": "Podcasts, episodes with summaries, chapters and transcripts, search, feed submission and "
    "regeneration, with the web's rules. Authenticate with `Authorization: Bearer <personal API token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI from the drf-spectacular-sidecar package (static files): no CDN, CSP script-src 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"PipelineStatusEnum": "podcasts.models.PipelineStatus"},
}
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is opt-in (DJANGO_HSTS_PRELOAD); Django warns whenever it is off.
    *([] if DEBUG or globals().get("SECURE_HSTS_PRELOAD") else ["security.W021"]),
    # Django's own RedisCache increments atomically (INCR); django-ratelimit 4.1 predates it.
    # Without Redis: config.cache.DatabaseCache, whose incr locks the row (also not on its list).
    "django_ratelimit.W001",
]
