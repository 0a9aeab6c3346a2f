"""Settings shared by every environment.

Every value that differs between machines comes from the environment (django-environ);
demo.py, test.py and production.py only choose defaults and switches.
"""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The address staff reach the site at, for links in e-mails.
SITE_URL = env("DJANGO_SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "pgtrigger",
    "pghistory",
    "clinic.core",
    "clinic.accounts",
    "clinic.patients",
    "clinic.pathway",
    "clinic.ledger",
    "clinic.monitoring",
    "clinic.measures",
    "clinic.portal",
    "clinic.fhir",
    "clinic.exports",
    "clinic.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "clinic.accounts.middleware.SessionLimitsMiddleware",
    "clinic.accounts.middleware.StaffMfaMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "clinic.core.middleware.AuditContextMiddleware",
    "clinic.core.middleware.ChangeHistoryContextMiddleware",
    "clinic.core.middleware.ClinicTimezoneMiddleware",
    "clinic.core.middleware.NoStoreForSignedInUsersMiddleware",
    "clinic.core.middleware.PermissionsPolicyMiddleware",
    "clinic.core.middleware.DatabaseUnavailableMiddleware",
    "clinic.core.middleware.IdempotentPostMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"
ASGI_APPLICATION = "clinic.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["clinic.core.templatetags.form_keys"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.core.context_processors.navigation",
            ],
        },
    },
]


def database(**default):
    """The database of DATABASE_URL (`default`: env.db's default URL, none in production):
    persistent connections, checked before reuse; on PostgreSQL, the planner told what
    random reads cost. Its default, 4 sequential reads, models spinning disks; on SSDs or a
    cache-resident working set (any current deployment) it is about 1.1, the value
    PostgreSQL's manual suggests for SSDs. With 4 the clinician home joined today's sessions
    to their courses by reading every course into a hash (8 ms at 10,000 courses, growing
    with the clinic) instead of looking up the day's few (docs/performance.md)."""
    settings = env.db("DATABASE_URL", **default)
    settings["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    settings["CONN_HEALTH_CHECKS"] = True
    # Empty: leave it to the server (`ALTER DATABASE ... SET random_page_cost`), e.g. behind
    # a connection pooler that refuses startup options.
    page_cost = env.str("DATABASE_RANDOM_PAGE_COST", default="1.1")
    if settings["ENGINE"] == "django.db.backends.postgresql" and page_cost:
        options = settings.setdefault("OPTIONS", {})
        planner = f"-c random_page_cost={float(page_cost)}"
        options["options"] = f"{options.get('options', '')} {planner}".strip()
    return settings


DATABASES = {"default": database(default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's backends, each loading a request's user with its memberships, patient
# record and unread-alert count in one query (clinic/accounts/backends.py).
AUTHENTICATION_BACKENDS = [
    "clinic.accounts.backends.ModelBackend",
    "clinic.accounts.backends.AuthenticationBackend",
]
# Length, not composition (NIST SP 800-63B): at least 12 characters, not a common password,
# not close to the user's name or e-mail, not all digits; any passphrase otherwise.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Accounts: staff and patients are invited; nobody signs themselves up.
ACCOUNT_ADAPTER = "clinic.accounts.adapters.InvitationOnlyAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_PREVENT_ENUMERATION = True
# Do not let anyone make the clinic send mail to arbitrary addresses.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Clinic] "
# Failed sign-ins: per address, and per account (the login typed, so unknown names are
# throttled alike and nothing is revealed). A locked account can sign in again after 15
# minutes; the MFA step counts its wrong codes against the same per-account limit.
# Behind N reverse proxies (each appending to X-Forwarded-For), the client is the Nth address
# from the right: sign-in throttles and the audit trail use it (core.audit.client_ip).
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
ACCOUNT_RATE_LIMITS = {"login_failed": "20/10m/ip,5/15m/key"}

# Two-factor authentication (allauth.mfa): TOTP with recovery codes. Required for every clinic
# staff member and operator (Django staff) before any page with patient data; optional for
# patients. Only clinic/settings/demo.py may turn it off (a system check refuses elsewhere).
CLINIC_STAFF_MFA_REQUIRED = True
MFA_ADAPTER = "clinic.accounts.adapters.ClinicMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="Kestrel clinic")
# One 30-second step either side, for phones whose clock drifts (RFC 6238 section 6).
MFA_TOTP_TOLERANCE = 1
# Signup is closed, so the unverified-address attack allauth guards against (someone signs up
# with another person's address and enrols MFA first) cannot happen; invited addresses are
# not "verified" in allauth's sense and must not block a required enrolment.
MFA_ALLOW_UNVERIFIED_EMAIL = True

# Sessions: signed out after this much inactivity (staff 15 minutes, patients 30), and
# after 12 hours whatever the activity (clinic.accounts.middleware.SessionLimitsMiddleware).
CLINIC_STAFF_IDLE_TIMEOUT_SECONDS = env.int("CLINIC_STAFF_IDLE_TIMEOUT_SECONDS", default=15 * 60)
CLINIC_PATIENT_IDLE_TIMEOUT_SECONDS = env.int(
    "CLINIC_PATIENT_IDLE_TIMEOUT_SECONDS", default=30 * 60
)
CLINIC_SESSION_MAX_AGE_SECONDS = 12 * 60 * 60

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("DJANGO_EMAIL_HOST_PASSWORD", default="")
# Invitation and password-reset links travel by e-mail: use TLS to any relay off this host.
EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("DJANGO_EMAIL_USE_SSL", default=False)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="clinic@localhost")

# Sessions stay in the database alone (Django's default), one primary-key read a request.
# Read through the cache (cached_db) they would cost no query, but every signed-in page would
# then fail while Redis is down, and a sign-out during a Redis fault could leave a cached
# session valid: PostgreSQL is the one thing a page must have.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = CLINIC_SESSION_MAX_AGE_SECONDS
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Change history (django-pghistory): database triggers copy every insert, update and delete
# of the clinical tables into their *Event tables, on PostgreSQL only, tagged with the
# request's user, path and address; the event tables refuse UPDATE and DELETE.
PGHISTORY_APPEND_ONLY = True

# Content-Security-Policy (django-csp): everything from this origin only, and no inline
# script or style at all, so an injected <script> or onclick= never runs. Pages pass data to
# their scripts with json_script and data- attributes; htmx's own indicator <style> is off
# (see base.html's htmx-config meta) for the same reason.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# The clinic's pages need none of these browser features; deny them to any injected code.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# A task that is never acknowledged (its worker died) is delivered again after the
# visibility timeout, which must stay longer than the longest task (the time limit above).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")

# Minimum observation after dosing, in minutes (DOMAIN.md §5; default; confirm clinically).
# Esketamine's 120 minutes is a label requirement: a smaller value is ignored.
SESSION_OBSERVATION_MINUTES = {"esketamine": 120, "iv": 30, "other": 60}
PATIENT_LIST_PAGE_SIZE = 25
# FHIR R4 API (clinic.fhir). Identifier systems (each clinic's MRNs) and local code systems are
# minted under this URI: set it to a URL the organisation controls, and never change it once
# data has been shared. Search pages hold FHIR_PAGE_SIZE entries unless _count asks for fewer
# (or more, up to FHIR_MAX_PAGE_SIZE).
FHIR_SYSTEM_BASE = env("FHIR_SYSTEM_BASE", default="https://kestrel.example.org/fhir")
FHIR_PAGE_SIZE = 50
FHIR_MAX_PAGE_SIZE = 200
DEMO_DATA_ALLOWED = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

CELERY_BEAT_SCHEDULE = {
    "sweep-outbound-email": {"task": "clinic.core.tasks.sweep_outbound_email", "schedule": 60.0},
    "worker-heartbeat": {
        "task": "clinic.core.tasks.worker_heartbeat",
        "schedule": 60.0,
        # A heartbeat that waited in the queue proves nothing about the worker's present.
        "options": {"expires": 50},
    },
    # Journal reminders honour each patient's chosen time to within this interval.
    "prune-form-keys": {"task": "clinic.core.tasks.prune_form_submissions", "schedule": 86400.0},
    "send-reminders": {"task": "clinic.measures.tasks.send_reminders", "schedule": 300.0},
    "sync-measure-schedules": {
        "task": "clinic.measures.tasks.sync_measure_schedules",
        "schedule": 3600.0,
    },
    # Rebuilds yesterday and today in each clinic's calendar; any hour works for that.
    "build-report-rollups": {
        "task": "clinic.reports.tasks.build_nightly_rollups",
        "schedule": crontab(hour=7, minute=15),
    },
}
