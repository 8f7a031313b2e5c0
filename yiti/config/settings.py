"""Yiti's Django settings, all from the environment (see README "Configuration").

``YITI_MODE=embedded`` (default) runs on SQLite in ``YITI_DATA_DIR`` with a
generated secret; ``YITI_MODE=production`` requires the secret, hosts and a
database URL and turns on every deployment safeguard.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from yiti.config.env import data_dir, env_bool, env_int, env_list, env_str, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
MODE = env_str("YITI_MODE", "embedded")
if MODE not in {"embedded", "production"}:
    raise ImproperlyConfigured(f"YITI_MODE must be 'embedded' or 'production', got {MODE!r}")
PRODUCTION = MODE == "production"

DATA_DIR = data_dir()
SECRET_KEY = secret_key(production=PRODUCTION, directory=DATA_DIR)
DEBUG = env_bool("YITI_DEBUG", False) and not PRODUCTION
ALLOWED_HOSTS = env_list(
    "YITI_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("YITI_ALLOWED_HOSTS is required when YITI_MODE=production")
CSRF_TRUSTED_ORIGINS = env_list("YITI_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "yiti.core",
    "yiti.channels",
    "yiti.org",
    "yiti.customers",
    "yiti.engagement",
    "yiti.service",
    "yiti.service.dispatch",
    "yiti.care",
    "yiti.care.reports",
    "yiti.campaigns",
    "yiti.decisions",
    "yiti.attribution",
    "yiti.accounting",
    "yiti.quality",
    "yiti.insights",
    "yiti.administration",
    "yiti.portal",
    "yiti.api",
    "yiti.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "yiti.api.hot.HotPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "yiti.org.middleware.FirstPasswordMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "yiti.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "yiti.config.urls"
WSGI_APPLICATION = "yiti.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yiti.core.context_processors.yiti",
                "yiti.org.context_processors.access",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("YITI_DATABASE_URL", f"sqlite:///{DATA_DIR / 'yiti.sqlite3'}"),
        conn_max_age=env_int("YITI_DB_CONN_MAX_AGE", 60 if PRODUCTION else 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456;"
        ),
    }
    # one file per test process: test runs side by side (or a kept server) never share it
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
elif PRODUCTION is False and env_bool("YITI_DB_TEST_KEEP", False):
    DATABASES["default"]["TEST"] = {"SERIALIZE": False}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's cursors bind on the client and never prepare. A threshold this high keeps
    # psycopg from preparing anything by itself, yet lets the hot paths (the token check, the
    # next best action's two queries) prepare explicitly (yiti.core.prepared); with None it
    # could not.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 1 << 30
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "org.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # each role's home page (yiti.insights.views_home)
LOGOUT_REDIRECT_URL = "login"
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
# Login rate limiting (yiti.org.ratelimit): attempts per window per username and per address.
YITI_LOGIN_MAX_ATTEMPTS = env_int("YITI_LOGIN_MAX_ATTEMPTS", 5)
YITI_LOGIN_WINDOW_SECONDS = env_int("YITI_LOGIN_WINDOW_SECONDS", 300)
YITI_LOGIN_MAX_ATTEMPTS_PER_IP = env_int("YITI_LOGIN_MAX_ATTEMPTS_PER_IP", 100)
# Password spraying (yiti.org.ratelimit): an address that failed for this many usernames in
# the window waits a delay (doubling per further username, capped) unless the pair is known.
YITI_LOGIN_SPRAY_USERNAMES = env_int("YITI_LOGIN_SPRAY_USERNAMES", 10)
YITI_LOGIN_SPRAY_WINDOW_SECONDS = env_int("YITI_LOGIN_SPRAY_WINDOW_SECONDS", 3600)
YITI_LOGIN_SPRAY_DELAY_SECONDS = env_int("YITI_LOGIN_SPRAY_DELAY_SECONDS", 10)
YITI_LOGIN_SPRAY_MAX_DELAY_SECONDS = env_int("YITI_LOGIN_SPRAY_MAX_DELAY_SECONDS", 900)
# A first password chosen by an administrator must be replaced within this many days.
YITI_FIRST_PASSWORD_DAYS = env_int("YITI_FIRST_PASSWORD_DAYS", 7)
# Reverse proxies whose X-Forwarded-For is believed (yiti.core.middleware.client_ip); from
# anybody else the header is ignored, so a client cannot choose the address it is counted as.
YITI_TRUSTED_PROXIES = env_list("YITI_TRUSTED_PROXIES", [])
# Imports (yiti.customers.imports_runner): the largest file, and what an .xlsx may unzip to.
YITI_IMPORT_MAX_BYTES = env_int("YITI_IMPORT_MAX_BYTES", 1 << 30)
YITI_IMPORT_MAX_XLSX_XML_BYTES = env_int("YITI_IMPORT_MAX_XLSX_XML_BYTES", 2 << 30)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("YITI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
YITI_PHONE_REGION = env_str("YITI_PHONE_REGION", "CN")

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]  # shared styles and vendored assets (yiti/static)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("YITI_REDIS_URL"),
    }
    if env_str("YITI_REDIS_URL")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

TASKS = {
    "default": {
        "BACKEND": env_str("YITI_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "sending", "reports"],
    }
}

# E-mail: real SMTP; the embedded default writes messages to files in the data directory.
EMAIL_BACKEND = env_str(
    "YITI_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("YITI_EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = DATA_DIR / "outbox" / "email"
EMAIL_HOST = env_str("YITI_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("YITI_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("YITI_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("YITI_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("YITI_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("YITI_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("YITI_EMAIL_FROM", "yiti@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# SMS (yiti.channels): an HTTP gateway when YITI_SMS_GATEWAY_URL is set, else one JSON line
# per message in the data directory's outbox.
YITI_SMS_GATEWAY_URL = env_str("YITI_SMS_GATEWAY_URL")
YITI_SMS_GATEWAY_TOKEN = env_str("YITI_SMS_GATEWAY_TOKEN")
YITI_SMS_TIMEOUT = env_int("YITI_SMS_TIMEOUT", 10)
YITI_SMS_BACKEND = env_str("YITI_SMS_BACKEND", "http" if YITI_SMS_GATEWAY_URL else "file")
if YITI_SMS_BACKEND not in {"http", "file"}:
    raise ImproperlyConfigured(
        f"YITI_SMS_BACKEND must be 'http' or 'file', got {YITI_SMS_BACKEND!r}"
    )
if YITI_SMS_BACKEND == "http" and not YITI_SMS_GATEWAY_URL:
    raise ImproperlyConfigured("YITI_SMS_BACKEND=http needs YITI_SMS_GATEWAY_URL")
YITI_SMS_FILE_PATH = DATA_DIR / "outbox" / "sms.jsonl"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("YITI_SESSION_AGE", 8 * 3600)
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("YITI_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("YITI_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("YITI_HSTS_PRELOAD", True)
    if env_bool("YITI_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("YITI_LOG_LEVEL", "WARNING")},
    "loggers": {"yiti": {"level": env_str("YITI_LOG_LEVEL", "INFO"), "propagate": True}},
}

YITI_PAGE_SIZE = 50

# The care line watches the sales line (yiti.care.watch): an account manager with at least
# YITI_QUIET_MIN_CUSTOMERS customers, more than YITI_QUIET_SHARE per cent of them without
# contact for YITI_QUIET_DAYS days, raises an alert to his region manager and care centre.
YITI_QUIET_DAYS = env_int("YITI_QUIET_DAYS", 30)
YITI_QUIET_SHARE = env_int("YITI_QUIET_SHARE", 30) / 100
YITI_QUIET_MIN_CUSTOMERS = env_int("YITI_QUIET_MIN_CUSTOMERS", 10)

# Campaign sending (yiti.campaigns.sending): messages per background batch, and how long a
# batch may go without a heartbeat before another worker takes it over.
YITI_SEND_BATCH_SIZE = env_int("YITI_SEND_BATCH_SIZE", 200)
YITI_SEND_LEASE_SECONDS = env_int("YITI_SEND_LEASE_SECONDS", 120)
# Where customers reach Yiti's public pages (response links in campaign messages).
YITI_BASE_URL = env_str("YITI_BASE_URL", "http://localhost:8000")
