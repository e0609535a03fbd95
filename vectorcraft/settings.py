"""VectorCraft settings, read from the environment (django-environ).

Every variable is listed with its default in .env.example and README.md. With nothing set, the
project runs on embedded defaults: SQLite under var/, the ORM broker, a file cache, console e-mail.
"""

from pathlib import Path

import environ

from vectorcraft.config import (
    DEVELOPMENT_SECRET_KEY,
    ConfigurationError,
    s3_media_storage,
    validate_config,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# --- Mode ------------------------------------------------------------------------------------
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
REDIS_URL = env.str("REDIS_URL", default="")
PAYPAL_SIMULATOR = env.bool("PAYPAL_SIMULATOR", default=False)
Q_BROKER = env.str("Q_BROKER", default="orm")
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
S3_BUCKET = env.str("S3_BUCKET", default="")

if PRODUCTION:
    _problems = validate_config(
        {
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": ALLOWED_HOSTS,
            "DEBUG": DEBUG,
            "DATABASE_URL": env.str("DATABASE_URL", default=""),
            "REDIS_URL": REDIS_URL,
            "Q_BROKER": Q_BROKER,
            "PAYPAL_SIMULATOR": PAYPAL_SIMULATOR,
            "PAYPAL_RECEIVER_EMAIL": env.str("PAYPAL_RECEIVER_EMAIL", default=""),
        }
    )
    if _problems:
        raise ConfigurationError(_problems)
if Q_BROKER not in ("orm", "redis") or (Q_BROKER == "redis" and not REDIS_URL):
    raise ConfigurationError(["Q_BROKER must be 'orm', or 'redis' together with REDIS_URL."])
if MEDIA_STORAGE not in ("filesystem", "s3") or (MEDIA_STORAGE == "s3" and not S3_BUCKET):
    raise ConfigurationError(
        ["MEDIA_STORAGE must be 'filesystem', or 's3' together with S3_BUCKET."]
    )

# --- Applications ----------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "allauth",
    "allauth.account",
    "rest_framework",
    "rest_framework_api_key",
    "payments.apps.PayPalIpnConfig",  # django-paypal's IPN app, with the ids its migrations make
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "health_check",
    "idempotency",
    "accounts",
    "vectorize",
    "payments",
    "dashboard",
]
if not PRODUCTION:
    # Tooling, not the product: `manage.py bench_engine`, `bench_pipeline` and `loadtest`
    # (make bench, make loadtest). The product apps import nothing from it.
    INSTALLED_APPS.append("benchmarks")

MIDDLEWARE = [
    "vectorcraft.logging.RequestIdMiddleware",
    "dashboard.middleware.ResponseCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the web process, compressed and cached forever by hash.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "vectorcraft.urls"
WSGI_APPLICATION = "vectorcraft.wsgi.application"
ASGI_APPLICATION = "vectorcraft.asgi.application"

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
                "payments.context_processors.credits",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Q cluster write to the same file: WAL lets readers carry on while
    # one writes, and IMMEDIATE transactions queue writers instead of failing with "locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so a qcluster process started by the tests sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions ----------------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "vectorcraft",
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    # A file cache, not local memory: the web server and the Q cluster are separate processes
    # and must see the same cluster status and rate-limit counters.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env.str("CACHE_DIR", default=str(VAR_DIR / "cache")),
        }
    }

# --- Authentication (django-allauth) ---------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
# mandatory | optional | none
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_ALLOW_SIGNUPS = env.bool("ACCOUNT_ALLOW_SIGNUPS", default=True)
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[VectorCraft] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# allauth's rate limits (on by default) count in the cache: the file cache here, Redis in
# production. 10 failed logins a minute from one address, 5 per 5 minutes for one account.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="10/m/ip,5/5m/key"),
}
# Behind a reverse proxy: how many proxies append to X-Forwarded-For. The client address is the
# one the outermost trusted proxy saw; anything a client writes further left is ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- E-mail ----------------------------------------------------------------------------------
# EMAIL_URL: consolemail:// (development), smtp+tls://user:password@host:587 (production).
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="VectorCraft <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Staff who get alert mail (payment problems and, later, health alerts): comma-separated.
ADMINS = [("VectorCraft staff", address) for address in env.list("ADMINS", default=[])]

# --- REST API (Django REST framework) ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "vectorcraft.api.exception_handler",
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # ?format= names the download format (svg, pdf, eps, png), not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # Per API key or user, counted in the shared cache (Redis in production).
    "DEFAULT_THROTTLE_RATES": {
        "submit": env.str("API_SUBMIT_RATE", default="60/min"),
        "read": env.str("API_READ_RATE", default="600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VectorCraft API",
    "DESCRIPTION": (
        "Turn raster images into clean SVG. Authenticate with `Authorization: Api-Key <key>` or "
        '`X-API-Key: <key>`. Every error is `{"error": {"code", "message", "details"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# Cross-origin API calls: off unless origins are listed (comma-separated).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-api-key",
    "x-csrftoken",
]
CORS_EXPOSE_HEADERS = [
    "Location",
    "Retry-After",
    "Idempotent-Replayed",
    "X-Credits-Charged",
    "X-Credits-Remaining",
    "X-Wait-Skipped",
]
# How long ?wait= may hold a job-creation response.
API_MAX_WAIT_SECONDS = 30
# ?wait= holds a web thread: at most this many requests of one web process wait at once, and one
# per account on the whole service; past either, the job is answered 202 at once (poll it).
API_WAITS_PER_PROCESS = env.int("API_WAITS_PER_PROCESS", default=2)
API_WAITS_PER_ACCOUNT = env.int("API_WAITS_PER_ACCOUNT", default=1)
# A job traced in preview mode is scaled down to at most this many pixels.
PREVIEW_MAX_PIXELS = env.int("PREVIEW_MAX_PIXELS", default=250_000)
IDEMPOTENCY_KEY_TTL_HOURS = 24
MAX_BATCH_FILES = env.int("MAX_BATCH_FILES", default=20)
# Fair use: jobs one account may have queued or running at once, and free jobs (previews and
# tests) one account may start in 24 hours.
MAX_JOBS_IN_FLIGHT = env.int("MAX_JOBS_IN_FLIGHT", default=20)
FREE_JOBS_PER_DAY = env.int("FREE_JOBS_PER_DAY", default=100)

# --- Credits and payments ----------------------------------------------------------------------
# Free credits for a new account, and the balance a monthly schedule tops every account up to.
SIGNUP_CREDITS = env.int("SIGNUP_CREDITS", default=10)
MONTHLY_FREE_CREDITS = env.int("MONTHLY_FREE_CREDITS", default=10)
# What one production job costs; previews and tests are free.
CREDITS_PER_JOB = env.int("CREDITS_PER_JOB", default=1)
# PayPal Payments Standard (django-paypal). PAYPAL_TEST uses the sandbox.
PAYPAL_RECEIVER_EMAIL = env.str("PAYPAL_RECEIVER_EMAIL", default="payments@vectorcraft.local")
PAYPAL_TEST = env.bool("PAYPAL_TEST", default=not PRODUCTION)
# Seconds the IPN postback to PayPal may take before the IPN is refused with 503 (PayPal retries).
PAYPAL_POSTBACK_TIMEOUT = env.float("PAYPAL_POSTBACK_TIMEOUT", default=5)

# --- Monitoring --------------------------------------------------------------------------------
# Bearer token for Prometheus at /metrics (staff logins work too); empty: staff only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Alerts (mailed to ADMINS once per incident, and again on recovery).
ALERT_FAILURE_RATE = env.float("ALERT_FAILURE_RATE", default=0.5)
ALERT_MIN_JOBS = env.int("ALERT_MIN_JOBS", default=5)
ALERT_QUEUE_AGE_SECONDS = env.int("ALERT_QUEUE_AGE_SECONDS", default=600)

# --- Internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files ------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
if not PRODUCTION:
    # whitenoise serves the source folders directly (no collectstatic needed in development).
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = DEBUG
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
# Uploads and outputs: never under a static path, never served directly; every download goes
# through a view that checks the owner.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "/media/"
# Where uploads and outputs live: "filesystem" (MEDIA_ROOT, one machine) or "s3" (a bucket that
# every web and worker node shares, so no node keeps media on its own disk).
if MEDIA_STORAGE == "s3":
    _media_storage = s3_media_storage(
        bucket=S3_BUCKET,
        endpoint_url=env.str("S3_ENDPOINT_URL", default=""),
        region=env.str("S3_REGION", default=""),
        prefix=env.str("S3_PREFIX", default=""),
        addressing_style=env.str("S3_ADDRESSING_STYLE", default=""),
    )
else:
    # A retried job writes its output over its own file, as the S3 storage does.
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"allow_overwrite": True},
    }
STORAGES = {
    "default": _media_storage,
    # Production serves hashed, compressed copies made by `collectstatic`; development serves
    # the source folders as they are.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Readiness (/health/ready) and the alerts report the media disk as full below this much free
# space (filesystem storage only).
MEDIA_MIN_FREE_MB = env.int("MEDIA_MIN_FREE_MB", default=512)
# Uploads up to this size stay in memory; larger ones spool to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Vectorization ---------------------------------------------------------------------------
# Limits checked before anything is stored or queued.
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
MAX_IMAGE_PIXELS = env.int("MAX_IMAGE_PIXELS", default=40_000_000)
# A job's time limit in the worker (seconds) and how many times a job whose worker died is
# tried before it is marked failed.
JOB_TIMEOUT = env.int("JOB_TIMEOUT", default=300)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=2)
# Images above this many pixels are traced in a child process that the worker stops at
# JOB_TIMEOUT (the engine cannot be interrupted inside vtracer), and are estimated before they
# are accepted: one whose estimate is past JOB_TIMEOUT is refused. Smaller ones always finish
# in a small fraction of the limit (noise at 2 megapixels: about 20 s).
ISOLATE_ABOVE_PIXELS = env.int("ISOLATE_ABOVE_PIXELS", default=2_000_000)
# Uploads and results older than this many days are deleted from storage (rows stay).
RETENTION_DAYS = env.int("RETENTION_DAYS", default=30)
# The reaper takes over jobs that nobody finished: running longer than the time limit plus this
# grace, or queued this long without being picked up.
REAPER_GRACE_SECONDS = env.int("REAPER_GRACE_SECONDS", default=120)

# --- Q cluster (django-q2) -------------------------------------------------------------------
Q_WORKERS = env.int("Q_WORKERS", default=2)
# A worker is replaced after this many jobs, or after a job took its memory past Q_MAX_RSS_MB.
# A new worker traces its first large images more slowly (about 15 to 30 % here), so memory is
# what bounds a worker's life, and the count only guards against slow leaks.
Q_RECYCLE = env.int("Q_RECYCLE", default=2000)
Q_MAX_RSS_MB = env.int("Q_MAX_RSS_MB", default=1024)
# Previews (free) have a queue and a cluster of their own (`Q_CLUSTER_NAME=previews manage.py
# qcluster`): paid jobs never wait behind free ones. Empty: previews share the main queue.
Q_PREVIEW_CLUSTER = env.str("Q_PREVIEW_CLUSTER", default="previews")
Q_PREVIEW_WORKERS = env.int("Q_PREVIEW_WORKERS", default=1)
Q_CLUSTER = {
    "name": "vectorcraft",
    "workers": Q_WORKERS,
    # The engine's own deadline (JOB_TIMEOUT, in a child process) comes first; django-q2's is
    # the net behind it. It must stay below retry, or a slow job would be handed to a second
    # worker while the first is still on it.
    "timeout": JOB_TIMEOUT + 60,
    "retry": JOB_TIMEOUT + 120,
    # Workers start a child process for a large image's engine run: daemonic ones cannot.
    "daemonize_workers": False,
    "max_attempts": JOB_MAX_ATTEMPTS + 1,
    "ack_failures": False,
    "recycle": Q_RECYCLE,
    "max_rss": Q_MAX_RSS_MB * 1024,  # django-q2 counts in KB (the worker's peak RSS)
    "save_limit": 1000,
    # Tasks a cluster takes from the broker ahead of its workers: no more than it can start, so
    # with several worker nodes a busy node never holds back jobs an idle node could run.
    "queue_limit": Q_WORKERS,
    "catch_up": False,
    "label": "Task queue",
    "cache": "default",
}
# A job `queued` this long is taken for a lost message and sent again (a duplicate message is
# harmless: a job that is running or finished is never traced twice).
REAPER_QUEUED_SECONDS = env.int(
    "REAPER_QUEUED_SECONDS", default=Q_CLUSTER["retry"] + REAPER_GRACE_SECONDS
)
if Q_PREVIEW_CLUSTER:
    Q_CLUSTER["ALT_CLUSTERS"] = {
        Q_PREVIEW_CLUSTER: {"workers": Q_PREVIEW_WORKERS, "queue_limit": Q_PREVIEW_WORKERS}
    }
if Q_BROKER == "redis":
    Q_CLUSTER["django_redis"] = "default"
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = env.float("Q_POLL", default=0.2)

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # A load balancer or monitor probes each node's gunicorn over plain HTTP, past nginx: the
    # health checks answer there instead of redirecting (they carry no user data).
    SECURE_REDIRECT_EXEMPT = [r"^health/"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging ---------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# JSON lines in production (python-json-logger), readable lines in development; both carry the
# request id and, in tasks, the job id.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "vectorcraft.logging.ContextFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [req %(request_id)s job %(job_id)s]: "
            "%(message)s"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(job_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # django-q2 logs under this name (not its package's).
        "django-q": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # django-paypal logs whole IPN bodies at DEBUG: never let those through.
        "paypal": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
