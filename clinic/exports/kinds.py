"""The five exports: which rows, which columns in which order, and how each cell is written.

Each kind reads one table with `values_list` (related names joined in the same query, so
there is never a query per row) and turns each tuple into a list of cells. Column order is
part of the contract with whoever opens the file: add columns at the end.
"""

from collections.abc import Callable
from dataclasses import dataclass

from clinic.exports import cells
from clinic.measures.models import InstrumentResponse, MoodJournalEntry
from clinic.monitoring.limits import Vital
from clinic.monitoring.models import (
    UNEXPECTED_TERMS,
    SideEffectReport,
    SideEffectTerm,
    VitalReading,
)
from clinic.pathway.models import AdministrationSession


@dataclass(frozen=True)
class ExportKind:
    slug: str
    title: str
    description: str
    model: type
    # The column a row's date is taken from, and the path from the row to its patient.
    date_field: str
    patient_path: str
    fields: tuple[str, ...]
    # (time zone name) -> header row; (values, clock) -> cells.
    headers: Callable[[str], list[str]]
    row: Callable[[dict, cells.LocalClock], list[str]]
    date_only: bool = False


def _patient(prefix):
    return (
        f"{prefix}medical_record_number",
        f"{prefix}given_name",
        f"{prefix}family_name",
    )


def _name(v, prefix):
    return cells.text(f"{v[prefix + 'given_name']} {v[prefix + 'family_name']}")


# --- sessions ------------------------------------------------------------------------------

_P = "course__patient__"
SESSION_FIELDS = (
    "public_id",
    *_patient(_P),
    "course__public_id",
    "plan__drug",
    "session_number",
    "status",
    "scheduled_at",
    "route",
    "plan__route",
    "dose_mg",
    "volume_ml",
    "devices_used",
    "dose_started_at",
    "dose_ended_at",
    "discharged_at",
    "nurse__username",
    "prescriber__username",
    "cancel_reason",
)


def _session_headers(tz):
    return [
        "session_id", "patient_mrn", "patient_name", "course_id", "drug", "session_number",
        "status", f"scheduled_at ({tz})", "route", "dose_mg", "volume_ml", "devices_used",
        f"dose_started_at ({tz})", f"dose_ended_at ({tz})", f"discharged_at ({tz})", "nurse",
        "prescriber", "cancel_reason",
    ]  # fmt: skip


def _session_row(v, clock):
    return [
        cells.text(v["public_id"]),
        cells.text(v[_P + "medical_record_number"]),
        _name(v, _P),
        cells.text(v["course__public_id"]),
        cells.text(v["plan__drug"]),
        cells.number(v["session_number"]),
        cells.text(v["status"]),
        clock(v["scheduled_at"]),
        # A session not yet dosed has no route of its own: the plan's is the one booked.
        cells.text(v["route"] or v["plan__route"]),
        cells.number(v["dose_mg"]),
        cells.number(v["volume_ml"]),
        cells.number(v["devices_used"]),
        clock(v["dose_started_at"]),
        clock(v["dose_ended_at"]),
        clock(v["discharged_at"]),
        cells.text(v["nurse__username"]),
        cells.text(v["prescriber__username"]),
        cells.text(v["cancel_reason"]),
    ]


# --- vitals --------------------------------------------------------------------------------

_V = "session__course__patient__"
VITAL_UNITS = {
    Vital.SYSTOLIC: "systolic_mmhg",
    Vital.DIASTOLIC: "diastolic_mmhg",
    Vital.HEART_RATE: "heart_rate_per_min",
    Vital.SPO2: "spo2_percent",
    Vital.RESPIRATORY_RATE: "respiratory_rate_per_min",
    Vital.TEMPERATURE: "temperature_c",
    Vital.MOAAS: "moaas",
    Vital.CADSS: "cadss_total",
}
# The vitals' plain string keys, once: a million rows would otherwise convert each choice
# to its string twice per vital.
_VITAL_KEYS = tuple(str(vital) for vital in VITAL_UNITS)
VITAL_FIELDS = (
    "public_id",
    "session__public_id",
    *_patient(_V),
    "phase",
    "taken_at",
    *_VITAL_KEYS,
    "flags",
    "has_critical",
    # One acknowledgement per reading at most (a unique constraint), so this join never
    # repeats a reading.
    "acknowledgments__acknowledged_at",
    "acknowledgments__acknowledged_by__username",
    "acknowledgments__action_taken",
    "symptoms",
    "entered_by__username",
    "entered_in_error",
)


def _vital_headers(tz):
    return [
        "reading_id", "session_id", "patient_mrn", "patient_name", "phase", f"taken_at ({tz})",
        *_vital_value_and_flag_headers(), "has_critical", f"acknowledged_at ({tz})",
        "acknowledged_by", "acknowledgment_action", "symptoms", "entered_by", "entered_in_error",
    ]  # fmt: skip


def _vital_value_and_flag_headers():
    headers = []
    for vital, column in VITAL_UNITS.items():
        headers += [column, f"{vital}_flag"]
    return headers


def _vital_row(v, clock):
    flags = v["flags"] or {}
    values = []
    for key in _VITAL_KEYS:
        values += [cells.number(v[key]), cells.text(flags.get(key, ""))]
    return [
        cells.text(v["public_id"]),
        cells.text(v["session__public_id"]),
        cells.text(v[_V + "medical_record_number"]),
        _name(v, _V),
        cells.text(v["phase"]),
        clock(v["taken_at"]),
        *values,
        cells.yes_no(v["has_critical"]),
        clock(v["acknowledgments__acknowledged_at"]),
        cells.text(v["acknowledgments__acknowledged_by__username"]),
        cells.text(v["acknowledgments__action_taken"]),
        cells.text(v["symptoms"]),
        cells.text(v["entered_by__username"]),
        cells.yes_no(v["entered_in_error"]),
    ]


# --- side effects --------------------------------------------------------------------------

_TERM_LABELS = dict(SideEffectTerm.choices)
SIDE_EFFECT_FIELDS = (
    "public_id",
    *_patient(_P),
    "course__public_id",
    "session__public_id",
    "term",
    "other_term",
    "verbatim",
    "onset_at",
    "resolved_at",
    "grade",
    "serious",
    "serious_criteria",
    "relatedness",
    "action_taken",
    "treatment_given",
    "outcome",
    "reporter__username",
)


def _side_effect_headers(tz):
    return [
        "report_id", "patient_mrn", "patient_name", "course_id", "session_id", "term_code",
        "term", "expected", "verbatim", f"onset_at ({tz})", f"resolved_at ({tz})", "grade",
        "serious", "serious_criteria", "relatedness", "action_taken", "treatment_given",
        "outcome", "reporter",
    ]  # fmt: skip


def _side_effect_row(v, clock):
    term = v["term"]
    return [
        cells.text(v["public_id"]),
        cells.text(v[_P + "medical_record_number"]),
        _name(v, _P),
        cells.text(v["course__public_id"]),
        cells.text(v["session__public_id"]),
        cells.text(term),
        cells.text(v["other_term"] if term == SideEffectTerm.OTHER else _TERM_LABELS.get(term)),
        cells.yes_no(term not in UNEXPECTED_TERMS),
        cells.text(v["verbatim"]),
        clock(v["onset_at"]),
        clock(v["resolved_at"]),
        cells.number(v["grade"]),
        cells.yes_no(v["serious"]),
        cells.joined(v["serious_criteria"]),
        cells.text(v["relatedness"]),
        cells.text(v["action_taken"]),
        cells.text(v["treatment_given"]),
        cells.text(v["outcome"]),
        cells.text(v["reporter__username"]),
    ]


# --- scores --------------------------------------------------------------------------------

_S = "patient__"
SCORE_FIELDS = (
    "public_id",
    *_patient(_S),
    "course__public_id",
    "session__public_id",
    "instrument_code",
    "instrument_version",
    "completed_at",
    "timepoint",
    "mode",
    "total",
    "band",
    "safety_alert",
    "answers",
    "subscales",
    "entered_by__username",
)


def _score_headers(tz):
    return [
        "response_id", "patient_mrn", "patient_name", "course_id", "session_id", "instrument",
        "instrument_version", f"completed_at ({tz})", "timepoint", "mode", "total",
        "severity_band", "safety_alert", "item_answers", "subscales", "entered_by",
    ]  # fmt: skip


def _score_row(v, clock):
    # Item by item, in item order; an unanswered (or unscored, like PHQ-9 item 10) item
    # says so rather than leaving a gap that shifts every later item.
    answers = " ".join("blank" if a is None else str(a) for a in v["answers"] or [])
    subscales = "; ".join(f"{key}={value}" for key, value in (v["subscales"] or {}).items())
    return [
        cells.text(v["public_id"]),
        cells.text(v[_S + "medical_record_number"]),
        _name(v, _S),
        cells.text(v["course__public_id"]),
        cells.text(v["session__public_id"]),
        cells.text(v["instrument_code"]),
        cells.text(v["instrument_version"]),
        clock(v["completed_at"]),
        cells.text(v["timepoint"]),
        cells.text(v["mode"]),
        cells.number(v["total"]),
        cells.text(v["band"]),
        cells.yes_no(v["safety_alert"]),
        cells.text(answers),
        cells.text(subscales),
        cells.text(v["entered_by__username"]),
    ]


# --- mood journal --------------------------------------------------------------------------

JOURNAL_FIELDS = (
    "public_id",
    *_patient(_S),
    "entry_date",
    "mood",
    "energy",
    "anxiety",
    "sleep_hours",
    "sleep_quality",
    "tags",
    "safety_thoughts",
    "note",
    "created_at",
)


def _journal_headers(tz):
    return [
        "entry_id", "patient_mrn", "patient_name", "entry_date (patient's local date)", "mood",
        "energy", "anxiety", "sleep_hours", "sleep_quality", "tags", "safety_thoughts", "note",
        f"submitted_at ({tz})",
    ]  # fmt: skip


def _journal_row(v, clock):
    return [
        cells.text(v["public_id"]),
        cells.text(v[_S + "medical_record_number"]),
        _name(v, _S),
        cells.date(v["entry_date"]),
        cells.number(v["mood"]),
        cells.number(v["energy"]),
        cells.number(v["anxiety"]),
        cells.number(v["sleep_hours"]),
        cells.number(v["sleep_quality"]),
        cells.joined(v["tags"]),
        cells.yes_no(v["safety_thoughts"]),
        cells.text(v["note"]),
        clock(v["created_at"]),
    ]


KINDS = {
    kind.slug: kind
    for kind in (
        ExportKind(
            slug="sessions",
            title="Sessions",
            description="Every session booked in the range (by its scheduled time): status, "
            "route, dose, times and staff.",
            model=AdministrationSession,
            date_field="scheduled_at",
            patient_path="course__patient",
            fields=SESSION_FIELDS,
            headers=_session_headers,
            row=_session_row,
        ),
        ExportKind(
            slug="vitals",
            title="Vitals",
            description="Every reading taken in the range, each value with the flag the "
            "clinic's limits gave it, and who acknowledged a critical reading.",
            model=VitalReading,
            date_field="taken_at",
            patient_path="session__course__patient",
            fields=VITAL_FIELDS,
            headers=_vital_headers,
            row=_vital_row,
        ),
        ExportKind(
            slug="side-effects",
            title="Side effects",
            description="Side effects and adverse events by onset: grade, seriousness, "
            "relatedness, action and outcome.",
            model=SideEffectReport,
            date_field="onset_at",
            patient_path="course__patient",
            fields=SIDE_EFFECT_FIELDS,
            headers=_side_effect_headers,
            row=_side_effect_row,
        ),
        ExportKind(
            slug="scores",
            title="Scores",
            description="Questionnaires and clinician ratings completed in the range: item "
            "answers, total and severity band.",
            model=InstrumentResponse,
            date_field="completed_at",
            patient_path="patient",
            fields=SCORE_FIELDS,
            headers=_score_headers,
            row=_score_row,
        ),
        ExportKind(
            slug="journal",
            title="Mood journal",
            description="Mood-journal entries whose day falls in the range.",
            model=MoodJournalEntry,
            date_field="entry_date",
            patient_path="patient",
            fields=JOURNAL_FIELDS,
            headers=_journal_headers,
            row=_journal_row,
            date_only=True,
        ),
    )
}
