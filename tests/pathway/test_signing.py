"""Sign and lock: who signs, the content hash, database locks on signed rows, addenda."""

import copy
import datetime
import decimal
import hashlib
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clinic.core.models import Addendum
from clinic.core.signing import content_hash
from clinic.pathway import selectors, services
from clinic.pathway.models import (
    Assessment,
    Consultation,
    CourseStatus,
    CourseStatusChange,
    FollowUp,
    FollowUpDecision,
    FollowUpKind,
    FollowUpStatus,
    PlanStatus,
    PlanStatusChange,
    TreatmentPlan,
)

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
IS_POSTGRES = connection.vendor == "postgresql"


def _signed_notes(course):
    """The course's signed consultation, assessment and follow-up (walked to maintenance)."""
    return {
        "consultation": Consultation.objects.get(course=course),
        "assessment": Assessment.objects.get(course=course),
        "follow_up": FollowUp.objects.get(course=course, kind=FollowUpKind.INDUCTION_REVIEW),
    }


# Per note type: a text field to try to change.
NOTE_FIELDS = {"consultation": "notes", "assessment": "notes", "follow_up": "outcome_notes"}


# --- who signs ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_consultation_signed_only_by_its_author(walk, prescriber, second_prescriber, nurse):
    course = walk("consultation_draft")
    consultation = Consultation.objects.get(course=course)
    assert consultation.author == prescriber
    for other in (second_prescriber, nurse):
        with pytest.raises(ValidationError, match="Only the author"):
            services.consultation_sign(consultation=consultation, by=other)
    consultation.refresh_from_db()
    assert (consultation.signed_at, consultation.signed_by, consultation.content_hash) == (
        None,
        None,
        "",
    )
    services.consultation_sign(consultation=consultation, by=prescriber)
    consultation.refresh_from_db()
    assert consultation.signed_by == prescriber
    assert consultation.signed_at is not None


@pytest.mark.django_db
def test_consultation_author_in_another_clinic_cannot_sign(walk, prescriber, other_clinic):
    course = walk("consultation_draft")
    consultation = Consultation.objects.get(course=course)
    prescriber.clinic_memberships.update(clinic=other_clinic)
    with pytest.raises(ValidationError, match="of this clinic"):
        services.consultation_sign(consultation=consultation, by=prescriber)
    assert not Consultation.objects.get(pk=consultation.pk).is_signed


@pytest.mark.django_db
def test_signing_twice_is_refused(walk, prescriber):
    course = walk("consultation_signed")
    consultation = Consultation.objects.get(course=course)
    signed_at = consultation.signed_at
    with pytest.raises(ValidationError, match="already signed"):
        services.consultation_sign(consultation=consultation, by=prescriber)
    assert Consultation.objects.get(pk=consultation.pk).signed_at == signed_at


# --- the hash -----------------------------------------------------------------------------------


def test_content_hash_is_sha256_of_canonical_json():
    tz = datetime.timezone(datetime.timedelta(hours=2))
    payload = {
        "b": decimal.Decimal("1.50"),
        "a": datetime.date(2026, 1, 2),
        "t": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=tz),
        "s": "Ünïcode",
        "n": None,
    }
    text = '{"a":"2026-01-02","b":"1.50","n":null,"s":"Ünïcode","t":"2026-01-02T01:04:05+00:00"}'
    assert content_hash(payload) == hashlib.sha256(text.encode()).hexdigest()
    # Key order does not matter; a different decimal representation does.
    assert content_hash(dict(reversed(list(payload.items())))) == content_hash(payload)
    assert content_hash({**payload, "b": decimal.Decimal("1.5")}) != content_hash(payload)


@pytest.mark.django_db
def test_signed_hash_is_sha256_of_the_notes_payload(walk):
    course = walk("maintenance")
    notes = {**_signed_notes(course), "plan": course.plans.get()}
    for name, note in notes.items():
        assert SHA256_HEX.match(note.content_hash), name
        payload = note.signed_payload()
        assert set(payload) >= {*note.SIGNED_FIELDS, "_note"}
        assert payload["_note"] == f"{note._meta.label_lower}:{note.public_id}"
        canonical = {
            key: (
                value.astimezone(datetime.UTC).isoformat()
                if isinstance(value, datetime.datetime)
                else str(getattr(value, "public_id", value))
                if isinstance(value, datetime.date | decimal.Decimal) or hasattr(value, "public_id")
                else value
            )
            for key, value in payload.items()
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert note.content_hash == hashlib.sha256(text.encode()).hexdigest(), name


@pytest.mark.django_db
def test_hash_is_stable_and_intact_after_reload(walk):
    course = walk("maintenance")
    notes = {**_signed_notes(course), "plan": course.plans.get()}
    for name, note in notes.items():
        reloaded = type(note).objects.get(pk=note.pk)
        assert reloaded.hash_is_intact(), name
        assert reloaded.compute_content_hash() == reloaded.compute_content_hash()
        assert reloaded.compute_content_hash() == note.content_hash


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("consultation", "presenting_problem", "Something else entirely."),
        ("consultation", "failed_antidepressant_trials", 5),
        ("assessment", "weight_kg", decimal.Decimal("99.9")),
        ("assessment", "decision", "ineligible"),
        ("follow_up", "decision", FollowUpDecision.STOP),
        ("plan", "dose_mg", decimal.Decimal("70.0")),
        ("plan", "mg_per_kg", decimal.Decimal("0.700")),
    ],
)
def test_hash_detects_content_changed_behind_the_lock(name, field, value, walk):
    course = walk("maintenance")
    note = {**_signed_notes(course), "plan": course.plans.get()}[name]
    tampered = copy.deepcopy(type(note).objects.get(pk=note.pk))
    assert tampered.hash_is_intact()
    setattr(tampered, field, value)
    assert not tampered.hash_is_intact()


@pytest.mark.django_db
def test_assessment_hash_covers_its_checklist_answers(walk):
    assessment = Assessment.objects.get(course=walk("assessed_eligible"))
    assert "CI-AVM=no|" in assessment.signed_payload()["answers"]
    assert assessment.hash_is_intact()
    # The database refuses to change the answer (below), so tamper with what the hash reads.
    payload = assessment.signed_payload()
    payload["answers"] = [a.replace("CI-AVM=no", "CI-AVM=yes") for a in payload["answers"]]
    assert content_hash(payload) != assessment.content_hash


@pytest.mark.django_db
def test_database_refuses_update_of_signed_assessments_answers(walk):
    assessment = Assessment.objects.get(course=walk("assessed_eligible"))
    answer = assessment.checklist.answers.get(item__code="CI-AVM")
    try:
        with transaction.atomic():
            type(answer).objects.filter(pk=answer.pk).update(answer="yes")
    except IntegrityError:
        refused = True
    else:
        refused = False
    assert refused, "a signed assessment's checklist answer was changed"


@pytest.mark.django_db
def test_unsigned_note_is_never_intact(walk):
    consultation = Consultation.objects.get(course=walk("consultation_draft"))
    assert consultation.content_hash == ""
    assert consultation.hash_is_intact() is False


@pytest.mark.django_db
def test_hash_binds_the_note_identity(walk, patient):
    """Two notes with the same content have different hashes (the public id is in it)."""
    from tests import factories

    other_patient = factories.PatientFactory(clinic=patient.clinic)
    first = Consultation.objects.get(course=walk("consultation_signed"))
    second = Consultation.objects.get(course=walk("consultation_signed", patient=other_patient))
    assert first.content_hash != second.content_hash


# --- database locks on signed notes -------------------------------------------------------------


def _raw_update(model, pk, column, value):
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {connection.ops.quote_name(column)} = %s WHERE id = %s",  # noqa: S608
            [value, pk],
        )


def _raw_delete(model, pk):
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(NOTE_FIELDS))
def test_database_refuses_update_of_signed_note(name, walk):
    note = _signed_notes(walk("maintenance"))[name]
    model, field = type(note), NOTE_FIELDS[name]
    original = getattr(note, field)

    note_copy = model.objects.get(pk=note.pk)
    setattr(note_copy, field, "changed through save()")
    with pytest.raises(IntegrityError), transaction.atomic():
        note_copy.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=note.pk).update(**{field: "changed through update()"})
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_update(model, note.pk, field, "changed through raw SQL")
    # Un-signing is an update too.
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=note.pk).update(signed_at=None, content_hash="")

    stored = model.objects.get(pk=note.pk)
    assert getattr(stored, field) == original
    assert stored.is_signed
    assert stored.hash_is_intact()


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(NOTE_FIELDS))
def test_delete_of_signed_note_refused_on_postgresql_only(name, walk):
    note = _signed_notes(walk("maintenance"))[name]
    model = type(note)
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError), transaction.atomic():
            _raw_delete(model, note.pk)
        assert model.objects.filter(pk=note.pk).exists()
    else:  # SQLite keeps DELETE allowed by design (clinic/core/triggers.py)
        _raw_delete(model, note.pk)
        assert not model.objects.filter(pk=note.pk).exists()


@pytest.mark.django_db
def test_unsigned_notes_can_still_change(walk, patient):
    """The lock is on signed rows only: drafts stay editable at the database level."""
    consultation = Consultation.objects.get(course=walk("consultation_draft"))
    Consultation.objects.filter(pk=consultation.pk).update(notes="draft edit")
    assert Consultation.objects.get(pk=consultation.pk).notes == "draft edit"
    assessment = Assessment.objects.get(course=walk("assessment_draft"))
    _raw_update(Assessment, assessment.pk, "notes", "raw draft edit")
    assert Assessment.objects.get(pk=assessment.pk).notes == "raw draft edit"


# --- approved plans -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_approved_plan_refuses_content_changes(walk):
    plan = walk("plan_approved").plans.get()
    assert plan.status == PlanStatus.APPROVED
    copy_ = TreatmentPlan.objects.get(pk=plan.pk)
    copy_.notes = "changed"
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentPlan.objects.filter(pk=plan.pk).update(mg_per_kg=decimal.Decimal("0.75"))
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_update(TreatmentPlan, plan.pk, "dose_mg", "40.0")
    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentPlan.objects.filter(pk=plan.pk).update(signed_at=None)
    stored = TreatmentPlan.objects.get(pk=plan.pk)
    assert (stored.notes, stored.mg_per_kg, stored.dose_mg) == (
        plan.notes,
        plan.mg_per_kg,
        plan.dose_mg,
    )
    assert stored.hash_is_intact()


@pytest.mark.django_db
def test_approved_plan_status_still_moves(walk, prescriber):
    plan = walk("plan_approved").plans.get()
    services.plan_transition(
        plan=plan, to_status=PlanStatus.SUSPENDED, by=prescriber, reason="Raised BP"
    )
    stored = TreatmentPlan.objects.get(pk=plan.pk)
    assert stored.status == PlanStatus.SUSPENDED
    assert stored.status_changed_at is not None
    # The status columns are not locked, even by a direct update.
    TreatmentPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    assert TreatmentPlan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED


@pytest.mark.django_db
def test_draft_plan_is_not_locked(walk):
    plan = walk("plan_draft").plans.get()
    TreatmentPlan.objects.filter(pk=plan.pk).update(notes="draft note")
    assert TreatmentPlan.objects.get(pk=plan.pk).notes == "draft note"


# --- append-only history and addenda ------------------------------------------------------------


def _append_only_rows(course, prescriber):
    consultation = Consultation.objects.get(course=course)
    addendum = services.addendum_add(note=consultation, author=prescriber, text="Also: allergy.")
    return {
        "course_status_change": (CourseStatusChange, course.status_changes.last(), "reason"),
        "plan_status_change": (
            PlanStatusChange,
            PlanStatusChange.objects.filter(plan__course=course).last(),
            "reason",
        ),
        "addendum": (Addendum, addendum, "text"),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["course_status_change", "plan_status_change", "addendum"])
def test_history_rows_refuse_update(name, walk, prescriber):
    model, row, field = _append_only_rows(walk("plan_approved"), prescriber)[name]
    original = getattr(row, field)
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: "rewritten"})
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_update(model, row.pk, field, "rewritten")
    setattr(row, field, "rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()
    assert getattr(model.objects.get(pk=row.pk), field) == original


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["course_status_change", "plan_status_change", "addendum"])
def test_history_rows_delete_refused_on_postgresql(name, walk, prescriber):
    model, row, _field = _append_only_rows(walk("plan_approved"), prescriber)[name]
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError), transaction.atomic():
            _raw_delete(model, row.pk)
        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.filter(pk=row.pk).delete()
        assert model.objects.filter(pk=row.pk).exists()
    else:  # SQLite: DELETE allowed by design, UPDATE still refused (above)
        _raw_delete(model, row.pk)
        assert not model.objects.filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_addendum_only_on_signed_notes(walk, prescriber):
    consultation = Consultation.objects.get(course=walk("consultation_draft"))
    with pytest.raises(ValidationError, match="not signed"):
        services.addendum_add(note=consultation, author=prescriber, text="Late detail.")
    assert not selectors.addenda_for(consultation).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["", "   \n\t", None])
def test_addendum_needs_text(text, walk, prescriber):
    consultation = Consultation.objects.get(course=walk("consultation_signed"))
    with pytest.raises(ValidationError) as excinfo:
        services.addendum_add(note=consultation, author=prescriber, text=text)
    assert "text" in excinfo.value.message_dict
    assert Addendum.objects.count() == 0


@pytest.mark.django_db
def test_addendum_by_another_clinic_refused(walk, other_clinician):
    consultation = Consultation.objects.get(course=walk("consultation_signed"))
    with pytest.raises(ValidationError, match="of this clinic"):
        services.addendum_add(note=consultation, author=other_clinician, text="Not mine.")
    assert Addendum.objects.count() == 0


@pytest.mark.django_db
def test_addenda_listed_with_their_note_and_hashed(walk, prescriber, nurse):
    course = walk("maintenance")
    notes = _signed_notes(course)
    first = services.addendum_add(note=notes["consultation"], author=nurse, text="  First.  ")
    second = services.addendum_add(note=notes["consultation"], author=prescriber, text="Second.")
    elsewhere = services.addendum_add(note=notes["assessment"], author=prescriber, text="Other.")

    assert list(selectors.addenda_for(notes["consultation"])) == [first, second]
    assert list(selectors.addenda_for(notes["assessment"])) == [elsewhere]
    assert list(selectors.addenda_for(notes["follow_up"])) == []

    stored = Addendum.objects.get(pk=first.pk)
    assert (stored.text, stored.author, stored.note) == ("First.", nurse, notes["consultation"])
    assert SHA256_HEX.match(stored.content_hash)
    expected = content_hash(
        {
            "note": f"pathway.consultation:{notes['consultation'].public_id}",
            "note_hash": notes["consultation"].content_hash,
            "text": "First.",
            "author": nurse,
            "signed_at": stored.signed_at,
        }
    )
    assert stored.content_hash == expected
    assert len({first.content_hash, second.content_hash, elsewhere.content_hash}) == 3
    # The addendum does not touch the note it amends.
    assert Consultation.objects.get(pk=notes["consultation"].pk).hash_is_intact()


# --- services refuse to edit signed notes -------------------------------------------------------


@pytest.mark.django_db
def test_consultation_save_refuses_signed(walk, prescriber):
    course = walk("consultation_signed")
    consultation = Consultation.objects.get(course=course)
    with pytest.raises(ValidationError, match="signed"):
        services.consultation_save(course=course, by=prescriber, notes="Sneaky edit.")
    assert Consultation.objects.get(pk=consultation.pk).notes == consultation.notes


@pytest.mark.django_db
def test_assessment_save_refuses_signed(walk, prescriber):
    assessment = Assessment.objects.get(course=walk("assessed_eligible"))
    with pytest.raises(ValidationError, match="signed"):
        services.assessment_save(assessment=assessment, by=prescriber, notes="Sneaky edit.")
    with pytest.raises(ValidationError, match="signed"):
        services.assessment_save(
            assessment=assessment, by=prescriber, answers={"CI-AVM": ("yes", "")}
        )
    stored = Assessment.objects.get(pk=assessment.pk)
    assert stored.notes == assessment.notes
    assert stored.checklist.answers.get(item__code="CI-AVM").answer == "no"


@pytest.mark.django_db
def test_follow_up_record_refuses_signed(walk, prescriber):
    course = walk("maintenance")
    review = FollowUp.objects.get(course=course, kind=FollowUpKind.INDUCTION_REVIEW)
    with pytest.raises(ValidationError, match="signed"):
        services.follow_up_record(
            follow_up=review, by=prescriber, decision=FollowUpDecision.STOP, sign=True
        )
    with pytest.raises(ValidationError):
        services.follow_up_close(
            follow_up=review, by=prescriber, status=FollowUpStatus.CANCELLED, reason="Oops"
        )
    stored = FollowUp.objects.get(pk=review.pk)
    assert (stored.decision, stored.status) == (FollowUpDecision.MAINTENANCE, "completed")


@pytest.mark.django_db
def test_plan_approval_signs_and_hashes_the_plan(walk, prescriber):
    course = walk("plan_draft")
    plan = course.plans.get()
    assert not plan.is_signed
    services.plan_approve(plan=plan, by=prescriber)
    stored = TreatmentPlan.objects.get(pk=plan.pk)
    assert (stored.approved_by, stored.status) == (prescriber, PlanStatus.APPROVED)
    assert stored.approved_at <= timezone.now()
    assert stored.hash_is_intact()
    assert course.status == CourseStatus.PLANNING
