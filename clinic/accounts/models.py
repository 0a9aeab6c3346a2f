import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from clinic.accounts.roles import CLINICIAN_ROLES, StaffRole


class User(AbstractUser):
    """A person who signs in: a clinician, a clinic admin or a patient.

    Roles are held per clinic (`patients.ClinicMembership`); a patient is a user
    linked to a `patients.Patient` record.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    credentials = models.CharField(
        max_length=64, blank=True, help_text="Shown after the name, e.g. MD, NP, RN."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="user_email_unique_ci",
                violation_error_message="A user with this e-mail address already exists.",
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        name = self.get_full_name() or self.username
        return f"{name}, {self.credentials}" if self.credentials else name

    def active_memberships(self):
        """(role, clinic id, clinic is active, clinic time zone) of each active membership,
        oldest first. One query per user object answers the navigation's roles, the time zone
        and, for the request's own user, every role check of the request
        (core.access.user_has_role); a request loads its user afresh."""
        if not hasattr(self, "_membership_cache"):
            self._membership_cache = list(
                self.clinic_memberships.filter(is_active=True)
                .order_by("created_at", "pk")
                .values_list("role", "clinic_id", "clinic__is_active", "clinic__timezone")
            )
        return self._membership_cache

    def set_loaded_memberships(self, memberships):
        """What `active_memberships` returns, read with the user row itself
        (accounts.backends.load_request_user)."""
        self._membership_cache = list(memberships)

    def _active_roles(self):
        if not hasattr(self, "_role_cache"):
            self._role_cache = frozenset(
                role for role, _clinic, clinic_active, _tz in self.active_memberships()
                if clinic_active
            )  # fmt: skip
        return self._role_cache

    @property
    def is_clinician(self):
        return bool(self._active_roles() & CLINICIAN_ROLES)

    @property
    def is_prescriber(self):
        return StaffRole.PRESCRIBER in self._active_roles()

    @property
    def is_clinic_admin(self):
        return StaffRole.ADMIN in self._active_roles()

    @property
    def is_clinic_staff(self):
        return bool(self._active_roles())

    @property
    def is_patient(self):
        return not self.is_clinic_staff and hasattr(self, "patient_record")

    def display_timezone(self):
        """The time zone to show times in: the clinic this person works in or attends."""
        if not hasattr(self, "_tz_cache"):
            memberships = self.active_memberships()
            if memberships:
                self._tz_cache = memberships[0][3]
            else:
                patient = getattr(self, "patient_record", None)
                self._tz_cache = patient.clinic.timezone if patient is not None else None
        return self._tz_cache
