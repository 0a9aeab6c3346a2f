"""Zero-setup demo: SQLite, Celery tasks run in-process, e-mail printed to the console.

Never use for real patients: the secret key is public and DEBUG is on.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "demo-only-insecure-key-never-use-for-real-patients")
os.environ.setdefault("DJANGO_DEBUG", "True")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "True")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

from clinic.settings.base import *  # noqa: F403

DEMO_MODE = True
DEMO_DATA_ALLOWED = True
# The demo's logins are public and its data invented: staff sign in with the password alone,
# and the login page says so. The demo staff do have an authenticator app (seed_demo's
# DEMO_TOTP_SECRET), so turning this back on shows the real two-factor step.
CLINIC_STAFF_MFA_REQUIRED = False
