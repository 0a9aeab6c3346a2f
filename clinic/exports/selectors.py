"""Who may export what, and the rows of one export.

A clinic admin exports every patient of their clinic; a clinician (prescriber or nurse)
exports only the patients whose care team they are on ("my patients", as the clinician home
defines it). Nobody exports their own patient record from the staff side, as on every staff
page.
"""

import datetime
import zoneinfo

from django.core.exceptions import PermissionDenied

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole
from clinic.core.access import user_has_role
from clinic.patients.models import Patient
from clinic.patients.selectors import clinics_for_user

# Rows fetched from the server-side cursor at a time: memory stays flat whatever the range.
CHUNK_SIZE = 2000


def export_clinics_for_user(user):
    return list(clinics_for_user(user, roles=STAFF_ROLES).order_by("name"))


def export_scope(user, clinic):
    """(patients the user may export at `clinic`, "clinic" or "my patients")."""
    patients = Patient.objects.filter(clinic=clinic).exclude(user=user)
    if user_has_role(user, [StaffRole.ADMIN], clinic=clinic):
        return patients, "clinic"
    if user_has_role(user, CLINICIAN_ROLES, clinic=clinic):
        return (
            patients.filter(care_team__user=user, care_team__is_active=True),
            "my patients",
        )
    raise PermissionDenied


def local_bounds(start, end, tz_name):
    """[start 00:00, the day after end 00:00) in the clinic's time zone, as aware datetimes:
    both days are included whole, whatever the offset of each."""
    tz = zoneinfo.ZoneInfo(tz_name)
    return (
        datetime.datetime.combine(start, datetime.time.min, tzinfo=tz),
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz),
    )


def export_queryset(kind, *, patients, start, end, tz_name):
    """The rows of `kind` for `patients` in [start, end], oldest first, as value tuples."""
    if kind.date_only:
        in_range = {f"{kind.date_field}__gte": start, f"{kind.date_field}__lte": end}
    else:
        since, before = local_bounds(start, end, tz_name)
        in_range = {f"{kind.date_field}__gte": since, f"{kind.date_field}__lt": before}
    return (
        kind.model.objects.filter(**{f"{kind.patient_path}__in": patients.values("pk")})
        .filter(**in_range)
        .order_by(kind.date_field, "id")
        .values_list(*kind.fields)
    )


def export_rows(kind, **criteria):
    """Streams the rows through a server-side cursor (PostgreSQL) in chunks."""
    return export_queryset(kind, **criteria).iterator(chunk_size=CHUNK_SIZE)
