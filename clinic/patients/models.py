import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from clinic.accounts.roles import StaffRole
from clinic.core.history import track_changes
from clinic.core.models import PublicModel

phone_validator = RegexValidator(
    regex=r"^\+?[0-9 ()\-.]{7,20}$",
    message="Enter a phone number of 7 to 20 digits; spaces, dashes, brackets and a "
    "leading + are allowed.",
)
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)


def validate_timezone_name(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"“{value}” is not a known time zone.") from exc


@track_changes
class Clinic(PublicModel):
    name = models.CharField(max_length=120, unique=True)
    timezone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_timezone_name]
    )
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    mrn_prefix = models.CharField(
        max_length=8,
        default="K",
        validators=[RegexValidator(r"^[A-Z]{1,8}$", "Use 1 to 8 capital letters.")],
        help_text="Prefix of the medical record numbers this clinic issues.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="clinic_name_not_blank"),
        ]

    def __str__(self):
        return self.name


@track_changes
class ClinicMembership(PublicModel):
    """A staff member's role in one clinic."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinic_memberships"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=16, choices=StaffRole.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["clinic__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "clinic", "role"], name="membership_unique_role_per_clinic"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=StaffRole.values),
                name="membership_role_valid",
            ),
        ]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} at {self.clinic}"


class SexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Not recorded"


class PatientStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DECEASED = "deceased", "Deceased"


@track_changes
class Patient(PublicModel):
    SexAtBirth = SexAtBirth
    Status = PatientStatus

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patient_record",
        help_text="The portal account, once the patient has accepted an invitation.",
    )
    medical_record_number = models.CharField("MRN", max_length=24, editable=False)
    given_name = models.CharField(max_length=80)
    family_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices)
    gender_identity = models.CharField(max_length=60, blank=True)
    pronouns = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    address = models.TextField(blank=True, help_text="Postal address, as the patient gives it.")
    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    emergency_contact_phone = models.CharField(
        max_length=32, blank=True, validators=[phone_validator]
    )
    status = models.CharField(
        max_length=10, choices=PatientStatus.choices, default=PatientStatus.ACTIVE
    )
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Raised on every change; stale edits are refused."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "medical_record_number"], name="patient_mrn_unique_per_clinic"
            ),
            models.CheckConstraint(
                condition=~models.Q(given_name="") & ~models.Q(family_name=""),
                name="patient_name_not_blank",
            ),
            models.CheckConstraint(
                condition=models.Q(date_of_birth__gte=EARLIEST_BIRTH_DATE),
                name="patient_birth_date_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(sex_at_birth__in=SexAtBirth.values),
                name="patient_sex_at_birth_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PatientStatus.values),
                name="patient_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["clinic", "family_name", "given_name"], name="patient_clinic_name"
            ),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.given_name} {self.family_name}"

    @property
    def display_name(self):
        if self.preferred_name and self.preferred_name != self.given_name:
            return f"{self.given_name} “{self.preferred_name}” {self.family_name}"
        return self.full_name

    def age_on(self, day):
        years = day.year - self.date_of_birth.year
        if (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years

    @property
    def age(self):
        return self.age_on(timezone.localdate())

    def clean(self):
        super().clean()
        if self.date_of_birth and self.date_of_birth > timezone.localdate():
            raise ValidationError({"date_of_birth": "The date of birth cannot be in the future."})
        if self.date_of_birth and self.date_of_birth < EARLIEST_BIRTH_DATE:
            raise ValidationError({"date_of_birth": "Enter a date of birth after 1900."})
        for field in ("given_name", "family_name"):
            value = getattr(self, field)
            if value is not None and not value.strip():
                raise ValidationError({field: "This field cannot be blank."})


@track_changes
class CareTeamMember(PublicModel):
    """A clinician named on a patient's care team (for 'my patients' and alerts)."""

    class Responsibility(models.TextChoices):
        PRIMARY_PRESCRIBER = "primary_prescriber", "Primary prescriber"
        PRESCRIBER = "prescriber", "Prescriber"
        NURSE = "nurse", "Nurse"
        COORDINATOR = "coordinator", "Care coordinator"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_team_roles"
    )
    responsibility = models.CharField(max_length=24, choices=Responsibility.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["responsibility", "user__last_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "user"],
                condition=models.Q(is_active=True),
                name="care_team_one_active_row_per_user",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(is_active=True, responsibility="primary_prescriber"),
                name="care_team_one_primary_prescriber",
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_responsibility_display()}) for {self.patient}"

    def clean(self):
        super().clean()
        if self.patient_id and self.user_id:
            works_there = ClinicMembership.objects.filter(
                user_id=self.user_id,
                clinic_id=self.patient.clinic_id,
                role__in=[StaffRole.PRESCRIBER, StaffRole.NURSE],
                is_active=True,
            ).exists()
            if not works_there:
                raise ValidationError(
                    {"user": "Only a clinician of the patient's clinic can join the care team."}
                )
            prescribing = self.responsibility in (
                self.Responsibility.PRIMARY_PRESCRIBER,
                self.Responsibility.PRESCRIBER,
            )
            if (
                prescribing
                and not ClinicMembership.objects.filter(
                    user_id=self.user_id,
                    clinic_id=self.patient.clinic_id,
                    role=StaffRole.PRESCRIBER,
                    is_active=True,
                ).exists()
            ):
                raise ValidationError({"responsibility": "Only a prescriber can hold this role."})
