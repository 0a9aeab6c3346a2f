"""Writes of the reports app: building the daily roll-ups."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.patients.models import Clinic
from clinic.reports.models import DailyClinicStat, RollupRun
from clinic.reports.selectors import clinic_today, live_daily_rows

# A build of more than this many days at once is a mistake, not a backfill.
MAX_ROLLUP_DAYS = 366 * 10


def _rebuild_clinic(clinic, start, end):
    """Replaces the clinic's rows for `start`..`end` with freshly computed ones, atomically:
    a reader sees either the old figures or the new, never a half-built day."""
    with transaction.atomic():
        # Serialises builds of the same clinic, so two overlapping runs cannot both insert.
        Clinic.objects.select_for_update().filter(pk=clinic.pk).first()
        rows = live_daily_rows(clinic, start, end)
        DailyClinicStat.objects.filter(clinic=clinic, day__gte=start, day__lte=end).delete()
        DailyClinicStat.objects.bulk_create(
            DailyClinicStat(
                clinic=clinic,
                day=day,
                metric=metric,
                dimension=dimension,
                count=count,
                value_sum=value_sum,
                value_max=value_max,
            )
            for (day, metric, dimension), (count, value_sum, value_max) in rows.items()
        )
    return len(rows)


def rollups_build(*, clinic=None, start, end):
    """Recomputes the daily roll-ups of `clinic` (every active clinic when None) for the
    clinic-local days `start`..`end`, both included. Idempotent: running it twice leaves the
    same rows as running it once. Records a `RollupRun`."""
    if start > end:
        raise ValidationError({"end": "The end date must be on or after the start date."})
    if (end - start).days >= MAX_ROLLUP_DAYS:
        raise ValidationError({"start": f"Build at most {MAX_ROLLUP_DAYS} days at a time."})
    started_at = timezone.now()
    clinics = [clinic] if clinic is not None else list(Clinic.objects.filter(is_active=True))
    rows = sum(_rebuild_clinic(each, start, end) for each in clinics)
    return RollupRun.objects.create(
        clinic=clinic,
        start=start,
        end=end,
        started_at=started_at,
        finished_at=timezone.now(),
        rows_written=rows,
    )


def rollups_nightly():
    """Yesterday and today in each clinic's own calendar. Yesterday is rebuilt because the
    previous night's run saw only part of it; today so the page can say how far it got."""
    runs = []
    for clinic in Clinic.objects.filter(is_active=True):
        today = clinic_today(clinic)
        runs.append(
            rollups_build(clinic=clinic, start=today - datetime.timedelta(days=1), end=today)
        )
    return runs
