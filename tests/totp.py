"""TOTP codes for tests, computed with allauth's own helpers from an authenticator's secret."""

import time

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.cache import cache

# allauth accepts a code once per user and time step (marked in the cache, which
# tests/conftest.py empties for each test); a test that signs the same user in twice within 30
# seconds takes the next step's code (MFA_TOTP_TOLERANCE accepts one step either side).


def totp_code(secret, *, key=None):
    """The current code for `secret`; with `key` (e.g. the username), never the same code twice
    for that key, by taking the next or previous step's code, which allauth also accepts."""
    counter = int(time.time()) // app_settings.TOTP_PERIOD
    for step in (0, 1, -1):
        code = format_hotp_value(hotp_value(secret, counter + step))
        if key is None:
            return code
        if cache.add(f"tests.totp.used:{key}:{code}", True, timeout=3 * app_settings.TOTP_PERIOD):
            return code
    raise AssertionError(f"{key} signed in more than three times within 30 seconds")


def demo_totp_code(username=None):
    from clinic.patients.management.commands.seed_demo import DEMO_TOTP_SECRET

    return totp_code(DEMO_TOTP_SECRET, key=username)
