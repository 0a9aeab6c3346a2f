from django.db import models


class StaffRole(models.TextChoices):
    """A staff member's role in one clinic; the same person may hold different roles
    in different clinics."""

    PRESCRIBER = "prescriber", "Prescriber"
    NURSE = "nurse", "Nurse"
    ADMIN = "admin", "Clinic admin"


CLINICIAN_ROLES = frozenset({StaffRole.PRESCRIBER, StaffRole.NURSE})
STAFF_ROLES = frozenset(StaffRole)
