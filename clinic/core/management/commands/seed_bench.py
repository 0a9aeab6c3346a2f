"""`manage.py seed_bench`: fills a PostgreSQL database with a clinic group at benchmark scale
(the SQL is in bench/seed.py). Refused under production settings and on SQLite."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench.seed import BENCH_PASSWORD, SeedRefused, seed


class Command(BaseCommand):
    help = (
        "Seed a PostgreSQL database with invented patients, sessions, vitals, questionnaires, "
        "journals, side effects and ledger entries at scale (set-based SQL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=10_000)
        parser.add_argument("--sessions", type=int, default=None, help="Default: ten per patient.")
        parser.add_argument("--vitals", type=int, default=1_000_000)
        parser.add_argument("--clinics", type=int, default=4)

    def handle(self, *args, **options):
        module = getattr(settings, "SETTINGS_MODULE", "") or ""
        if not getattr(settings, "DEMO_DATA_ALLOWED", False) or module.endswith("production"):
            raise CommandError(
                "seed_bench is refused with these settings: it writes invented patients and a "
                "well-known password, which must never reach a real clinic's database."
            )
        try:
            report = seed(
                patients=options["patients"],
                sessions=options["sessions"],
                vitals=options["vitals"],
                clinics=options["clinics"],
            )
        except SeedRefused as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded in {report.total_seconds:.1f} s. Logins: bench-c1-prescriber1, "
                f"bench-c1-nurse1, bench-c1-admin1, bench-patient-2 (password {BENCH_PASSWORD})."
            )
        )
