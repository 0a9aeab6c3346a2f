"""Load test: `python bench/load.py [--seconds 30] [--connections 8]`.

Runs against the benchmark database that `bench/run.py` seeded (kestrel_bench): starts
gunicorn with 2 workers on 127.0.0.1 under the production settings (persistent database
connections, the shared Redis cache, static files from collectstatic's manifest; requests
carry the `X-Forwarded-Proto: https` header that the TLS-terminating proxy of a deployment
adds), signs in a mix of clinicians and portal patients (sessions written as a real sign-in
writes them, MFA step included), and drives it with wrk (Debian's `wrk` package) for a
bounded time. Each wrk connection cycles through the mixed scenario; anything but a 200
counts as an error. Prints one JSON line and adds the result to docs/performance.md.

Redis: BENCH_CACHE_URL (default redis://127.0.0.1:6379/3, a database of its own) and
CELERY_BROKER_URL (default redis://127.0.0.1:6379/0).
"""

import argparse
import datetime
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    bench_database_url,
    machine,
    mfa_verified_login,
    replace_section,
)

PORT = int(os.environ.get("BENCH_PORT", "8106"))
WORKERS = 2

LUA = """
local requests = %(requests)s
local counter = 0
errors = 0  -- global: done() reads it from each thread with thread:get
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counter = math.random(#requests)
end

function request()
  counter = counter %% #requests + 1
  local r = requests[counter]
  return wrk.format("GET", r[1], {["Cookie"] = "sessionid=" .. r[2],
                                  ["X-Forwarded-Proto"] = "https"})
end

function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local total_errors = 0
  for _, thread in ipairs(threads) do
    total_errors = total_errors + thread:get("errors")
  end
  io.write(string.format(
    'RESULT {"requests": %%d, "seconds": %%.2f, "rps": %%.1f, "p50_ms": %%.1f, '
    .. '"p95_ms": %%.1f, "p99_ms": %%.1f, "non_200": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, total_errors,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
"""


def mixed_scenario():
    """(path, session key) pairs: clinicians' pages of their own clinic's patients, weighted
    as a clinic day is (home, lists, charts, a session runner), and patients' portal pages."""
    from django.test import Client
    from django.urls import reverse

    from clinic.accounts.models import User
    from clinic.patients.models import Patient

    def session_of(user):
        client = Client()
        mfa_verified_login(client, user)
        return client.cookies["sessionid"].value

    prescriber = User.objects.get(username="bench-c1-prescriber1")
    nurse = User.objects.get(username="bench-c1-nurse1")
    in_clinic = Patient.objects.filter(clinic__name="Bench Clinic 1").order_by("id")
    clinic_patients = list(in_clinic[:10])
    portal = list(in_clinic.filter(user__isnull=False).select_related("user")[:3])
    if len(portal) < 3:
        raise SystemExit("No portal patients in Bench Clinic 1: seed with bench/run.py first.")
    staff = {prescriber: session_of(prescriber), nurse: session_of(nurse)}
    found = [
        (reverse("clinician_home"), staff[prescriber]),
        (reverse("clinician_home"), staff[nurse]),
        (reverse("patients:list"), staff[prescriber]),
    ]
    for patient in clinic_patients[:5]:
        found.append((reverse("patients:detail", args=[patient.public_id]), staff[prescriber]))
        found.append((reverse("measures:outcomes", args=[patient.public_id]), staff[prescriber]))
        session = patient.treatment_courses.get().sessions.filter(status="discharged").last()
        found.append((reverse("pathway:session_run", args=[session.public_id]), staff[nurse]))
    for patient in portal:
        key = session_of(patient.user)
        found += [(reverse(name), key) for name in ("portal:home", "portal:progress")]
    return found


def production_environment(database_url):
    """The settings a deployment runs with, on this machine's PostgreSQL and Redis; the
    secret key is made for this run (the sessions signed in below are signed with it)."""
    return {
        "DJANGO_SETTINGS_MODULE": "clinic.settings.production",
        "DJANGO_SECRET_KEY": f"bench-{secrets.token_urlsafe(40)}",
        "DATABASE_URL": database_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DJANGO_CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/3"),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    }


def wait_for(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})  # noqa: S310
            urllib.request.urlopen(request, timeout=2)  # noqa: S310 - our own server on loopback
            return
        except urllib.error.HTTPError:
            return  # it answers (a 503: no Celery worker runs during the load test)
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer at {url}")


def write_report(result, *, seconds, connections, threads, scenario_size):
    workers = (
        f"{WORKERS} sync workers" if threads == 1 else f"{WORKERS} workers x {threads} threads"
    )
    section = (
        "## Load test\n\n"
        f"Measured {datetime.date.today().isoformat()} on {machine()} by `python bench/load.py "
        f"--seconds {seconds} --connections {connections}"
        f"{f' --threads {threads}' if threads != 1 else ''}`: gunicorn, {workers}, "
        "production settings (persistent connections, Redis cache), on 127.0.0.1 against the "
        f"benchmark database; wrk with {connections} connections "
        f"cycling through {scenario_size} requests of clinicians (home, patient list, charts, "
        "outcomes, session runners) and portal patients (home, progress). Anything but a 200 "
        "is an error.\n\n"
        "| requests | seconds | requests/s | p50 ms | p95 ms | p99 ms | errors |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| {result['requests']} | {result['seconds']} | {result['rps']} | {result['p50_ms']} "
        f"| {result['p95_ms']} | {result['p99_ms']} "
        f"| {result['non_200'] + result['socket_errors']} |\n"
    )
    replace_section("## Load test\n", section)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (1: sync workers)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/load.py needs wrk: apt-get install -y wrk")
    url, _base = bench_database_url()
    os.environ.update(production_environment(url))
    subprocess.run(  # noqa: S603 - the project's own manage.py
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
        check=True, env=os.environ.copy(),
    )  # fmt: skip
    import django

    django.setup()
    requests = mixed_scenario()
    lua_table = "{" + ", ".join(f'{{"{path}", "{key}"}}' for path, key in requests) + "}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"requests": lua_table})
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "clinic.wsgi:application", "--workers", str(WORKERS),
         "--threads", str(args.threads),
         "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        cwd=ROOT, env=os.environ.copy(), start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{PORT}/health/")
        out = subprocess.run(  # noqa: S603
            ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--timeout", "5s",  # noqa: S607
             "-s", script.name, f"http://127.0.0.1:{PORT}"],
            capture_output=True, text=True,
        )  # fmt: skip
        if out.returncode:
            raise SystemExit(f"wrk failed:\n{out.stdout}\n{out.stderr}")
        out = out.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        os.unlink(script.name)
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    print(json.dumps(result))
    write_report(
        result,
        seconds=args.seconds,
        connections=args.connections,
        threads=args.threads,
        scenario_size=len(requests),
    )


if __name__ == "__main__":
    main()
