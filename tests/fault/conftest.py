"""Fault tests: each starts its own redis-server and Celery worker on free loopback ports and
stops only those, never the machine's shared services.

They need PostgreSQL (a worker is another process, and must see the test's committed rows):
without DATABASE_URL naming PostgreSQL they skip on a developer machine and fail in CI.
Every wait is bounded, so a fault that hangs fails the test instead of the run.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from kombu import pools

from clinic import celery_app
from tests.conftest import skip_or_fail

FAULT_DIR = Path(__file__).resolve().parent
PROJECT_DIR = FAULT_DIR.parents[1]
START_TIMEOUT_S = 20


def pytest_collection_modifyitems(config, items):
    for item in items:
        if FAULT_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.fault)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"Timed out after {timeout} s: {message}", pytrace=False)


class RedisServer:
    """A private redis-server: start, stop (the process ends), pause and resume (SIGSTOP /
    SIGCONT: the port still accepts connections but nothing answers)."""

    def __init__(self, workdir):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process = None

    def _answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._answers, START_TIMEOUT_S, "redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self):
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        skip_or_fail("fault tests need PostgreSQL: a worker process must see the test's rows")


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed")
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def app_on(redis_server, monkeypatch):
    """Points this process's Celery app at the private Redis, on a queue of its own, with
    eager mode off, for the length of the test. (Celery reads CELERY_BROKER_URL from the
    environment before its configuration, so the variable is what must change.)"""
    queue = f"fault-{uuid.uuid4().hex[:8]}"
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "task_default_queue")}
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)
    celery_app.conf.update(task_always_eager=False, task_default_queue=queue)
    _fresh_connections()
    assert celery_app.connection_for_write().as_uri().endswith(f":{redis_server.port}/0")
    yield queue
    celery_app.conf.update(saved)
    monkeypatch.undo()
    _fresh_connections()


def _fresh_connections():
    """Closes and forgets every pooled broker connection (kombu keeps them in global groups
    keyed by connection; a closed pool left there breaks later tests), so the next publish
    connects to the broker now named."""
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class Worker:
    """A Celery worker process (solo pool) on the private Redis and the test database."""

    def __init__(self, redis_url, queue, extra_env):
        self.redis_url, self.queue, self.extra_env = redis_url, queue, extra_env
        self.process = None
        self.log = None

    def start(self):
        settings_db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "clinic.settings.test",
            "DATABASE_URL": (
                f"postgres://{settings_db['USER']}@{settings_db['HOST'] or '127.0.0.1'}:"
                f"{settings_db['PORT'] or 5432}/{settings_db['NAME']}"
            ),
            "CELERY_BROKER_URL": self.redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "False",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            **self.extra_env,
        }
        log_path = Path(self.extra_env["FAULT_WORKDIR"]) / f"worker-{self.queue}.log"
        self.log = open(log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "clinic", "worker", "--pool=solo",
             "-Q", self.queue, "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "info"],
            cwd=PROJECT_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return self

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.log:
            self.log.close()


@pytest.fixture
def worker_factory(redis_server, app_on, tmp_path):
    workers = []

    def make(**extra_env):
        worker = Worker(redis_server.url, app_on, {"FAULT_WORKDIR": str(tmp_path), **extra_env})
        workers.append(worker.start())
        return worker

    yield make
    for worker in workers:
        worker.stop()
