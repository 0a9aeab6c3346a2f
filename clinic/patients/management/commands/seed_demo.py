"""Synthetic demo data: two clinics, one login per role, 20 invented patients each, and
treatment courses left at every stage of the pathway.

Idempotent: running it again changes nothing. Refused where DEMO_DATA_ALLOWED is off
(production settings), so it can never write invented patients into a real clinic.
"""

import datetime

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from clinic.accounts.models import User
from clinic.accounts.roles import StaffRole
from clinic.measures.demo import seed_demo_measures
from clinic.pathway import services as pathway_services
from clinic.pathway import session_services
from clinic.pathway.defaults import ensure_default_checklists
from clinic.pathway.demo import walk_course
from clinic.pathway.models import CourseStatus, Drug, FollowUpKind, TreatmentCourse
from clinic.patients import services
from clinic.patients.models import CareTeamMember, Clinic, ClinicMembership, Patient

DEMO_PASSWORD = "demo-pass-2026"
# Where staff two-factor authentication is required (test settings; never production, which
# refuses to seed), every demo staff login gets an authenticator app with this base32 secret,
# so browser tests can type the current code. The demo settings switch two-factor off, and
# there the demo staff get no authenticator: they sign in with the password alone, as the
# login page says (and may enrol one from their menu).
DEMO_TOTP_SECRET = "KESTRELDEMOSTAFFTOTPSECRET234567"

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

# Riverside patients by position, and the pathway stage their demo course is left at: one
# of every stage, so each page of the pathway has something to show.
RIVERSIDE_COURSES = [
    (0, "maintenance", Drug.KETAMINE),
    (1, "consultation_draft", Drug.KETAMINE),
    (2, "consultation_signed", Drug.ESKETAMINE),
    (3, "assessment_draft", Drug.KETAMINE),
    (4, "assessed_eligible", Drug.ESKETAMINE),
    (5, "plan_draft", Drug.KETAMINE),
    (6, "plan_approved", Drug.KETAMINE),
    (7, "active", Drug.KETAMINE),
    (8, "active", Drug.ESKETAMINE),
    (9, "ineligible", Drug.KETAMINE),
    (10, "maintenance", Drug.ESKETAMINE),
]
HILLSIDE_COURSES = [
    (0, "active", Drug.KETAMINE),
    (1, "assessment_draft", Drug.ESKETAMINE),
]
CHECKLIST_EDITORS_GROUP = "Checklist editors"


class Command(BaseCommand):
    help = "Create (or leave as they are) the demo clinics, logins and invented patients."

    def handle(self, *args, **options):
        if not getattr(settings, "DEMO_DATA_ALLOWED", False):
            raise CommandError(
                "seed_demo is refused with these settings: it writes invented patients and "
                "well-known passwords, which must never reach a real clinic's database."
            )
        with transaction.atomic():
            ensure_default_checklists()
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
                    self._courses(patients, RIVERSIDE_COURSES, staff["prescriber"], staff["nurse"])
                    self._sessions(clinic, staff["prescriber"], staff["nurse"])
                    seed_demo_measures(patients[0], staff["prescriber"])
                else:
                    self._care_team_other(patients, staff["otherclinician"])
                    self._courses(
                        patients,
                        HILLSIDE_COURSES,
                        staff["otherclinician"],
                        staff["otherclinician"],
                    )
            self._checklist_editor(staff["clinicadmin"])
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
        if (
            settings.CLINIC_STAFF_MFA_REQUIRED
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            TOTP.activate(user, DEMO_TOTP_SECRET)
            RecoveryCodes.activate(user)
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

    def _courses(self, patients, plan, prescriber, nurse):
        for position, stage, drug in plan:
            patient = patients[position]
            if patient.treatment_courses.exists():
                continue
            course = walk_course(
                patient=patient,
                prescriber=prescriber,
                nurse=nurse,
                stage=stage,
                drug=drug,
                weight_kg=f"{64 + position * 3}.5",
            )
            if stage == "active" and drug == Drug.KETAMINE:
                # An overdue check-in, so the overdue list has something to show.
                pathway_services.follow_up_schedule(
                    course=course,
                    by=nurse,
                    kind=FollowUpKind.CHECK_IN,
                    due_on=timezone.localdate() - datetime.timedelta(days=3),
                )

    def _sessions(self, clinic, prescriber, nurse):
        """Stock for the clinic, two past discharged sessions (vitals, a side effect, ledger
        history) for each course in treatment, and one session booked today for the nurse.
        Courses that already have sessions are left alone."""
        from clinic.ledger.demo import seed_demo_lots
        from clinic.pathway.demo_sessions import demo_clock, demo_past_session

        today = timezone.localdate()
        with demo_clock(timezone.now() - datetime.timedelta(days=6)):
            seed_demo_lots(clinic, prescriber)
        courses = TreatmentCourse.objects.filter(
            patient__clinic=clinic, status__in=[CourseStatus.ACTIVE, CourseStatus.MAINTENANCE]
        ).order_by("pk")
        booked_today = False
        for course in courses:
            if course.sessions.exists():
                continue
            for number, days_ago in enumerate((5, 2)):
                demo_past_session(
                    course=course,
                    prescriber=prescriber,
                    nurse=nurse,
                    witness_password=DEMO_PASSWORD,
                    day=today - datetime.timedelta(days=days_ago),
                    critical=number == 0 and course.drug == Drug.KETAMINE,
                    side_effect=number == 0,
                )
            if not booked_today and course.drug == Drug.KETAMINE and course.status == "active":
                session_services.session_schedule(
                    course=course,
                    by=nurse,
                    scheduled_at=timezone.now().replace(second=0, microsecond=0),
                    nurse=nurse,
                    prescriber=prescriber,
                )
                booked_today = True

    def _checklist_editor(self, user):
        """The demo clinic admin keeps the clinic's checklists in the Django admin."""
        group, _ = Group.objects.get_or_create(name=CHECKLIST_EDITORS_GROUP)
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="pathway",
                content_type__model__in=["checklisttemplate", "checklistitem"],
            )
        )
        user.groups.add(group)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
