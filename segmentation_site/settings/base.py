"""Settings for every environment, read from environment variables.

With nothing set, the embedded default runs: SQLite under var/, Celery over kombu's
filesystem transport (a worker process needs no server), and a secret key generated once
into var/. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and HTTPS=1.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# Where the embedded default keeps its state (database, broker queue, uploads, models).
VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key() -> str:
    """A per-checkout random key for the embedded default, so no key is ever committed."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default=None) or _local_secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_celery_beat",
    "workspaces",
    "audit",
    "accounts",
    "customers",
    "clustering",
    "schedules",
    "alerts",
    "webhooks",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The audit log records the address of the request a service was called from.
    "audit.middleware.AuditRequestMiddleware",
    "common.middleware.RefuseUnreadableRequestsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # /w/<slug>/ puts the request in a workspace, with the user's role there.
    "accounts.workspace_access.WorkspaceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # A view that needs the broker or the cache while it is down answers 503, not 500.
    "common.outages.OutageMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "segmentation_site.urls"
WSGI_APPLICATION = "segmentation_site.wsgi.application"
ASGI_APPLICATION = "segmentation_site.asgi.application"

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
                "accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'segmentation.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to one file: wait for locks instead of failing,
    # and let readers go on while a writer commits.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First, as django-axes requires, so a locked-out user is refused before any check.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend with the permissions in one query (every API request asks).
    "accounts.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: lock a username+address pair out after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# The client's address from the proxy chain below (django-ipware is not used: it would trust
# the client's own headers when no proxy count is given).
AXES_CLIENT_IP_CALLABLE = "common.client_ip.client_ip"

# Behind BEHIND_PROXY=1, PROXY_COUNT proxies append to X-Forwarded-For (default 1): the
# client is the PROXY_COUNT-th address from the right. Without a proxy the header is ignored.
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
PROXY_COUNT = env.int("PROXY_COUNT", default=1 if BEHIND_PROXY else 0)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"  # never served publicly: uploads and models are read by views only
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Upload limit for transaction files (bytes); Django's in-memory cap stays small so large
# uploads stream to a temporary file.
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
# Uploaded files hold customers' e-mails and names: the workers delete those of imports
# finished more than this many days ago (customers.tasks.import_files_prune_expired); 0 keeps
# them until prune_import_files is run by hand.
IMPORT_FILES_KEEP_DAYS = env.int("IMPORT_FILES_KEEP_DAYS", default=30)
# PostgreSQL: the first import into an empty line table is bulk loaded (indexes dropped and
# rebuilt; customers/importing/bulk_load.py); off, every import goes through a staging table.
IMPORT_BULK_LOAD_EMPTY_TABLE = env.bool("IMPORT_BULK_LOAD_EMPTY_TABLE", default=True)
# Before writing, an import checks its first IMPORT_DRY_RUN_ROWS rows with the real rules and
# stops (writing nothing) when more than IMPORT_DRY_RUN_MAX_REJECTED_SHARE of them are rejected:
# most often a wrong column mapping (customers/importing/dry_run.py).
IMPORT_DRY_RUN_ROWS = env.int("IMPORT_DRY_RUN_ROWS", default=5_000)
IMPORT_DRY_RUN_MAX_REJECTED_SHARE = env.float("IMPORT_DRY_RUN_MAX_REJECTED_SHARE", default=0.5)
# What a transaction line may hold, in file imports and the JSON API alike
# (transaction_files/plausible.py): dates from IMPORT_EARLIEST_YEAR to the upload's time plus
# IMPORT_FUTURE_DAYS; quantity, unit price and line amount within ± their maximum.
IMPORT_EARLIEST_YEAR = env.int("IMPORT_EARLIEST_YEAR", default=1990)
IMPORT_FUTURE_DAYS = env.float("IMPORT_FUTURE_DAYS", default=2)
IMPORT_MAX_QUANTITY = env.float("IMPORT_MAX_QUANTITY", default=1e6)
IMPORT_MAX_UNIT_PRICE = env.float("IMPORT_MAX_UNIT_PRICE", default=1e8)
IMPORT_MAX_AMOUNT = env.float("IMPORT_MAX_AMOUNT", default=1e9)
# How far a file may go when read (transaction_files/sources.py FileLimits), each refused
# with its message before memory grows: inflated text (gzip) or workbook parts, inflated
# bytes per compressed byte, the longest line, header columns, lines per file.
IMPORT_MAX_INFLATED_BYTES = env.int("IMPORT_MAX_INFLATED_BYTES", default=2 * 1024**3)
IMPORT_MAX_INFLATE_RATIO = env.float("IMPORT_MAX_INFLATE_RATIO", default=100)
IMPORT_MAX_LINE_BYTES = env.int("IMPORT_MAX_LINE_BYTES", default=128 * 1024)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=1000)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=50_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The first handler stops keeping a file past IMPORT_MAX_UPLOAD_BYTES (customers/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "customers.uploads.ImportSizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Security -----------------------------------------------------------------------------
# HTTPS=1 behind TLS (directly or through a proxy) turns on secure cookies, redirects and HSTS.
HTTPS = env.bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
if BEHIND_PROXY:
    # Trust the proxy's scheme header only when a proxy really sets it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy without 'unsafe-inline': scripts are static files, chart data
# travels in json_script blocks.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ScopedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.InWorkspace",
        "accounts.permissions.ReadOnlyTokenPermission",
    ],
    # JSON bodies only (the import upload declares its own multipart parser), so the schema
    # says application/json and any other Content-Type is a 415 in the error format.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # Documents the 400/401/403/404/413/415/429/503 an operation can give (common.api_errors).
    "DEFAULT_SCHEMA_CLASS": "common.api_errors.ErrorDocumentingAutoSchema",
    # One error format for every API error: {"status", "code", "detail", "fields"}.
    "EXCEPTION_HANDLER": "common.api_errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "common.api_pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.ScopedWindowThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "predict": env("THROTTLE_PREDICT", default="6000/min"),
        "imports": env("THROTTLE_IMPORTS", default="30/hour"),
        "runs": env("THROTTLE_RUNS", default="60/hour"),
        # Sign-in (token endpoint and login page): per client address and per username.
        "auth": env("THROTTLE_AUTH", default="20/min"),
        "auth_username": env("THROTTLE_AUTH_USERNAME", default="10/min"),
    },
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=365)),
    "AUTO_REFRESH": False,
    "TOKEN_PREFIX": "seg_",
}
# knox's own token table is replaced by ours; its migrations would create an orphan table
# that references auth_user and blocks TRUNCATE on PostgreSQL.
MIGRATION_MODULES = {"knox": None}
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105  (a model name, not a secret)
SPECTACULAR_SETTINGS = {
    "TITLE": "Customer segmentation API",
    "DESCRIPTION": "Published customer segments, members and real-time segment assignment.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # Deep links put a link inside each operation's expand button (axe: nested-interactive);
    # docs/decisions/accessibility.md.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # An import's date order, asked by the upload and by "import again": one enum for both.
    "ENUM_NAME_OVERRIDES": {
        "ImportDateOrderEnum": "customers.api.DATE_ORDER_CHOICES",
        # The shop's setting and its imports share the choices; the name clients know stays.
        "ImportRecordDateOrderEnum": "workspaces.models.Workspace.DateOrder",
        # Two fields are named source: the predict answer's keeps the name clients know.
        "SourceEnum": [("stored", "stored"), ("predicted", "predicted")],
        "KeptOutSourceEnum": "customers.models.KeptOutCustomer.Source",
        # Alert rules and webhook endpoints name the same kinds: one enum, the name it had.
        "KindEnum": "clustering.signals.AlertKind",
    },
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # The default hook, then the OpenAPI links between operations (common/api_schema_links.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.api_schema_links.add_links",
    ],
}

# --- Cache --------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # django-redis keeps one redis-py client per pool; Django's RedisCache builds one per
    # operation, which costs the real-time predict path (docs/performance.md).
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_RESULT_BACKEND = env(
    "CELERY_RESULT_BACKEND", default=REDIS_URL or f"file://{VAR_DIR / 'celery-results'}"
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=30 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=35 * 60)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport, writing each message whole before workers see it
    CELERY_BROKER_TRANSPORT = "common.filesystem_broker:Transport"
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery-results").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # The exchange table (broadcasts, worker control); kombu's default is ./control,
        # inside whatever directory the process started in.
        "control_folder": str(_broker_dir / "control"),
        # kombu looks for new files once a second by default: a fanned-out run's short
        # parts would each wait that long (clustering/runs/fanout.py)
        "polling_interval": 0.1,
    }
else:
    # An unacknowledged task is redelivered after this long: it must outlast the hard
    # time limit, or a long task would run twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_TASK_TIME_LIMIT + 10 * 60,
    }
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- E-mail -------------------------------------------------------------------------------
# Alerts are mailed (alerts/services.py). The console backend prints them until an SMTP
# server is set: EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST...
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
# A mail server that does not answer must not hold up a worker for long.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="segmentation@localhost")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- Segmentation runs --------------------------------------------------------------------
# A running run's worker refreshes its heartbeat every RUN_HEARTBEAT_SECONDS; one silent for
# RUN_STALE_AFTER_SECONDS is re-queued (its worker died) until RUN_MAX_ATTEMPTS, then failed.
RUN_HEARTBEAT_SECONDS = env.int("RUN_HEARTBEAT_SECONDS", default=5)
RUN_STALE_AFTER_SECONDS = env.int("RUN_STALE_AFTER_SECONDS", default=60)
RUN_MAX_ATTEMPTS = env.int("RUN_MAX_ATTEMPTS", default=3)
RUN_REAPER_INTERVAL_SECONDS = env.int("RUN_REAPER_INTERVAL_SECONDS", default=30)
# A run's candidates shared by the workers (clustering/runs/fanout.py): "auto" from
# RUN_FANOUT_MIN_CUSTOMERS customers on (below, sending and joining parts costs more than it
# saves), "on" always, "off" never. Needs a result backend that joins chords.
RUN_FANOUT = env("RUN_FANOUT", default="auto")
RUN_FANOUT_MIN_CUSTOMERS = env.int("RUN_FANOUT_MIN_CUSTOMERS", default=50_000)
# A run of at least RUN_READ_SPLIT_MIN_CUSTOMERS customers reads its aggregates on
# RUN_READ_CONNECTIONS PostgreSQL connections at once, by ranges of customers, in one shared
# snapshot (clustering/shared_snapshot.py); 1 reads on one connection.
RUN_READ_CONNECTIONS = env.int("RUN_READ_CONNECTIONS", default=2)
RUN_READ_SPLIT_MIN_CUSTOMERS = env.int("RUN_READ_SPLIT_MIN_CUSTOMERS", default=200_000)
# BLAS/OpenMP threads per worker process: "auto" = the machine's cores // the worker's
# concurrency (at least 1), or a number (docs/decisions/one-blas-thread-per-worker.md).
WORKER_BLAS_THREADS = env("WORKER_BLAS_THREADS", default="auto")
# Each worker queues a heartbeat task at start and then this often; the dashboard shows the
# worker as running while the last one is under five minutes old.
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=120)

# --- Webhooks -----------------------------------------------------------------------------
# The site's public address, for the API links a webhook's body carries.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# A failed delivery is tried again after each of these waits (seconds), then marked failed.
WEBHOOK_RETRY_DELAYS = [
    int(s) for s in env.list("WEBHOOK_RETRY_DELAYS", default=[30, 120, 600, 3600, 21600])
]
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10)
# A delivery due this long ago that no worker took (its message lost with a broker outage or
# restart) is queued again by the workers' reaper.
WEBHOOK_OVERDUE_SECONDS = env.int("WEBHOOK_OVERDUE_SECONDS", default=600)
# Webhooks go only to public internet addresses unless this is on (tests, a closed network).
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
# A publication's alert check queued this long ago that no worker has done (its message lost
# with a broker outage) is queued again by the workers' reaper.
ALERT_CHECK_OVERDUE_SECONDS = env.int("ALERT_CHECK_OVERDUE_SECONDS", default=600)
# An alert's e-mail the mail server refused for now (unreachable, 4xx) is tried again after
# each of these waits (seconds), then left for a manager's "Send again".
ALERT_MAIL_RETRY_DELAYS = [
    int(s) for s in env.list("ALERT_MAIL_RETRY_DELAYS", default=[60, 300, 1800, 7200])
]
