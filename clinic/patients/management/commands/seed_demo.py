"""Synthetic demo data: two clinics, one login per role, 20 invented patients each.

Idempotent: running it again changes nothing. Refused where DEMO_DATA_ALLOWED is off
(production settings), so it can never write invented patients into a real clinic.
"""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clinic.accounts.models import User
from clinic.accounts.roles import StaffRole
from clinic.patients import services
from clinic.patients.models import CareTeamMember, Clinic, ClinicMembership, Patient

DEMO_PASSWORD = "demo-pass-2026"

CLINICS = [
    {
        "name": "Riverside Demo Clinic",
        "mrn_prefix": "RIV",
        "timezone": "America/New_York",
        "phone": "+1 555 0100",
        "email": "riverside@example.invalid",
        "address": "1 Example Street\nDemo City, NY 00000",
    },
    {
        "name": "Hillside Demo Clinic",
        "mrn_prefix": "HIL",
        "timezone": "America/Chicago",
        "phone": "+1 555 0200",
        "email": "hillside@example.invalid",
        "address": "2 Sample Avenue\nDemo Town, IL 00000",
    },
]

STAFF = [
    # username, first, last, credentials, clinic index, role
    ("prescriber", "Priya", "Prescott", "MD", 0, StaffRole.PRESCRIBER),
    ("nurse", "Noah", "Nightingale", "RN", 0, StaffRole.NURSE),
    ("clinicadmin", "Ada", "Administrator", "", 0, StaffRole.ADMIN),
    ("otherclinician", "Omar", "Otherton", "NP", 1, StaffRole.PRESCRIBER),
]

GIVEN_NAMES = [
    "Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper", "Indigo",
    "Jules", "Kai", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese",
    "Sage", "Tatum",
]  # fmt: skip
FAMILY_NAMES = [
    "Example", "Sample", "Specimen", "Testcase", "Placeholder", "Fictional", "Madeup",
    "Pretend", "Imaginary", "Dummy", "Mockup", "Notreal", "Stand-In", "Lorem", "Ipsum",
    "Demo", "Prototype", "Makebelieve", "Invented", "Synthetic",
]  # fmt: skip
SEXES = ["female", "male", "female", "male", "intersex"]
PATIENTS_PER_CLINIC = 20


class Command(BaseCommand):
    help = "Create (or leave as they are) the demo clinics, logins and invented patients."

    def handle(self, *args, **options):
        if not getattr(settings, "DEMO_DATA_ALLOWED", False):
            raise CommandError(
                "seed_demo is refused with these settings: it writes invented patients and "
                "well-known passwords, which must never reach a real clinic's database."
            )
        with transaction.atomic():
            clinics = [self._clinic(**spec) for spec in CLINICS]
            staff = {spec[0]: self._staff(clinics, *spec) for spec in STAFF}
            for index, clinic in enumerate(clinics):
                registrar = staff["clinicadmin"] if index == 0 else staff["otherclinician"]
                patients = [
                    self._patient(clinic, index, number, registrar)
                    for number in range(PATIENTS_PER_CLINIC)
                ]
                if index == 0:
                    self._care_team(patients, staff)
                    self._portal_user(patients[0])
                else:
                    self._care_team_other(patients, staff["otherclinician"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(CLINICS)} clinics, {PATIENTS_PER_CLINIC} patients each; "
                f"logins {', '.join(s[0] for s in STAFF)}, patient; password {DEMO_PASSWORD}"
            )
        )

    def _clinic(self, name, **fields):
        clinic, _ = Clinic.objects.get_or_create(name=name, defaults=fields)
        return clinic

    def _user(self, username, first, last, credentials=""):
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "credentials": credentials,
                "email": f"{username}@example.invalid",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _staff(self, clinics, username, first, last, credentials, clinic_index, role):
        user = self._user(username, first, last, credentials)
        ClinicMembership.objects.get_or_create(user=user, clinic=clinics[clinic_index], role=role)
        return user

    def _patient(self, clinic, clinic_index, number, registrar):
        given = GIVEN_NAMES[number]
        family = FAMILY_NAMES[(number + clinic_index * 7) % len(FAMILY_NAMES)]
        existing = Patient.objects.filter(
            clinic=clinic, given_name=given, family_name=family
        ).first()
        if existing is not None:
            return existing
        born = datetime.date(1958 + (number * 3 + clinic_index) % 45, 1 + number % 12, 1 + number)
        return services.patient_register(
            clinic=clinic,
            registered_by=registrar,
            given_name=given,
            family_name=family,
            preferred_name="",
            date_of_birth=born,
            sex_at_birth=SEXES[number % len(SEXES)],
            gender_identity="",
            pronouns="",
            email=f"{given.lower()}.{family.lower()}@example.invalid",
            phone=f"+1 555 01{number:02d}",
            address=f"{10 + number} Demo Road\nDemo City",
            emergency_contact_name=f"{GIVEN_NAMES[(number + 5) % 20]} {family}"
            if number % 6
            else "",
            emergency_contact_relationship="Partner" if number % 2 else "Sibling",
            emergency_contact_phone=f"+1 555 02{number:02d}" if number % 6 else "",
        )

    def _care_team(self, patients, staff):
        for patient in patients[:8]:
            self._join(
                patient, staff["prescriber"], CareTeamMember.Responsibility.PRIMARY_PRESCRIBER
            )
        for patient in patients[:5]:
            self._join(patient, staff["nurse"], CareTeamMember.Responsibility.NURSE)

    def _care_team_other(self, patients, clinician):
        for patient in patients[:6]:
            self._join(patient, clinician, CareTeamMember.Responsibility.PRIMARY_PRESCRIBER)

    def _join(self, patient, user, responsibility):
        if not CareTeamMember.objects.filter(patient=patient, user=user, is_active=True).exists():
            CareTeamMember.objects.create(patient=patient, user=user, responsibility=responsibility)

    def _portal_user(self, patient):
        user = self._user("patient", patient.given_name, patient.family_name)
        if patient.user_id is None:
            patient.user = user
            patient.save(update_fields=["user", "updated_at"])
