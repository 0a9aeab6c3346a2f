# Kestrel: one image for the web (gunicorn), worker (celery) and beat (celery beat) services.
# Configuration comes from the environment at run time (see .env.example); nothing secret
# is baked into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=clinic.settings.production

WORKDIR /app

# Dependencies first, so that a code change does not re-install them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code stays owned by root: the application user can read it but not change it.
COPY . .

# Static files are collected once, at build time, into /app/staticfiles (served by whitenoise).
# Production settings need these variables to import; the values below exist only for this
# RUN step (they are not ENV, so they are not in the image's environment) and are never used
# to serve anything.
RUN DJANGO_SECRET_KEY=build-only \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput \
    && rm -f /tmp/build.sqlite3

RUN groupadd --gid 1000 kestrel \
    && useradd --uid 1000 --gid kestrel --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin kestrel
USER kestrel

EXPOSE 8000

CMD ["gunicorn", "clinic.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
