"""Page benchmark: `python bench/run.py [--quick] [--no-seed]`.

Creates (drops and re-creates) the benchmark database `kestrel_bench` on the PostgreSQL
server named by DATABASE_URL (never the dev or test database), migrates and seeds it
(10,000 patients / 1,000,000 vitals; --quick: 1,000 / 100,000), then measures each scenario
through Django's test client, signed in and warm: query count, p50 and p95 over RUNS
requests, and the floor: the same SQL statements the request sent, replayed through raw
psycopg. Prints one JSON object per scenario and writes docs/performance.md. A full run
(neither --quick nor --only) ends with bench/export.py, the one-clinic export of 1,000,000
vitals.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "kestrel_bench"
# A SELECT and nothing else: django-pghistory prefixes each write (and savepoint) of a request
# with "SELECT set_config(...); ", so the leading word alone does not tell.
SERVER_CURSOR = re.compile(r"(?is)^\s*DECLARE\s+\S+\s+[\w\s]*?CURSOR\s+(WITH\s+HOLD\s+)?FOR\s+")
READ_ONLY = re.compile(r"(?is)^\s*SELECT\b(?!.*;\s*(?!SELECT\b)\w)")
TRANSACTION_CONTROL = re.compile(r"(?i)^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE\s+SAVEPOINT)\b")
RUNS = 30


def bench_database_url():
    base = urlparse(os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/kestrel"))
    if base.scheme not in ("postgres", "postgresql"):
        sys.exit("bench/run.py needs DATABASE_URL to name a PostgreSQL server.")
    return urlunparse(base._replace(path=f"/{BENCH_DB}")), base


def recreate_database(base, name=BENCH_DB):
    import psycopg

    admin = urlunparse(base._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def must_seed(base, name, no_seed):
    """Whether to (re)create and seed the database `name`: unless --no-seed asked to keep
    it, and then still when it does not exist yet (a new machine), which is said."""
    import psycopg

    if not no_seed:
        return True
    admin = urlunparse(base._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if found is None:
        print(f"{name} does not exist yet: seeding it despite --no-seed.", file=sys.stderr)
    return found is None


def mfa_verified_login(client, user):
    """force_login, then the MFA step recorded as allauth records it after a correct code
    (the same shortcut tests/conftest.py gives the tests)."""
    client.force_login(user)
    try:
        from allauth.account.internal.flows.login import record_authentication
    except ImportError:
        return
    from django.http import HttpRequest

    request = HttpRequest()
    request.session = client.session
    record_authentication(request, user, "password", username=user.get_username())
    authenticator = user.authenticator_set.filter(type="totp").first()
    record_authentication(request, user, "mfa", type="totp", id=getattr(authenticator, "pk", None))
    request.session.save()


def scenarios():
    from django.urls import NoReverseMatch, reverse

    from clinic.accounts.models import User
    from clinic.patients.models import Patient

    prescriber = User.objects.get(username="bench-c1-prescriber1")
    nurse = User.objects.get(username="bench-c1-nurse1")
    admin = User.objects.get(username="bench-c1-admin1")
    patient = Patient.objects.get(medical_record_number="B-0000001")
    course = patient.treatment_courses.get()
    session = course.sessions.filter(status="discharged").order_by("-scheduled_at").first()
    found = [
        ("clinician home", prescriber, "GET", reverse("clinician_home"), None),
        ("patient list", prescriber, "GET", reverse("patients:list"), None),
        ("patient chart", prescriber, "GET", reverse("patients:detail", args=[patient.public_id]),
         None),
        ("session runner", nurse, "GET", reverse("pathway:session_run", args=[session.public_id]),
         None),
        ("outcomes", prescriber, "GET", reverse("measures:outcomes", args=[patient.public_id]),
         None),
        ("clinic admin home", admin, "GET", reverse("clinic_admin_home"), None),
        ("journal submit", patient.user, "POST", reverse("portal:journal_new"), "journal"),
    ]  # fmt: skip
    # The dashboard over a year; the export over every reading of the admin's clinic (the
    # seeded sessions lie within the last year).
    today = datetime.date.today()
    year = f"?start={today - datetime.timedelta(days=364)}&end={today}"
    for name, url_name, kwargs, kind in (
        ("admin dashboard", "reports:dashboard", {}, None),
        ("vitals export", "exports:download", {"kind": "vitals"}, "export"),
    ):
        try:
            found.append((name, admin, "GET", reverse(url_name, kwargs=kwargs) + year, kind))
        except NoReverseMatch:
            print(json.dumps({"scenario": name, "skipped": f"{url_name} not present"}))
    return found


def journal_form(client, url):
    """Today's journal form as the page renders it (its keys), filled in."""
    page = client.get(url).content.decode()
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    today = re.search(r'<option value="(\d{4}-\d\d-\d\d)"', page).group(1)
    data.update(
        entry_date=today, mood="6", energy="5", anxiety="3", sleep_hours="7",
        sleep_quality="6", note="", safety_thoughts="no",
    )  # fmt: skip
    return data


def journal_writers():
    """Portal patients of clinic 1 without today's entry (one entry a day each: every run is
    a different patient, and a second benchmark on the same day takes the next ones), and one
    more for the floor's rolled-back run (`rolled_back_statements`)."""
    from clinic.measures.services import journal_allowed_dates
    from clinic.patients.models import Patient

    portal = Patient.objects.filter(clinic__name="Bench Clinic 1", user__isnull=False)
    today = journal_allowed_dates(portal.select_related("clinic").first())[0]
    writers = list(
        portal.exclude(journal_entries__entry_date=today)
        .select_related("user")
        .order_by("id")[: RUNS + 3]
    )
    if len(writers) < RUNS + 3:
        raise SystemExit("Too few portal patients without today's journal entry: seed afresh.")
    return writers


def rolled_back_statements(client, writer, url):
    """The SQL statements of `writer`'s journal POST, from a run inside a transaction that is
    then rolled back: the same statements a committed POST sends (its commits aside), while
    its unique values (the form key, the journal day) stay free, so the floor can replay its
    writes too."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    mfa_verified_login(client, writer.user)
    data = journal_form(client, url)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url, data)
        transaction.set_rollback(True)
    if response.status_code != 302:
        raise SystemExit(f"{url}: the rolled-back POST answered HTTP {response.status_code}")
    return [q["sql"] for q in queries.captured_queries if not TRANSACTION_CONTROL.match(q["sql"])]


def measure(client, user, method, url, kind):
    """(timings, the SQL the floor replays, peak_mb, rows, first_byte_ms, the request's
    query count). A journal POST's floor SQL is its rolled-back run's, writes included."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    writers = journal_writers() if kind == "journal" else None
    floor_statements = rolled_back_statements(client, writers.pop(), url) if writers else None
    mfa_verified_login(client, user)
    timings, peak_mb, rows, captured, first_byte = [], None, None, None, []
    for run in range(RUNS + 2):
        data = None
        if writers:
            mfa_verified_login(client, writers[run].user)
            data = journal_form(client, url)
        if kind == "export" and run == 2:
            tracemalloc.start()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.post(url, data) if method == "POST" else client.get(url)
            lines, first_seen = 0, False
            if response.streaming:
                # Read as a browser would, chunk by chunk, keeping none: the peak is the
                # server's, not this loop's.
                for chunk in response.streaming_content:
                    if not first_seen:
                        first_seen = True
                        first_byte.append((time.perf_counter() - started) * 1000)
                    lines += chunk.count(b"\n")
            elapsed = (time.perf_counter() - started) * 1000
        if tracemalloc.is_tracing():
            peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            rows = lines - 1  # the header line
        if response.status_code >= 400:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        if run >= 2:  # two warm-up requests
            timings.append(elapsed)
            captured = captured or list(queries.captured_queries)
    first_byte_ms = statistics.median(first_byte) if first_byte else None
    if floor_statements is None:
        floor_statements = [q["sql"] for q in captured]
    return timings, floor_statements, peak_mb, rows, first_byte_ms, len(captured)


def floor_ms(statements, *, with_writes=False):
    """The request's SQL replayed through raw psycopg (fetching every row), median of RUNS.
    A page's floor is its reads. A POST's (`with_writes`) is every statement of its
    rolled-back run, writes included, replayed in one transaction that is rolled back: the
    floor leaves out the request's commits, so if anything it is low."""
    from django.db import connection

    raw = connection.connection
    # A streamed export reads through a server-side cursor: its SELECT, fetched whole.
    statements = [SERVER_CURSOR.sub("", sql) for sql in statements]
    if not with_writes:
        statements = [sql for sql in statements if READ_ONLY.match(sql)]
    best = []
    for _ in range(RUNS):
        started = time.perf_counter()
        transaction = raw.transaction(force_rollback=True) if with_writes else nullcontext()
        with transaction, raw.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()
        best.append((time.perf_counter() - started) * 1000)
    return statistics.median(best)


def machine():
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    ram_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))  # fmt: skip
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return f"{cpu}, {os.cpu_count()} cores, {ram_kb / 1024 / 1024:.1f} GiB RAM, PostgreSQL {pg}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 patients, 100,000 vitals")
    parser.add_argument(
        "--no-seed", action="store_true", help="keep the seeded data (migrations are applied)"
    )
    parser.add_argument("--only", help="run only the scenarios whose name contains this")
    args = parser.parse_args()
    url, base = bench_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings.test")
    patients, vitals = (1_000, 100_000) if args.quick else (10_000, 1_000_000)
    env = {**os.environ, "DATABASE_URL": url}
    manage = [sys.executable, str(ROOT / "manage.py")]
    seeding = must_seed(base, BENCH_DB, args.no_seed)
    if seeding:
        recreate_database(base)
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=env)  # noqa: S603
    if seeding:
        subprocess.run(  # noqa: S603
            [*manage, "seed_bench", f"--patients={patients}", f"--vitals={vitals}"],
            check=True, env=env,
        )  # fmt: skip
        if (ROOT / "clinic/reports/management/commands/rollup_reports.py").exists():
            # The nightly roll-ups a year of use leaves behind, which the dashboard reads.
            today = datetime.date.today()
            subprocess.run(  # noqa: S603
                [*manage, "rollup_reports", f"--start={today - datetime.timedelta(days=400)}",
                 f"--end={today}"],
                check=True, env=env,
            )  # fmt: skip
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    # Not setup_test_environment(): it instruments template rendering so that tests can
    # inspect contexts (a signal and a copy of the context for every template and
    # include), a cost no served page pays.
    settings.ALLOWED_HOSTS = ["testserver"]
    # The test settings close the database connection after every request (each test gets a
    # fresh one); a deployment keeps it (CONN_MAX_AGE in the base settings), so the pages
    # are measured on a kept connection, as they are served.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    results = []
    for name, user, method, path, kind in scenarios():
        if args.only and args.only not in name:
            continue
        timings, statements, peak_mb, rows, first_byte_ms, queries = measure(
            Client(), user, method, path, kind
        )
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[-1]
        floor = floor_ms(statements, with_writes=kind == "journal")
        row = {
            "scenario": name,
            "queries": queries,
            "p50_ms": round(p50, 1),
            "p95_ms": round(p95, 1),
            "floor_ms": round(floor, 2),
            "ratio": round(p50 / floor, 1) if floor else None,
        }
        if peak_mb is not None:
            row.update(rows=rows, peak_mb=round(peak_mb, 1), first_byte_ms=round(first_byte_ms))
        print(json.dumps(row), flush=True)
        results.append(row)
    if not args.only:  # the report's table is the whole set or nothing
        write_report(results, patients=patients, vitals=vitals)
    if not (args.only or args.quick):
        # A clinic's share of the group's readings is a quarter of them: the export of a
        # million readings from one clinic is measured on a database of its own.
        export = [sys.executable, str(ROOT / "bench" / "export.py")]
        subprocess.run([*export, *(["--no-seed"] if args.no_seed else [])], check=True)  # noqa: S603


def write_report(results, *, patients, vitals):
    table = "\n".join(
        f"| {r['scenario']} | {r['queries']} | {r['p50_ms']} | {r['p95_ms']} | {r['floor_ms']} "
        f"| {r['ratio']} | {r.get('rows', '')} | {r.get('peak_mb', '')} "
        f"| {r.get('first_byte_ms', '')} |"
        for r in results
    )
    section = (
        f"## Page benchmark ({patients:,} patients, {vitals:,} vitals)\n\n"
        f"Measured {datetime.date.today().isoformat()} on {machine()} by `python bench/run.py"
        f"{' --quick' if patients < 10_000 else ''}`: Django test client, signed in, warm, "
        f"on a kept database connection as deployed, {RUNS} requests; floor = the request's "
        "own SELECTs replayed through raw psycopg (the journal POST's: every statement, "
        "writes included, of a run rolled back, replayed in a transaction rolled back); "
        "the export streams every reading of "
        "the admin's clinic (peak = traced Python memory while streaming).\n\n"
        "| scenario | queries | p50 ms | p95 ms | floor ms | p50/floor | rows | peak MB "
        "| first byte ms |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        f"{table}\n"
    )
    replace_section(f"## Page benchmark ({patients:,} patients", section)


def replace_section(marker, section):
    """Puts `section` in docs/performance.md in place of the one starting with `marker`
    (up to the next "## " heading), or at the end."""
    path = ROOT / "docs" / "performance.md"
    text = path.read_text() if path.exists() else "# Performance\n\n"
    if marker in text:
        start = text.index(marker)
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("\n" + text[end + 1 :] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    main()
