"""Deployment: the compose file, production settings under `check --deploy`, and the
refusal of demo data in production.

These run `docker-compose` and `manage.py` as subprocesses: production settings must be
imported fresh, with their own environment, not inside the test settings of this process.
"""

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 120
SERVICES = {"postgres", "redis", "web", "worker", "beat"}
APP_SERVICES = ("web", "worker", "beat")


# --- docker-compose.yml ---------------------------------------------------------------------


def _compose_env():
    """This process's environment without anything that would steer compose elsewhere."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("COMPOSE_") and key != "POSTGRES_PASSWORD"
    }


def _compose(directory, *args):
    executable = shutil.which("docker-compose")
    if executable is None:
        skip_or_fail("docker-compose is not installed")
    return subprocess.run(
        [executable, "-f", str(directory / "docker-compose.yml"), *args],
        cwd=directory,
        env=_compose_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.fixture
def compose_dir(tmp_path):
    """A copy of the compose file next to a copy of .env.example named .env, so the repo
    never gets a .env written into it."""
    shutil.copy(REPO / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    return tmp_path


def _env_example_value(name):
    match = re.search(rf"^{name}=(.*)$", (REPO / ".env.example").read_text(), re.MULTILINE)
    assert match, f".env.example does not set {name}"
    return match.group(1).strip()


def _service_blocks(config_text):
    """Split `docker-compose config` output into {service name: its lines}."""
    blocks, current, inside = {}, None, False
    for line in config_text.splitlines():
        if line and not line.startswith(" "):  # a top-level key
            inside, current = line == "services:", None
            continue
        header = re.fullmatch(r"  ([A-Za-z0-9_.-]+):", line)
        if inside and header:
            current = header.group(1)
            blocks[current] = []
        elif inside and current:
            blocks[current].append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


def test_compose_config_lists_every_service_and_the_postgres_volume(compose_dir):
    result = _compose(compose_dir, "config")
    assert result.returncode == 0, result.stderr

    services = _compose(compose_dir, "config", "--services")
    assert services.returncode == 0, services.stderr
    assert set(services.stdout.split()) == SERVICES

    volumes = _compose(compose_dir, "config", "--volumes")
    assert volumes.returncode == 0, volumes.stderr
    assert "postgres-data" in volumes.stdout.split()

    blocks = _service_blocks(result.stdout)
    assert set(blocks) == SERVICES
    assert "postgres-data:/var/lib/postgresql/data" in blocks["postgres"]
    assert "pg_isready" in blocks["postgres"]
    assert "redis-cli" in blocks["redis"]

    password = _env_example_value("POSTGRES_PASSWORD")
    for name in APP_SERVICES:
        block = blocks[name]
        assert "DJANGO_SETTINGS_MODULE: clinic.settings.production" in block, name
        assert f"DATABASE_URL: postgres://kestrel:{password}@postgres:5432/kestrel" in block, name
        assert "CELERY_BROKER_URL: redis://redis:6379/0" in block, name
        assert block.count("condition: service_healthy") == 2, name
    assert "migrate --noinput" in blocks["web"]
    assert "gunicorn clinic.wsgi:application" in blocks["web"]
    assert "8000" in blocks["web"]
    assert "/accounts/login/" in blocks["web"]
    assert "worker" in blocks["worker"]
    assert "beat" in blocks["beat"]


def test_compose_config_refuses_to_run_without_an_env_file(tmp_path):
    """There are no default secrets: without .env, compose stops and says what is missing."""
    shutil.copy(REPO / "docker-compose.yml", tmp_path / "docker-compose.yml")
    result = _compose(tmp_path, "config")
    assert result.returncode != 0
    assert ".env" in result.stderr + result.stdout


# --- production settings ----------------------------------------------------------------------


def _production_env(**overrides):
    """This process's environment with every setting the app reads replaced by dummies."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "CELERY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(45),  # 60 random characters
        DATABASE_URL="sqlite:////tmp/x.sqlite3",
        CELERY_BROKER_URL="memory://",
        DJANGO_CACHE_URL="redis://127.0.0.1:6379/1",
        DJANGO_ALLOWED_HOSTS="clinic.example.org",
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_production_settings_pass_check_deploy():
    env = _production_env()
    assert len(env["DJANGO_SECRET_KEY"]) == 60
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    # Nothing may be silenced to get there.
    assert "(0 silenced)" in result.stdout, result.stdout


@pytest.mark.parametrize(
    "name", ["DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_CACHE_URL"]
)
def test_production_settings_have_no_default_for(name):
    if (REPO / ".env").exists():
        pytest.skip("a .env in the repository root supplies the settings' variables")
    result = _manage("check", env=_production_env(**{name: None}))
    assert result.returncode != 0
    assert name in result.stderr


@pytest.mark.parametrize(
    "page_cost, options",
    [(None, "-c random_page_cost=1.1"), ("4", "-c random_page_cost=4.0"), ("", None)],
)
def test_production_connections_tell_the_planner_what_random_reads_cost(page_cost, options):
    """PostgreSQL connections start with random_page_cost 1.1 (SSDs, a cached working set)
    unless DATABASE_RANDOM_PAGE_COST says otherwise; empty leaves it to the server."""
    env = _production_env(
        DATABASE_URL="postgres://kestrel@db.example.org:5432/kestrel",
        DATABASE_RANDOM_PAGE_COST=page_cost,
    )
    show = "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS'))"
    result = _manage("shell", "--no-imports", "-c", show, env=env)
    assert result.returncode == 0, result.stderr
    expected = {"options": options} if options else {}
    assert result.stdout.strip() == str(expected)


def test_seed_demo_is_refused_under_production_settings(tmp_path):
    database = tmp_path / "never-created.sqlite3"
    result = _manage("seed_demo", env=_production_env(DATABASE_URL=f"sqlite:///{database}"))
    assert result.returncode != 0
    assert "refused" in result.stderr, result.stdout + result.stderr
    # Refused before any database work: the SQLite file was never even opened.
    assert not database.exists()
