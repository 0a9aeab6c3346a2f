"""Production: every secret comes from the environment and has no default here."""

from clinic.settings.base import *  # noqa: F403
from clinic.settings.base import database, env

DEBUG = False
DEMO_MODE = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
DATABASES = {"default": database()}
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
# Sign-in throttles and lockouts, and allauth's marks of TOTP codes already used, must be seen
# by every web worker: a per-process cache would multiply the allowed attempts by the number
# of workers and let a code be replayed on another worker.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("DJANGO_CACHE_URL"),
    }
}
