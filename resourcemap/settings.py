"""Settings, driven by environment variables (see README "Configuration")."""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The test suite runs with production settings except HTTPS-only behaviour (its servers are http).
TESTING = env_bool("TESTING", "pytest" in sys.modules)

_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING or env_bool("ALLOW_DEV_SECRET", False)):
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
    SECRET_KEY = _DEV_SECRET

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG or TESTING else ""
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Absolute base URL of the public portal. QR codes, letters and e-mails use this and never
# the Host header of a request, which a client controls.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The municipality this site serves (全国地方公共団体コード); needed only when several are loaded.
MUNICIPALITY_CODE = os.environ.get("MUNICIPALITY_CODE", "").strip()

INSTALLED_APPS = [
    "resourcemap.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "leaflet",
    "import_export",
    "django_tasks",
    "django_tasks_db",
    "django_ratelimit",
    "axes",
    "resourcemap.apps.ResourcemapConfig",
    "surveys.apps.SurveysConfig",
    "jobs.apps.JobsConfig",
    "demo.apps.DemoConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "resourcemap.inputs.CleanQueryMiddleware",
    # One read of the data version per request (ETags, page cache, reference data cache).
    "resourcemap.middleware.DataVersionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before any view or CSRF check reads the body: larger than any upload -> 413.
    "resourcemap.security.RequestSizeLimitMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "resourcemap.security.StaffSessionMiddleware",
    # Last: refuses logins from locked-out users and addresses (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "resourcemap.urls"
WSGI_APPLICATION = "resourcemap.wsgi.application"

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
                "resourcemap.context_processors.portal",
            ],
        },
    },
]

def database_settings(url: str) -> dict:
    """One DATABASES entry from a URL.

    SQLite starts every transaction as ``BEGIN IMMEDIATE`` and waits up to
    ``SQLITE_BUSY_TIMEOUT`` seconds for the write lock: two staff approving at once then take
    turns instead of one of them getting "database is locked" (a deferred transaction that
    read first cannot wait for the lock).
    """
    config = dj_database_url.parse(
        url,
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update(
            transaction_mode="IMMEDIATE",
            timeout=float(os.environ.get("SQLITE_BUSY_TIMEOUT", "20")),
        )
    return config


DATABASES = {
    "default": database_settings(os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))
}


def sqlite_test_name(config: dict) -> str | None:
    """The SQLite test database: always a file, never Django's shared-cache memory database.

    In shared-cache memory SQLite locks whole tables and answers a second connection at once
    with "database table is locked" (no busy timeout applies), so parallel requests in tests
    (rate limits, two staff approving at once) failed at random instead of taking turns as
    they do on a file. The file sits beside the configured one (``test_<name>``), or in
    ``var/`` when the URL names memory; its folder is created.
    """
    if not config["ENGINE"].endswith("sqlite3"):
        return None
    name = str(config.get("NAME") or "")
    if name in ("", ":memory:") or name.startswith("file:"):
        path = BASE_DIR / "var" / "test_memory.sqlite3"
    else:
        path = Path(name).with_name(f"test_{Path(name).name}")
    return str(path)


if _test_name := sqlite_test_name(DATABASES["default"]):
    DATABASES["default"]["TEST"] = {"NAME": _test_name}
    if TESTING:
        Path(_test_name).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared between app servers: nothing may live in one process's memory only.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "resourcemap_cache",
    },
    # Rendered public pages, per process (keys hold the data version, so nothing goes stale).
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "resourcemap-pages",
        "OPTIONS": {"MAX_ENTRIES": 200},
    },
    # Rendered PDFs (resourcemap/pdfguard.py); keys hold the data version. Point PDF_CACHE_DIR
    # at a shared directory to share them between app servers (each server's own works too).
    "pdfs": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("PDF_CACHE_DIR", str(BASE_DIR / "var" / "pdf-cache")),
        "OPTIONS": {"MAX_ENTRIES": 500},
    },
    # Rate-limit counters: atomic increments in one database table (resourcemap/ratelimits.py).
    "ratelimit": {"BACKEND": "resourcemap.ratelimits.CounterCache"},
}
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "60"))

# Rate limits (django-ratelimit on the "ratelimit" cache). The client is REMOTE_ADDR, or, when
# that is one of TRUSTED_PROXIES (addresses or networks of your reverse proxies), the last
# X-Forwarded-For hop that is not a trusted proxy.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
RATELIMIT_USE_CACHE = "ratelimit"
RATELIMIT_IP_META_KEY = "resourcemap.ratelimits.client_ip"
RATELIMIT_VIEW = "resourcemap.ratelimits.too_many"
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
# "tries/period" (s, m, h, d; "5/10m" = 5 per 10 minutes); each can be set as RATELIMIT_<NAME>.
_RATELIMIT_DEFAULTS = {
    "survey_code": "10/m",  # typed access codes, per client
    "survey_code_all": "300/h",  # typed access codes, all clients together
    "survey_link": "30/m",  # wrong personal links, per client
    "survey_link_all": "1000/h",  # wrong personal links, all clients together
    "survey_register": "5/10m",  # new registrations, per client
    "survey_register_all": "100/d",  # new registrations, all clients together
    "correction": "5/10m",  # correction reports, per client
    "correction_provider": "20/d",  # correction reports about one provider, all clients
    "print_pdf": "10/m",  # PDF renders (print, sheets, flyers), per client
    "print_map": "20/m",  # new maps composed for print previews and sheets, per client
    "geocode": "60/m",  # place searches sent to the outside geocoder, per client
}
RATELIMITS = {
    name: os.environ.get(f"RATELIMIT_{name.upper()}", default)
    for name, default in _RATELIMIT_DEFAULTS.items()
}
# PDF renders: cached for PDF_CACHE_SECONDS, at most PDF_MAX_CONCURRENT at once on all servers.
PDF_CACHE_SECONDS = int(os.environ.get("PDF_CACHE_SECONDS", "3600"))
PDF_MAX_CONCURRENT = int(os.environ.get("PDF_MAX_CONCURRENT", "2"))
PDF_SLOT_SECONDS = int(os.environ.get("PDF_SLOT_SECONDS", "300"))
# CPU priority (nice) of PDF renders, below the map and API requests (0: same priority).
# Largest request body: the 30 MB upload limit (spreadsheet_limits.MAX_UPLOAD) and its form.
MAX_REQUEST_BYTES = int(os.environ.get("MAX_REQUEST_BYTES", str(31 * 1024 * 1024)))
PDF_RENDER_NICE = int(os.environ.get("PDF_RENDER_NICE", "19"))
# Our counter cache is atomic, which django-ratelimit cannot know about a backend of its own.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Back office login: after LOGIN_FAILURE_LIMIT wrong passwords the user name, and separately the
# address, is locked for LOGIN_LOCKOUT_MINUTES (django-axes, counted in the database so all app
# servers agree). Staff admins unlock in the admin (アクセス試行 → delete) or with
# `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend; without DEBUG it refuses the development password (make run).
    "resourcemap.security.StaffPasswordBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "resourcemap.ratelimits.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "resourcemap.security.lockout_response"
AXES_VERBOSE = False
# Staff sessions end when the browser closes and after STAFF_SESSION_IDLE_MINUTES without a
# request (resourcemap/security.py).
STAFF_SESSION_IDLE_MINUTES = int(os.environ.get("STAFF_SESSION_IDLE_MINUTES", "30"))

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("日本語")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Generated and uploaded files (letters, exports, import uploads) go to the default storage;
# every app server and worker must see the same one (a shared directory, or an object-store
# backend via FILE_STORAGE). Nothing in it is served at a public URL: downloads go through
# views that check the staff member's permission.
STORAGES = {
    "default": {
        "BACKEND": os.environ.get("FILE_STORAGE", "django.core.files.storage.FileSystemStorage"),
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Without collectstatic (development and tests) WhiteNoise serves from the finders.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
FORMS_URLFIELD_ASSUME_HTTPS = True
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Generated files are private: no URL pattern serves MEDIA_ROOT in any mode; staff download them
# through views that check permissions. Django still needs a string here (its live test server
# maps this prefix), so it names a path nothing answers.
MEDIA_URL = "/media/"

# Long work (letters, e-mail, exports, imports) runs on worker processes (`manage.py worker`)
# through Django's tasks framework with the database backend: the queue is a table in the
# database the app already uses, shared by every app server. TASKS_IMMEDIATE=1 runs each task
# inside the request instead (the test suite's default; never in production).
TASKS_IMMEDIATE = env_bool("TASKS_IMMEDIATE", TESTING)
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"
        if TASKS_IMMEDIATE
        else "django_tasks_db.DatabaseBackend",
    }
}
# Failed e-mails are tried again after these delays (seconds), then marked 送信できず.
EMAIL_RETRY_DELAYS = [int(v) for v in env_list("EMAIL_RETRY_DELAYS", "60,300,1800,7200")]
# Retention (jobs/retention.py): finished jobs with their files, and sent or failed e-mails,
# are deleted after this many days by every worker (and by `manage.py prune_jobs`).
JOB_RETENTION_DAYS = int(os.environ.get("JOB_RETENTION_DAYS", "30"))
EMAIL_RETENTION_DAYS = int(os.environ.get("EMAIL_RETENTION_DAYS", "90"))

# Disk cache for map tiles used in printed maps.
TILE_CACHE_DIR = Path(os.environ.get("TILE_CACHE_DIR", BASE_DIR / "var" / "tiles"))

# E-mail
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Staff who receive notices (new registrations, errors): "Name <a@example.jp>, b@example.jp".
ADMINS = [
    (addr.split("<")[0].strip() or addr, addr.split("<")[-1].rstrip(">").strip())
    for addr in env_list("ADMINS")
]

# Security. Production values are the defaults; DEBUG relaxes them for local use.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
_HTTPS = not (DEBUG or TESTING)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
SESSION_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_SECURE = _HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Map
MAP_TILE_URL = os.environ.get(
    "MAP_TILE_URL", "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png"
)
MAP_TILE_ATTRIBUTION = os.environ.get(
    "MAP_TILE_ATTRIBUTION",
    '<a href="https://maps.gsi.go.jp/development/ichiran.html">国土地理院</a>',
)
# A map view (bbox) with more matches than this gets counts per grid cell instead of points.
MAP_MAX_POINTS = int(os.environ.get("MAP_MAX_POINTS", "2500"))
# Up to this many 地域/地区 the search form lists them; with more, one text field with
# suggestions (resourcemap/search/areas.py).
AREA_SELECT_MAX = int(os.environ.get("AREA_SELECT_MAX", "300"))
# Printed maps are composed on the server from these tiles (cached in TILE_CACHE_DIR); without
# them the sheet falls back to a vector map. Print requests over the maximum ask to narrow down.
PRINT_MAP_TILE_URL = os.environ.get("PRINT_MAP_TILE_URL", MAP_TILE_URL)
PRINT_MAX_PROVIDERS = int(os.environ.get("PRINT_MAX_PROVIDERS", "300"))
GEOCODER = os.environ.get("GEOCODER", "resourcemap.geocoding.GSIGeocoder")
GEOCODER_URL = os.environ.get(
    "GEOCODER_URL", "https://msearch.gsi.go.jp/address-search/AddressSearch"
)

# Content-Security-Policy (django-csp): scripts and styles only from this site or with the
# per-request nonce, map tiles only from the MAP_TILE_URL host (the geocoder is called by the
# server, never by the browser), no framing. CSP_EXTRA_IMG_HOSTS adds image hosts.
def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


from csp.constants import NONCE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": [
            "'self'", "data:", *filter(None, [_origin(MAP_TILE_URL)]), *env_list("CSP_EXTRA_IMG_HOSTS"),
        ],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Permissions-Policy: no powerful feature anywhere; geolocation only on the map page
# ("現在地から探す", resourcemap/views.py).
PERMISSIONS_POLICY = {
    "geolocation": [],
    "camera": [],
    "microphone": [],
    "payment": [],
    "usb": [],
    "interest-cohort": [],
}

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (35.6464, 139.6533),
    "DEFAULT_ZOOM": 13,
    "TILES": [("地理院地図", MAP_TILE_URL, {"attribution": MAP_TILE_ATTRIBUTION, "maxZoom": 18})],
    "ATTRIBUTION_PREFIX": "Leaflet",
    "RESET_VIEW": False,
}

# Import/export
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# Every handler redacts personal survey links (/survey/t/<token>/) from what it writes or
# mails. The "django" and "django.server" loggers are declared again (as in Django's defaults)
# so that their handlers carry the filter too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_survey_tokens": {"()": "resourcemap.logfilters.RedactSurveyTokens"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_survey_tokens"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_survey_tokens"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact_survey_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
