import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinic.core.lookups import is_uuid
from clinic.patients.models import Clinic
from clinic.reports.services import rollups_build


def _iso_date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from exc


class Command(BaseCommand):
    help = "Rebuilds the report roll-ups for a range of clinic-local days (both included)."

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, type=_iso_date, help="YYYY-MM-DD")
        parser.add_argument("--end", required=True, type=_iso_date, help="YYYY-MM-DD")
        parser.add_argument("--clinic", help="A clinic's public id; every clinic if omitted.")

    def handle(self, *args, start, end, clinic=None, **options):
        chosen = None
        if clinic:
            chosen = Clinic.objects.filter(public_id=clinic).first() if is_uuid(clinic) else None
            if chosen is None:
                raise CommandError(f"No clinic has the id {clinic!r}.")
        try:
            run = rollups_build(clinic=chosen, start=start, end=end)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        seconds = run.duration.total_seconds()
        self.stdout.write(
            f"Rolled up {run.start}..{run.end} for {chosen or 'every clinic'}: "
            f"{run.rows_written} rows in {seconds:.2f} s."
        )
