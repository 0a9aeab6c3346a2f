"""Test settings: SQLite by default, PostgreSQL and Redis when DATABASE_URL and
CELERY_BROKER_URL point at them (as .ci/run does)."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-insecure-key")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

from clinic.settings.base import *  # noqa: F403
from clinic.settings.base import DATABASES, env

DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Fault tests hand their worker processes a slow backend through the environment.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DEMO_MODE = False
DEMO_DATA_ALLOWED = True
# Kept on (base settings): tests/conftest.py's force_login shortcut records the MFA step.
assert CLINIC_STAFF_MFA_REQUIRED
