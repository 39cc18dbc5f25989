"""Guanxi settings. Every value comes from the environment through `env()`, with safe demo defaults."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GUANXI_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env(name, default=None, cast=str):
    """The one place settings read the environment."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if cast is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if cast is list:
        return [item.strip() for item in raw.split(",") if item.strip()]
    return cast(raw)


def _secret_key():
    # The demo generates a key into var/ on first run; production passes SECRET_KEY.
    key = env("SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env("DEBUG", False, bool)
ALLOWED_HOSTS = env("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"], list)
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS", [], list)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django_filters",
    "django_htmx",
    "djmoney",
    "ninja",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "guanxi.framework",
    "guanxi.core",
    "guanxi.customers",
    "guanxi.activities",
    "guanxi.sales",
    "guanxi.service",
    "guanxi.integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "guanxi.core.middleware.AuditContextMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "guanxi.core.middleware.UserPreferencesMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "guanxi.core.two_factor.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during the request into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Widget templates are looked up like page templates, so guanxi/templates can hold our own widgets.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
ROOT_URLCONF = "guanxi.urls"
WSGI_APPLICATION = "guanxi.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
# django-axes first: it refuses a locked-out username+IP before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "guanxi" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "guanxi.core.context_processors.navigation",
            ],
        },
    }
]

# SQLite under var/ is the embedded default; production sets DATABASE_URL=postgres://...
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'guanxi.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env("DB_CONN_MAX_AGE", 60, int))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {
        # WAL + busy timeout: readers never block the single writer (ARCHITECTURE.md §9).
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Server-side prepared statements once switched a trigram search to a slow generic plan.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
FORMAT_MODULE_PATH = ["guanxi.formats"]  # thousands grouped in Chinese too
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND", "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# Background jobs (django.tasks). TASKS_BACKEND=db (the default: a queue table in the database, no
# other service) or redis (Redis streams, for production and several workers), or a backend class path.
# `guanxi worker` runs the worker of whichever is configured; `guanxi scheduler` enqueues periodic jobs.
TASK_BACKEND_ALIASES = {
    "db": "django_tasks_db.DatabaseBackend",
    "redis": "django_tasks_redis.RedisTaskBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
}
TASKS_BACKEND = TASK_BACKEND_ALIASES.get(env("TASKS_BACKEND", "db"), env("TASKS_BACKEND", "db"))
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")  # the database number is part of the URL
# Every Redis key Guanxi writes starts with this, so several sites (or test runs) can share one server.
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", "guanxi")
# A job still RUNNING this long after it started is taken to have lost its worker (killed, machine gone)
# and is run again by another worker; it must be longer than the longest job. After TASKS_MAX_ATTEMPTS
# starts the job is marked failed instead, so a job that kills its worker cannot loop forever.
TASKS_CLAIM_TIMEOUT = env("TASKS_CLAIM_TIMEOUT", 300, int)
TASKS_MAX_ATTEMPTS = env("TASKS_MAX_ATTEMPTS", 5, int)
# How often a worker looks for such jobs, and how long finished jobs are kept for the Jobs page.
TASKS_CLAIM_INTERVAL = env("TASKS_CLAIM_INTERVAL", 60, float)
TASKS_RESULT_DAYS = env("TASKS_RESULT_DAYS", 14, int)
# A second `guanxi scheduler` stands by and checks this often (seconds) whether it should take over.
SCHEDULER_STANDBY_POLL = env("SCHEDULER_STANDBY_POLL", 5, float)
# Extra modules declaring periodic jobs, beyond every app's tasks.py / periodic.py.
GUANXI_PERIODIC_MODULES = env("GUANXI_PERIODIC_MODULES", [], list)


def redis_tasks_options(url, prefix):
    """django-tasks-redis options (a function, so that the job tests build the same for their own prefix)."""
    return {
        "REDIS_URL": url,
        "REDIS_KEY_PREFIX": f"{prefix}:tasks",
        "REDIS_CONSUMER_GROUP": "guanxi-workers",
        "REDIS_CLAIM_TIMEOUT": TASKS_CLAIM_TIMEOUT,
        "REDIS_MAX_DELIVERIES": TASKS_MAX_ATTEMPTS,
        "REDIS_BLOCK_TIMEOUT": env("TASKS_REDIS_BLOCK_MS", 5000, int),
        "REDIS_RESULT_TTL": TASKS_RESULT_DAYS * 86400 * 2,  # a queued job outlives the finished ones
        "REDIS_COMPLETED_TASK_TTL": TASKS_RESULT_DAYS * 86400,
    }


# The cache holds rate-limit counters (the public web-to-lead form). In-process memory is right for the
# demo's single web process; several web processes must share one, so production sets CACHE_BACKEND=redis.
CACHE_BACKEND = env("CACHE_BACKEND", "locmem")
CACHES = {"default": (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
     "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:cache"}
    if CACHE_BACKEND == "redis" else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
)}
# Public web-to-lead form: at most this many submissions per client IP per window (seconds).
GUANXI_WEB_FORM_RATE_LIMIT = env("GUANXI_WEB_FORM_RATE_LIMIT", 5, int)
GUANXI_WEB_FORM_RATE_WINDOW = env("GUANXI_WEB_FORM_RATE_WINDOW", 600, int)
# Customers' pages without login: the public complaint form and the ticket status page (per client IP).
GUANXI_COMPLAINT_RATE_LIMIT = env("GUANXI_COMPLAINT_RATE_LIMIT", 5, int)
GUANXI_COMPLAINT_RATE_WINDOW = env("GUANXI_COMPLAINT_RATE_WINDOW", 600, int)
GUANXI_SUPPORT_RATE_LIMIT = env("GUANXI_SUPPORT_RATE_LIMIT", 20, int)
GUANXI_SUPPORT_RATE_WINDOW = env("GUANXI_SUPPORT_RATE_WINDOW", 600, int)
GUANXI_TICKET_MAX_ATTACHMENT_BYTES = env("GUANXI_TICKET_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024, int)

TASKS = {"default": {"BACKEND": TASKS_BACKEND}}  # one queue, "default": every worker serves it
if TASKS_BACKEND == TASK_BACKEND_ALIASES["redis"]:
    INSTALLED_APPS.append("django_tasks_redis")  # its worker command and translations
    TASKS["default"]["OPTIONS"] = redis_tasks_options(REDIS_URL, REDIS_KEY_PREFIX)

# Email out (Django 6.1 mailers). The demo prints emails to the console; production sets
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST etc.
EMAIL_BACKEND_CLASS = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_CLASS}}
if EMAIL_BACKEND_CLASS.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env("EMAIL_HOST", "localhost"),
        "port": env("EMAIL_PORT", 25, int),
        "username": env("EMAIL_HOST_USER", ""),
        "password": env("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env("EMAIL_USE_TLS", False, bool),
        "use_ssl": env("EMAIL_USE_SSL", False, bool),
        "timeout": env("EMAIL_TIMEOUT", 30, int),
    }
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Guanxi CRM <crm@localhost>")
# The domain of the Message-IDs Guanxi writes (threading replies back to records).
GUANXI_EMAIL_DOMAIN = env("GUANXI_EMAIL_DOMAIN", "guanxi.localhost")

CURRENCIES = ("CNY", "USD", "EUR", "HKD", "JPY", "GBP")
CURRENCY_CHOICES = [
    ("CNY", _("CNY · Chinese yuan")), ("USD", _("USD · US dollar")), ("EUR", _("EUR · Euro")),
    ("HKD", _("HKD · Hong Kong dollar")), ("JPY", _("JPY · Japanese yen")), ("GBP", _("GBP · British pound")),
]
DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", "CNY")
PHONENUMBER_DEFAULT_REGION = env("PHONENUMBER_DEFAULT_REGION", "CN")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env("SESSION_COOKIE_AGE", 60 * 60 * 12, int)
SECURE_COOKIES = env("SECURE_COOKIES", False, bool)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS. The demo runs on plain http://127.0.0.1, so all of this is off unless configured; a site served
# over HTTPS sets SECURE_COOKIES=true (which turns HSTS on) and SECURE_SSL_REDIRECT=true, and behind a
# TLS-terminating proxy also SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (else the redirect loops).
SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT", False, bool)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365 if SECURE_COOKIES else 0, int)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env("SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0, bool)
SECURE_HSTS_PRELOAD = env("SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0, bool)
_proxy_ssl_header = env("SECURE_PROXY_SSL_HEADER", None, list)
if _proxy_ssl_header is not None and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER is 'HEADER,value', e.g. HTTP_X_FORWARDED_PROTO,https")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None

# Login lockout (django-axes). The key is the username *and* the client IP together: an IP-only key
# lets one user behind an office NAT lock out the whole office, a username-only key lets anyone lock
# out any user; the pair stops guessing one account's password from one address without either.
AXES_FAILURE_LIMIT = env("AXES_FAILURE_LIMIT", 5, int)
_cooloff_minutes = env("AXES_COOLOFF_MINUTES", 15, int)
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff_minutes) if _cooloff_minutes > 0 else None  # 0: until reset
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts made while locked out are refused and audited but do not restart the cool-off, so the page can
# say exactly how long to wait, and the lockout signal (one LOCKOUT audit row) fires once per lockout.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "guanxi.core.views.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful logins are already in the audit log
AXES_VERBOSE = False

# Optional TOTP two-factor login (django-otp); the issuer is the name shown in authenticator apps.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Guanxi CRM")

# The address people open Guanxi at, for links in emails (reminders, notifications).
GUANXI_BASE_URL = env("GUANXI_BASE_URL", f"http://127.0.0.1:{env('PORT', 8000, int)}").rstrip("/")
GUANXI_PAGE_SIZE = env("GUANXI_PAGE_SIZE", 25, int)
# Above this many matching rows an exact count is not worth its cost (ARCHITECTURE.md §9).
GUANXI_EXACT_COUNT_LIMIT = env("GUANXI_EXACT_COUNT_LIMIT", 10000, int)
GUANXI_SITE_NAME = _("Guanxi CRM")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}
