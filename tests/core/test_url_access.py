"""Walks every URL pattern of the project, so that a URL added later fails here until
its access rules are stated and tested.

- Every URL is public, role-scoped (no object id) or object-scoped (an object id in
  the path): the lists below say which.
- Anonymous users are sent to a login page (or refused) everywhere but public URLs.
- For every object URL, a clinician of another clinic and a patient who does not own
  the record get 404 for GET and POST, and nothing changes but the audit log.
"""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from clinic.accounts.models import User
from clinic.core.models import AccessEvent, Addendum, Notification
from clinic.core.services import notify
from clinic.fhir import services as fhir_services
from clinic.fhir.models import ApiToken
from clinic.ledger.models import LedgerEntry, Lot
from clinic.measures import services as measure_services
from clinic.measures.models import (
    InstrumentResponse,
    MeasureDue,
    MoodJournalEntry,
    SafetyAlert,
    ScheduleRule,
)
from clinic.monitoring.models import SideEffectReport, VitalAcknowledgment, VitalReading
from clinic.pathway import services as pathway_services
from clinic.pathway import session_services
from clinic.pathway.demo import walk_course
from clinic.pathway.models import (
    AdministrationSession,
    Assessment,
    BodyMeasurement,
    ChecklistAnswer,
    Consultation,
    CourseStatusChange,
    FollowUp,
    PlanStatusChange,
    SessionStatusChange,
    TreatmentCourse,
    TreatmentPlan,
)
from clinic.pathway.urls import SESSION_ACTIONS
from clinic.patients.models import CareTeamMember, ClinicMembership, Patient
from clinic.portal.models import PortalInvitation
from tests import factories
from tests.ledger.conftest import receive as receive_lot

PUBLIC_URLS = {
    "account_login",
    "account_logout",
    "account_signup",
    "account_inactive",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_confirm_email",
    "account_email_verification_sent",
    "account_confirm_login_code",
    # The two-factor step of signing in: only a login stage in progress reaches it.
    "mfa_authenticate",
    # Load balancers ask without signing in; anonymous callers get the state, no details.
    "health",
    # The invitation link: its token is the credential; a bad token gets an explanation.
    "portal:welcome",
    # The FHIR API enforces its own Bearer-token auth: 401 without a token, even for a
    # signed-in browser, and 404 for records outside the token user's scope (tests/fhir/).
    # The CapabilityStatement (metadata) is public by design.
    "fhir:metadata",
    "fhir:search",
    "fhir:read",
    "fhir:patient_everything",
    "fhir:unknown",
}

# How to name a real object of the first clinic in each object-scoped URL.
OBJECT_URL_KWARGS = {
    "patients:detail": lambda w: {"public_id": w.patient.public_id},
    "patients:edit": lambda w: {"public_id": w.patient.public_id},
    "patients:care_team_add": lambda w: {"public_id": w.patient.public_id},
    "patients:care_team_remove": lambda w: {
        "public_id": w.patient.public_id,
        "member_public_id": w.member.public_id,
    },
    # Treatment pathway: a course in treatment (signed notes, an approved plan v1, a draft
    # v2 and a scheduled follow-up) and a course whose consultation is still a draft.
    "pathway:course_create": lambda w: {"public_id": w.patient.public_id},
    "pathway:course": lambda w: {"public_id": w.course.public_id},
    "pathway:course_transition": lambda w: {"public_id": w.course.public_id},
    "pathway:consultation_edit": lambda w: {"public_id": w.draft_course.public_id},
    "pathway:assessment_start": lambda w: {"public_id": w.course.public_id},
    "pathway:plan_create": lambda w: {"public_id": w.draft_course.public_id},
    "pathway:follow_up_create": lambda w: {"public_id": w.course.public_id},
    "pathway:consultation": lambda w: {"public_id": w.consultation.public_id},
    "pathway:consultation_edit_by_id": lambda w: {"public_id": w.draft_consultation.public_id},
    "pathway:consultation_sign": lambda w: {"public_id": w.draft_consultation.public_id},
    "pathway:consultation_addendum": lambda w: {"public_id": w.consultation.public_id},
    "pathway:assessment": lambda w: {"public_id": w.assessment.public_id},
    "pathway:assessment_sign": lambda w: {"public_id": w.assessment.public_id},
    "pathway:assessment_addendum": lambda w: {"public_id": w.assessment.public_id},
    "pathway:plan": lambda w: {"public_id": w.plan.public_id},
    "pathway:plan_edit": lambda w: {"public_id": w.draft_plan.public_id},
    "pathway:plan_approve": lambda w: {"public_id": w.draft_plan.public_id},
    "pathway:plan_transition": lambda w: {"public_id": w.plan.public_id},
    "pathway:plan_addendum": lambda w: {"public_id": w.plan.public_id},
    "pathway:follow_up": lambda w: {"public_id": w.follow_up.public_id},
    "pathway:follow_up_sign": lambda w: {"public_id": w.follow_up.public_id},
    "pathway:follow_up_close": lambda w: {"public_id": w.follow_up.public_id},
    "pathway:follow_up_addendum": lambda w: {"public_id": w.follow_up.public_id},
}

# Role pages: URL name -> a fixture name of a user who may open it.
ROLE_URLS = {
    "home": "prescriber",
    "clinician_home": "prescriber",
    "clinic_admin_home": "clinic_admin",
    "patients:list": "prescriber",
    "patients:create": "prescriber",
    "pathway:follow_ups_overdue": "prescriber",
    "portal:home": "portal_user",
    "account_reauthenticate": "prescriber",
    "account_email": "prescriber",
    "account_change_password": "prescriber",
    "account_set_password": "prescriber",
}


# Controlled-substance ledger: a lot received at the first clinic, and its RECEIVE row.
# (World.__init__ receives it, so that snapshots taken before the walk include it.)
def _ledger_lot(w):
    return w.ledger_lot


OBJECT_URL_KWARGS.update(
    {
        **{
            f"ledger:lot_{action}": lambda w: {"public_id": _ledger_lot(w).public_id}
            for action in ("detail", "count", "adjust", "dispose", "loss", "return", "quarantine")
        },
        "ledger:entry_reverse": lambda w: {
            "public_id": _ledger_lot(w).entries.get(entry_type="receive").public_id
        },
    }
)
ROLE_URLS.update(
    {
        "ledger:lot_list": "prescriber",
        "ledger:lot_receive": "prescriber",
        "ledger:count_sheet": "prescriber",
    }
)


# Administration sessions: one booked on the course in treatment; the runner's POST-only
# actions all take the session's public id. The alerts bell: a notification of the prescriber.
OBJECT_URL_KWARGS.update(
    {
        "pathway:session_book": lambda w: {"public_id": w.course.public_id},
        "pathway:session_run": lambda w: {"public_id": w.session.public_id},
        "pathway:session_print": lambda w: {"public_id": w.session.public_id},
        **{
            f"pathway:session_{name}": lambda w: {"public_id": w.session.public_id}
            for _slug, name in SESSION_ACTIONS
        },
        "core:notification_read": lambda w: {"public_id": w.notification.public_id},
    }
)
ROLE_URLS.update({"core:notifications": "prescriber", "core:notifications_read_all": "prescriber"})


# Measures: a PHQ-9 of the patient (item 9 answered, so an open safety alert), their journal
# entry, and the course's default schedule. Portal pages of these belong to the patient's own
# portal account; every other object page to the clinic's staff.
OBJECT_URL_KWARGS.update(
    {
        "patients:portal_invite": lambda w: {"public_id": w.patient.public_id},
        "measures:alert_detail": lambda w: {"public_id": w.alert.public_id},
        "measures:response_detail": lambda w: {"public_id": w.response.public_id},
        "measures:outcomes": lambda w: {"public_id": w.patient.public_id},
        "measures:rate": lambda w: {"public_id": w.patient.public_id, "slug": "moaa-s"},
        "measures:schedule": lambda w: {"public_id": w.course.public_id},
        "measures:schedule_rule_stop": lambda w: {
            "public_id": w.course.public_id,
            "rule_id": w.course.measure_rules.first().public_id,
        },
        "portal:journal_entry": lambda w: {"public_id": w.journal_entry.public_id},
        "portal:response_detail": lambda w: {"public_id": w.response.public_id},
    }
)
# Who owns an object URL, when it is not the clinic's prescriber.
OBJECT_URL_OWNERS = {
    "portal:journal_entry": "patient_user",
    "portal:response_detail": "patient_user",
}
ROLE_URLS.update(
    {
        "measures:alert_list": "prescriber",
        "measures:overdue": "prescriber",
        "measures:settings": "clinic_admin",
        **{
            f"portal:{name}": "portal_user"
            for name in ("support", "journal", "journal_new", "progress", "reminders")
        },
    }
)
# Role pages with a parameter that names no record (an instrument).
PARAMETER_ROLE_URLS = {"portal:questionnaire": ("portal_user", {"slug": "phq-9"})}


# FHIR API tokens: the staff page lists and creates the user's own tokens; revoking names one.
ROLE_URLS.update({"fhir:tokens": "prescriber"})
OBJECT_URL_KWARGS.update({"fhir:token_revoke": lambda w: {"public_id": w.api_token.public_id}})


# Exports (a parameter naming no record: the kind), the audit viewer, the printable summary.
ROLE_URLS.update({"exports:index": "clinic_admin", "audit:log": "clinic_admin"})
PARAMETER_ROLE_URLS["exports:download"] = ("clinic_admin", {"kind": "sessions"})
# Admin reports: role pages scoped to a clinic the user administers (tests/reports/).
ROLE_URLS.update(
    {
        "reports:dashboard": "clinic_admin",
        "reports:outcomes": "clinic_admin",
        "reports:controlled_substances": "clinic_admin",
    }
)

# Two-factor authentication (allauth.mfa): every page is the signed-in user's own; mfa_user has
# an authenticator app and recovery codes, so each page has something to show.
ROLE_URLS.update(
    {
        "mfa_index": "prescriber",
        "mfa_activate_totp": "prescriber",
        **dict.fromkeys(
            (
                "mfa_reauthenticate",
                "mfa_deactivate_totp",
                "mfa_view_recovery_codes",
                "mfa_generate_recovery_codes",
                "mfa_download_recovery_codes",
            ),
            "mfa_user",
        ),
    }
)
OBJECT_URL_KWARGS["patients:summary"] = lambda w: {"public_id": w.patient.public_id}


def _walk(patterns, prefix="", namespace=None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, prefix + str(entry.pattern), entry


def project_urls():
    return [
        (name, route, pattern)
        for name, route, pattern in _walk(get_resolver().url_patterns)
        if not (name or "").startswith("admin:") and not route.startswith("admin/")
    ]


def admin_urls():
    return [
        (name, route)
        for name, route, _ in _walk(get_resolver().url_patterns)
        if route.startswith("admin/")
    ]


class World:
    """One clinic's patient with a care team, plus outsiders who must see nothing."""

    def __init__(self):
        self.clinic = factories.ClinicFactory()
        self.prescriber = factories.make_staff(clinic=self.clinic, role="prescriber")
        self.clinic_admin = factories.make_staff(clinic=self.clinic, role="admin")
        # A name no generated user can share, so "the name is not on the page" is meaningful.
        self.patient = factories.PatientFactory(
            clinic=self.clinic, given_name="Philippa", family_name="Quennell-Ashdown"
        )
        self.member = CareTeamMember.objects.create(
            patient=self.patient, user=self.prescriber, responsibility="primary_prescriber"
        )
        self.other_clinician = factories.make_staff(role="prescriber")
        self.other_patient = factories.PatientFactory(clinic=self.clinic, with_user=True)
        self.portal_user = self.other_patient.user
        nurse = factories.make_staff(clinic=self.clinic, role="nurse")
        walk = {"patient": self.patient, "prescriber": self.prescriber, "nurse": nurse}
        self.course = walk_course(stage="active", **walk)
        self.draft_course = walk_course(stage="consultation_draft", **walk)
        self.consultation = Consultation.objects.get(course=self.course)
        self.draft_consultation = Consultation.objects.get(course=self.draft_course)
        self.assessment = self.course.assessments.get()
        self.plan = self.course.plans.get()
        self.follow_up = self.course.follow_ups.get()
        self.draft_plan = pathway_services.plan_draft_create(
            course=self.course, by=self.prescriber, notes="Version 2"
        )
        self.ledger_lot = receive_lot(self.clinic, self.prescriber, lot_number="URL1")
        self.session = session_services.session_schedule(
            course=self.course, by=nurse, scheduled_at=timezone.now(), nurse=nurse,
            prescriber=self.prescriber,
        )  # fmt: skip
        self.session = session_services.session_check_in(
            session=self.session, by=nurse, identity_confirmed=True
        )
        self.patient_user = factories.UserFactory()
        Patient.objects.filter(pk=self.patient.pk).update(user=self.patient_user)
        self.patient.refresh_from_db()
        self.response = measure_services.response_submit(
            patient=self.patient, instrument_code="PHQ-9", answers=[1] * 9,
            entered_by=self.patient_user, mode="self", submission_key=uuid.uuid4(),
        )  # fmt: skip
        self.alert = self.response.safety_alerts.get()
        self.journal_entry = measure_services.journal_submit(
            patient=self.patient, by=self.patient_user, submission_key=uuid.uuid4(), mood=4,
            energy=4, anxiety=5, sleep_hours=6, safety_thoughts=False,
        )  # fmt: skip
        (self.notification,) = notify(
            recipients=[self.prescriber], kind="test", title="URL test alert",
            source_key="url-test", email=False,
        )  # fmt: skip
        self.api_token, _ = fhir_services.token_create(user=self.prescriber, name="URL test")
        self.mfa_user = factories.make_staff(clinic=self.clinic, role="nurse")
        factories.give_authenticator_app(self.mfa_user)


@pytest.fixture
def world(db):
    return World()


def snapshot():
    """Everything an attack could change, apart from the audit log."""
    return {
        "patients": list(Patient.objects.order_by("pk").values()),
        "care_team": list(CareTeamMember.objects.order_by("pk").values()),
        "memberships": list(ClinicMembership.objects.order_by("pk").values()),
        **{
            model._meta.label: list(model.objects.order_by("pk").values())
            for model in (
                TreatmentCourse,
                CourseStatusChange,
                Consultation,
                Assessment,
                ChecklistAnswer,
                BodyMeasurement,
                TreatmentPlan,
                PlanStatusChange,
                FollowUp,
                Addendum,
                Lot,
                LedgerEntry,
                AdministrationSession,
                SessionStatusChange,
                VitalReading,
                VitalAcknowledgment,
                SideEffectReport,
                Notification,
                InstrumentResponse,
                MoodJournalEntry,
                SafetyAlert,
                ScheduleRule,
                MeasureDue,
                PortalInvitation,
                User,
                ApiToken,
            )
        },
    }


def test_every_url_is_classified():
    unclassified = []
    for name, route, pattern in project_urls():
        has_params = bool(pattern.pattern.converters) or "(?P<" in route
        if name in PUBLIC_URLS:
            continue
        if name in PARAMETER_ROLE_URLS:
            continue
        if has_params and name not in OBJECT_URL_KWARGS:
            unclassified.append(f"{name} ({route}): object URL without OBJECT_URL_KWARGS")
        if not has_params and name not in ROLE_URLS:
            unclassified.append(f"{name} ({route}): role URL without ROLE_URLS entry")
    assert not unclassified, "Classify these URLs in test_url_access.py:\n" + "\n".join(
        unclassified
    )


def _url_for(name, world):
    if name in PARAMETER_ROLE_URLS:
        return reverse(name, kwargs=PARAMETER_ROLE_URLS[name][1])
    kwargs = OBJECT_URL_KWARGS[name](world) if name in OBJECT_URL_KWARGS else {}
    return reverse(name, kwargs=kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_users_are_sent_to_login_everywhere_but_public_urls(client, world, method):
    before = snapshot()
    for name, _route, _ in project_urls():
        if name in PUBLIC_URLS:
            continue
        url = _url_for(name, world)
        response = getattr(client, method)(url)
        assert response.status_code in (302, 403, 404, 405), f"{method} {url}"
        if response.status_code == 302:
            assert response.url.startswith(reverse("account_login")), f"{method} {url}"
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_admin_site_is_closed_to_anonymous_users_and_clinic_staff(client, world, method):
    client.force_login(world.prescriber)
    for name, route in admin_urls():
        if name in ("admin:login", "admin:logout"):
            continue  # the admin's own sign-in page is public by design
        url = "/" + route.replace("<path:object_id>", "1").replace("<id>", "1")
        if "<" in url or "(?P" in url or "^" in url:
            continue
        response = getattr(client, method)(url)
        assert response.status_code in (302, 404), f"{method} {url} ({name})"
        if response.status_code == 302:
            assert "/admin/login/" in response.url


@pytest.mark.django_db
@pytest.mark.parametrize("outsider", ["other_clinician", "portal_user"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_outsiders_get_404_on_every_object_url_and_change_nothing(client, world, outsider, method):
    client.force_login(getattr(world, outsider))
    before = snapshot()
    allowed_before = AccessEvent.objects.filter(outcome="allowed").count()
    for name in OBJECT_URL_KWARGS:
        url = _url_for(name, world)
        payload = {
            "given_name": "Mallory",
            "family_name": "Attacker",
            "user": world.other_clinician.pk,
            "responsibility": "nurse",
            "version": 1,
            # Valid pathway input, so only the access check can stop the write.
            "indication": "Hijacked course",
            "drug": "ketamine",
            "to_status": "on_hold",
            "reason": "Mallory was here",
            "text": "Mallory's addendum",
            "kind": "check_in",
            "due_on": timezone.localdate().isoformat(),
            "status": "missed",
            "completed_on": timezone.localdate().isoformat(),
            "decision": "continue",
            "action": "sign",
            "referral_source": "self",
            "presenting_problem": "Hijacked",
        }
        response = getattr(client, method)(url, payload if method == "post" else None)
        if response.status_code == 403 and (
            outsider == "portal_user" or name.startswith("portal:")
        ):
            continue  # staff pages refuse a patient, portal pages staff, before any lookup
        assert response.status_code == 404, f"{outsider} {method} {url}"
        assert world.patient.given_name.encode() not in response.content
    assert snapshot() == before
    assert AccessEvent.objects.filter(outcome="allowed").count() == allowed_before


@pytest.mark.django_db
def test_refused_lookups_are_recorded_as_denied(client, world):
    client.force_login(world.other_clinician)
    client.get(reverse("patients:detail", kwargs={"public_id": world.patient.public_id}))
    event = AccessEvent.objects.get(user=world.other_clinician, object_type="patient")
    assert event.outcome == "denied"
    assert event.patient == world.patient
    assert event.path == f"/patients/{world.patient.public_id}/"


@pytest.mark.django_db
def test_object_urls_open_for_the_clinic_that_owns_the_record(client, world):
    """The 404s above are not vacuous: the owning clinic's prescriber gets the pages."""
    for name in OBJECT_URL_KWARGS:
        client.force_login(getattr(world, OBJECT_URL_OWNERS.get(name, "prescriber")))
        response = client.get(_url_for(name, world))
        assert response.status_code in (200, 405), name


@pytest.mark.django_db
def test_role_urls_open_for_their_role(client, world):
    for name, holder in ROLE_URLS.items():
        client.force_login(getattr(world, holder))
        response = client.get(reverse(name))
        assert response.status_code in (200, 302), name
    for name, (holder, kwargs) in PARAMETER_ROLE_URLS.items():
        client.force_login(getattr(world, holder))
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 200, name
