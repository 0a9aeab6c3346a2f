"""Export benchmark: `python bench/export.py [--no-seed]`.

One clinic's vitals export of a million readings. Creates (drops and re-creates) the
database `kestrel_export` on the PostgreSQL server named by DATABASE_URL, migrates it and
seeds one clinic (1,000 patients, 10,000 sessions, 1,000,000 vitals), then downloads the
clinic admin's vitals export of the last year through Django's test client, read chunk by
chunk as a browser reads it and kept nowhere: once timed (first byte, whole file), once
under tracemalloc (peak Python memory while streaming), and the process's peak resident
memory while streaming (/proc VmHWM, reset before the download). Prints one JSON object and
writes the "Export benchmark" section of docs/performance.md.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import (  # noqa: E402
    bench_database_url,
    machine,
    mfa_verified_login,
    must_seed,
    recreate_database,
    replace_section,
)

EXPORT_DB = "kestrel_export"
READINGS = 1_000_000
SEED = ["--clinics=1", "--patients=1000", "--sessions=10000", f"--vitals={READINGS}"]
SECTION = "## Export benchmark"


def resident_peak_mb():
    status = Path("/proc/self/status").read_text()
    return (
        int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
        / 1024
    )


def reset_resident_peak():
    # "5" resets the process's peak resident size to its current size (proc(5)).
    Path("/proc/self/clear_refs").write_text("5")


def stream(client, url, *, traced=False):
    """(status, lines, megabytes, first byte ms, total ms, traced peak MB) of one download."""
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    response = client.get(url)
    first_byte = None
    lines = size = 0
    for chunk in response.streaming_content:
        if first_byte is None:
            first_byte = (time.perf_counter() - started) * 1000
        lines += chunk.count(b"\n")
        size += len(chunk)
    response.close()
    total = (time.perf_counter() - started) * 1000
    peak = None
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return response.status_code, lines, size / 1e6, first_byte, total, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-seed", action="store_true", help="keep the seeded data (migrations are applied)"
    )
    args = parser.parse_args()
    _bench_url, base = bench_database_url()
    url = urlunparse(base._replace(path=f"/{EXPORT_DB}"))
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings.test")
    env = {**os.environ, "DATABASE_URL": url}
    manage = [sys.executable, str(ROOT / "manage.py")]
    seeding = must_seed(base, EXPORT_DB, args.no_seed)
    if seeding:
        recreate_database(base, EXPORT_DB)
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=env)  # noqa: S603
    if seeding:
        subprocess.run([*manage, "seed_bench", *SEED], check=True, env=env)  # noqa: S603
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from clinic.accounts.models import User

    settings.ALLOWED_HOSTS = ["testserver"]
    client = Client()
    mfa_verified_login(client, User.objects.get(username="bench-c1-admin1"))
    today = datetime.date.today()
    download = reverse("exports:download", kwargs={"kind": "vitals"})
    stream(client, f"{download}?start={today}&end={today}")  # warm: a day's readings
    path = f"{download}?start={today - datetime.timedelta(days=364)}&end={today}"
    reset_resident_peak()
    baseline_mb = resident_peak_mb()
    status, lines, size_mb, first_byte, total, _ = stream(client, path)
    resident_mb = resident_peak_mb()
    if status != 200:
        raise SystemExit(f"{path}: HTTP {status}")
    *_rest, traced_peak = stream(client, path, traced=True)
    rows = lines - 1  # the header line
    result = {
        "scenario": "vitals export, one clinic",
        "rows": rows,
        "file_mb": round(size_mb, 1),
        "first_byte_ms": round(first_byte),
        "total_s": round(total / 1000, 1),
        "rows_per_s": round(rows / (total / 1000)),
        "traced_peak_mb": round(traced_peak, 1),
        "resident_growth_mb": round(resident_mb - baseline_mb, 1),
        "resident_peak_mb": round(resident_mb, 1),
    }
    print(json.dumps(result), flush=True)
    if rows < READINGS:
        raise SystemExit(f"Expected {READINGS:,} rows in the export, got {rows:,}: seed afresh.")
    write_report(result)


def write_report(r):
    section = (
        f"{SECTION}\n\n"
        f"Measured {datetime.date.today().isoformat()} on {machine()} by `python "
        "bench/export.py`: one clinic seeded with 1,000,000 vitals; its admin downloads the "
        "vitals export of the last year through Django's test client, read chunk by chunk. "
        "Traced peak = Python memory allocated while streaming (tracemalloc, a second "
        "download); resident = the process's peak resident memory during the timed download, "
        "Django and its caches included, and how much it grew.\n\n"
        "| rows | file MB | first byte ms | whole file s | rows/s | traced peak MB "
        "| resident peak MB | resident growth MB |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| {r['rows']:,} | {r['file_mb']} | {r['first_byte_ms']} | {r['total_s']} "
        f"| {r['rows_per_s']:,} | {r['traced_peak_mb']} | {r['resident_peak_mb']} "
        f"| {r['resident_growth_mb']} |\n"
    )
    replace_section(SECTION, section)


if __name__ == "__main__":
    main()
