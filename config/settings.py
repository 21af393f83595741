"""One settings file, driven by the environment.

With nothing set, the app runs on embedded defaults: SQLite in the repo folder, Celery tasks run eagerly in
the web process, e-mail printed to the console. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL (PostgreSQL), CELERY_BROKER_URL (Redis) and, with more than one web process, CACHE_URL
(Redis, for the API's rate limits).
"""

import os
import re
from pathlib import Path

import dj_database_url
import django_stubs_ext
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

# Lets Django classes take type parameters at run time (QuerySet[Trial], ModelAdmin[Trial]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default)).strip()
    if not re.fullmatch(r"[1-9][0-9]*", value):
        raise ImproperlyConfigured(f"{name} must be a whole number of 1 or more, got {value!r}")
    return int(value)


def env_rate(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip()
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name} must be a rate such as 600/minute, got {value!r}")
    return value


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-never-used-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SITE_ROOT = os.environ.get("SITE_ROOT", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "recruitment",
    "trials",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it reads the outcome of authentication.
    "axes.middleware.AxesMiddleware",
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
                "recruitment.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web process and an import running side by side must wait for each other, not fail at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds the API's request counts (recruitment/api_throttling.py). The embedded default keeps them
# per process; with several web processes, point CACHE_URL at Redis so that they share one count.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// or rediss:// URL, got {CACHE_URL!r}")
# Forms anyone may post that send an e-mail (registration, password reset): at most this many an hour from
# one client address, and to one e-mail address, so that nobody can flood an inbox or the mail relay. Counted
# in the cache (Redis in production; per process with the embedded defaults).
EMAIL_FORMS_PER_CLIENT_HOUR = env_positive_int("EMAIL_FORMS_PER_CLIENT_HOUR", 10)
EMAIL_FORMS_PER_ADDRESS_HOUR = env_positive_int("EMAIL_FORMS_PER_ADDRESS_HOUR", 3)

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUTH_USER_MODEL = "recruitment.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock an account+address pair out after repeated failures; a successful login resets the count.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Ours, not django-axes': failures at one account from all addresses within the cool-off that lock it at the
# addresses it never signed in from (recruitment/lockout.py), against guesses spread over many addresses.
# Those addresses come from axes' access log of successful sign-ins, which must stay on.
AXES_ACCOUNT_FAILURE_LIMIT = int(os.environ.get("AXES_ACCOUNT_FAILURE_LIMIT", "20"))
AXES_HANDLER = "recruitment.lockout.AccountAndAddressLockout"
AXES_DISABLE_ACCESS_LOG = False
# The sign-in form and authenticate() pass the e-mail address under the "username" key.
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Direct identifiers (names, phone, address, MFA secrets) are encrypted at rest with these Fernet keys:
# comma-separated, the first encrypts and all decrypt (rotation). The public development key serves only
# while DEBUG is on (demo, tests); `check --deploy` fails without a real key.
DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQta2V5LWRlbW8tdGVzdHMtMDA="
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY", DEV_FIELD_ENCRYPTION_KEY if DEBUG else "")

# Staff roles (site staff, sponsors, curators, admins) sign in with a second factor (TOTP, RFC 6238); wrong
# codes count as failed sign-ins for the axes lockout above.
MFA_ISSUER = os.environ.get("MFA_ISSUER", "Trial recruitment")
# How long the password step stays valid while the user fetches a code.
MFA_PENDING_SECONDS = int(os.environ.get("MFA_PENDING_SECONDS", "300"))

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(60 * 60 * 8)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "recruitment@localhost")

# Celery: a broker URL switches to real workers; without one, tasks run eagerly in-process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Delivery is at least once, and every task is safe to run twice (its upserts re-read the current state
# under the patient's row lock), so a lost worker costs time, never a match:
# - acks_late: a message is acknowledged only after its task finished; a worker killed mid-task (SIGKILL,
#   OOM, lost machine) leaves it unacknowledged and the broker delivers it again.
# - reject_on_worker_lost: when a pool process dies under a live worker, the message goes back to the queue
#   instead of being acknowledged as failed (a task that kills its process every time would loop; ours
#   don't).
# - Redis has no consumer acknowledgement timeout of its own: a message taken by a worker that vanished is
#   handed out again once it has been unacknowledged for the visibility timeout (checked when a worker
#   starts, then periodically). It must exceed the longest task (a 500-patient chunk takes seconds)
#   so that a running task is not handed to a second worker; an hour bounds the delay after a crash.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL or None)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", str(60 * 60)))
}
# Each worker child (prefork pool) is replaced after this many tasks, and after a task that leaves it above
# this resident memory, in KiB (Celery checks between tasks). The nlp pipeline is built once per process and
# spaCy's vocabulary and StringStore keep every new word it parses: a child living for ever grows for ever.
# The pipeline weighs about 140 MiB and takes a few seconds to build again; a task parses 100 trials.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_positive_int("CELERY_WORKER_MAX_TASKS_PER_CHILD", 100)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_positive_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 512 * 1024)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The nightly run re-matches only the patients whose results the date can have changed since their last
# re-match (recruitment/matching/horizon.py); every patient is re-matched at least this often all the same,
# as a safety net for anything that changes results without queuing a re-match (each patient after 3/4 of it
# to all of it, by id, so that a night that re-matched everyone does not come back as one night).
REMATCH_HORIZON_MAX_DAYS = env_positive_int("REMATCH_HORIZON_MAX_DAYS", 30)
# The nightly re-match: ages and time windows (washouts, "within 28 days") move with the date even when no
# profile or trial changed; it takes the patients due (see REMATCH_HORIZON_MAX_DAYS above; `manage.py rematch`
# re-matches everyone). django-celery-beat's DatabaseScheduler stores this as a periodic task.
CELERY_BEAT_SCHEDULE = {
    "nightly-rematch": {
        "task": "recruitment.tasks.rematch_everyone",
        "schedule": crontab(
            hour=int(os.environ.get("REMATCH_HOUR", "2")), minute=int(os.environ.get("REMATCH_MINUTE", "15"))
        ),
    },
    # After an upgrade of the parser or its dictionaries, every trial is parsed again (before the re-match).
    "nightly-parse-outdated-trials": {
        "task": "trials.tasks.parse_outdated_trials",
        "schedule": crontab(hour=1, minute=30),
    },
    # Matches held back by the per-patient e-mail throttle go out on a later run.
    "hourly-match-alerts": {"task": "recruitment.tasks.send_match_alerts", "schedule": crontab(minute=5)},
    # Sponsors' enrolment snapshots: the new day's for every trial with candidates, and any day missed.
    # Transitions refresh their trial's snapshot at once; this run draws the days without any.
    "daily-enrolment-snapshots": {
        "task": "recruitment.tasks.refresh_enrolment_snapshots",
        "schedule": crontab(hour=0, minute=10),
    },
    # Site staff's digest of new candidates, before the working day.
    "daily-site-digests": {
        "task": "recruitment.tasks.send_site_digests",
        "schedule": crontab(hour=int(os.environ.get("SITE_DIGEST_HOUR", "7")), minute=0),
    },
    # Re-matches a profile change could not queue (broker down at commit) wait in the database; send them.
    "requested-rematches": {"task": "recruitment.tasks.rematch_requested", "schedule": crontab(minute="*/5")},
    # Candidates a match or consent owed the sites while the broker could not take the take-up task.
    "owed-take-ups": {"task": "recruitment.tasks.take_up_owed", "schedule": crontab(minute="*/10")},
}

# Request bodies. The largest legitimate ones are FHIR imports (recruitment/fhir_import.py, 5 MB a file or
# pasted text). Form fields other than files may take that much plus room for the form's other fields;
# a file up to the import limit stays in memory rather than in a temporary file on disk (it is health data,
# and the import reads it whole anyway). The import pages stop keeping a file once it passes the limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes an anonymous call a 401, not a 403. Ours refuses the
        # tokens of users who sign in with a second factor, staff or patients who set one up (a token never
        # passes the code step).
        "recruitment.api_auth.NoMfaBypassTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's default parsers, with JSON nested too deeply to read refused as a 400 on every endpoint rather
    # than a RecursionError (a 500).
    "DEFAULT_PARSER_CLASSES": [
        "trials.api.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Over its budget a caller gets 429 with Retry-After. Rates are "<count>/<second|minute|hour|day>".
    "DEFAULT_THROTTLE_CLASSES": [
        "recruitment.api_throttling.AnonymousApiThrottle",
        "recruitment.api_throttling.UserApiThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANON", "60/minute"),
        "user": env_rate("API_THROTTLE_USER", "600/minute"),
    },
    # Anonymous calls are counted by REMOTE_ADDR alone, as everywhere in the app: a client cannot pick its
    # own address by sending X-Forwarded-For (a proxy in front must put the client's address in REMOTE_ADDR).
    "NUM_PROXIES": 0,
    # JSON only, the browsable pages with DEBUG on (recruitment/api_negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "recruitment.api_negotiation.JsonUnlessDebugNegotiation",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # django-filter's, refusing unknown query parameters on lists (trials/api/filters.py).
    "DEFAULT_FILTER_BACKENDS": ["trials.api.filters.KnownParametersFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Stratified recruitment matcher API",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files: no CDN, and the page passes our Content-Security-Policy.
    "SWAGGER_UI_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "recruitment.api_throttling.document_rate_limits",
    ],
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One enum per model choice class: several fields share a class (a candidate's status, expected_status,
    # from_status and to_status), and fields of one name use different classes (status, sex).
    "ENUM_NAME_OVERRIDES": {
        "CandidateStatusEnum": "recruitment.models.CandidateStatus",
        "TrialStatusEnum": "trials.models.Trial.Status",
        "CriterionStatusEnum": "trials.models.EligibilityCriterion.Status",
        "BiomarkerStatusEnum": "recruitment.models.Biomarker.Status",
        "PatientSexEnum": "recruitment.models.PatientProfile.Sex",
        "TrialSexEnum": "trials.models.Trial.Sex",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # In eager mode every task would log a line into the command or request that ran it.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}
