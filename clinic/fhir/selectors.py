"""Scoped, audited reads behind the FHIR API.

The scope is the staff pages' own: `patients_visible_to(user, include_own=False)`, the
patients of the clinics where the user holds a staff role, never the user's own record.
Every read by id goes through `scoped_get_or_404` (404 and an `AccessEvent` whether or not
the record exists elsewhere); every search writes one `search` event with the number of
rows, against the patient when the search names one.

A *family* is one model and how to reach its patient; a *source* is one kind of resource
made from a family (a vital reading gives up to seven kinds of Observation). A search over
several sources is one UNION query of (kind, time, pk) keys, counted and sliced in the
database, then each family's rows of the page are fetched in one query: a page costs the
same number of queries whatever the size of the data.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import CharField, DateTimeField, F, Prefetch, Q, Value
from django.db.models.functions import Cast
from django.http import Http404

from clinic.core.audit import record_access
from clinic.core.lookups import is_uuid, scoped_get_or_404
from clinic.core.models import AccessEvent
from clinic.fhir import codes, mappers
from clinic.fhir.models import ApiToken
from clinic.ledger.models import EntryType, LedgerEntry
from clinic.measures import instruments
from clinic.measures.models import InstrumentResponse
from clinic.monitoring.models import SideEffectReport, VitalReading
from clinic.pathway.models import AdministrationSession, Consultation, FollowUp, TreatmentPlan
from clinic.patients import selectors as patient_selectors
from clinic.patients.models import Patient

# --- families -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Family:
    model: type
    patient_path: str
    time: object  # a field name or an expression: the order of results, and `date=`
    prepare: Callable  # adds select_related / prefetch_related for the mappers
    where: Q = field(default_factory=Q)

    def patient_of(self, obj):
        for name in self.patient_path.split("__"):
            if name == "pk":
                return obj
            obj = getattr(obj, name, None)
            if obj is None:
                return None
        return obj

    def objects(self):
        return self.model.objects.filter(self.where)


def _administrations():
    return LedgerEntry.objects.filter(
        entry_type=EntryType.ADMINISTER, reversed_by__isnull=True
    ).order_by("id")


PATIENTS = Family(Patient, "pk", "created_at", lambda qs: qs.select_related("clinic"))
SESSIONS = Family(
    AdministrationSession,
    "course__patient",
    "scheduled_at",
    lambda qs: qs.select_related("course__patient__clinic", "nurse", "prescriber"),
)
FOLLOW_UPS = Family(
    FollowUp,
    "course__patient",
    Cast("due_on", DateTimeField()),
    lambda qs: qs.select_related("course__patient__clinic", "completed_by"),
)
READINGS = Family(
    VitalReading,
    "session__course__patient",
    "taken_at",
    lambda qs: qs.select_related("session__course__patient", "entered_by"),
)
RESPONSES = Family(
    InstrumentResponse,
    "patient",
    "completed_at",
    lambda qs: qs.select_related("patient", "session", "entered_by"),
)
SIDE_EFFECTS = Family(
    SideEffectReport,
    "course__patient",
    "onset_at",
    lambda qs: qs.select_related("course__patient", "session", "reporter").prefetch_related(
        Prefetch("session__ledger_entries", queryset=_administrations(), to_attr="fhir_given")
    ),
)
ADMINISTRATIONS = Family(
    LedgerEntry,
    "session__course__patient",
    "event_at",
    lambda qs: qs.select_related(
        "lot", "session__course__patient", "session__plan", "actor", "reversed_by"
    ),
    where=Q(entry_type=EntryType.ADMINISTER, session__isnull=False),
)
PLANS = Family(
    TreatmentPlan,
    "course__patient",
    "created_at",
    lambda qs: qs.select_related("course__patient", "author", "previous_version"),
)
CONSENTS = Family(
    Consultation,
    "course__patient",
    "created_at",
    lambda qs: qs.select_related("course__patient__clinic"),
    where=Q(consent_signed_on__isnull=False) & ~Q(consent_version="") & ~Q(consent_kind=""),
)


# --- sources ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    kind: str
    resource_type: str
    family: Family
    render: Callable
    where: Q = field(default_factory=Q)
    applies: Callable = lambda obj: True  # the Python twin of `where`, for $everything
    codings: tuple = ()
    categories: tuple = ()
    code_filter: Callable | None = None  # tokens -> Q or None (no match), instead of codings

    def filter_for(self, query):
        """The extra condition `query` puts on this source, or None when it rules it out."""
        condition = self.where
        if query.codes is not None:
            if self.code_filter is not None:
                matched = self.code_filter(query.codes)
                if matched is None:
                    return None
                condition &= matched
            elif not _any_match(query.codes, self.codings):
                return None
        if query.categories is not None and not _any_match(query.categories, self.categories):
            return None
        if query.identifiers is not None:
            condition &= _identifier_condition(query.identifiers)
        return condition


def _any_match(tokens, codings):
    return any(token.matches(c["system"], c["code"]) for token in tokens for c in codings)


def _identifier_condition(tokens):
    prefix = codes.local("sid/mrn/")
    condition = Q(pk__in=[])
    for token in tokens:
        if token.system is None:
            condition |= Q(medical_record_number=token.code)
        elif token.system.startswith(prefix) and is_uuid(token.system[len(prefix) :]):
            condition |= Q(
                clinic__public_id=token.system[len(prefix) :], medical_record_number=token.code
            )
    return condition


def _vital_source(slug):
    vital_code = codes.VITAL_CODES[slug]
    fields = [str(f) for f in vital_code.fields]
    present = Q()
    for name in fields:
        present |= Q(**{f"{name}__isnull": False})
    return Source(
        kind=f"vital-{slug}",
        resource_type="Observation",
        family=READINGS,
        render=lambda reading: mappers.observation_from_reading(reading, slug),
        where=present,
        applies=lambda reading: any(getattr(reading, name) is not None for name in fields),
        codings=tuple(codes.vital_codings(vital_code)),
        categories=(vital_code.category,),
    )


def _score_code_filter(tokens):
    matched = [
        instrument.code
        for instrument in instruments.all_instruments()
        if _any_match(tokens, [codes.instrument_total_coding(instrument)])
    ]
    return Q(instrument_code__in=matched) if matched else None


def _adverse_event(report):
    given = getattr(report.session, "fhir_given", []) if report.session_id else []
    return mappers.adverse_event(report, given)


SOURCES = {
    "Patient": [Source("patient", "Patient", PATIENTS, mappers.patient)],
    "Encounter": [
        Source("session", "Encounter", SESSIONS, mappers.encounter_from_session),
        Source("follow-up", "Encounter", FOLLOW_UPS, mappers.encounter_from_follow_up),
    ],
    "Observation": [
        *(_vital_source(slug) for slug in codes.VITAL_CODES),
        Source(
            "score",
            "Observation",
            RESPONSES,
            mappers.observation_from_response,
            categories=(codes.CATEGORY_SURVEY,),
            code_filter=_score_code_filter,
        ),
    ],
    "QuestionnaireResponse": [
        Source("response", "QuestionnaireResponse", RESPONSES, mappers.questionnaire_response)
    ],
    "AdverseEvent": [Source("side-effect", "AdverseEvent", SIDE_EFFECTS, _adverse_event)],
    "MedicationAdministration": [
        Source(
            "administration",
            "MedicationAdministration",
            ADMINISTRATIONS,
            mappers.medication_administration,
        )
    ],
    "CarePlan": [Source("plan", "CarePlan", PLANS, mappers.care_plan)],
    "Consent": [Source("consent", "Consent", CONSENTS, mappers.consent)],
}
SOURCE_BY_KIND = {source.kind: source for sources in SOURCES.values() for source in sources}
# The order of a Patient/$everything bundle after the Patient.
EVERYTHING_TYPES = (
    "Consent",
    "CarePlan",
    "Encounter",
    "MedicationAdministration",
    "Observation",
    "QuestionnaireResponse",
    "AdverseEvent",
)


def visible_patients(user):
    return patient_selectors.patients_visible_to(user, include_own=False)


# --- reads by id --------------------------------------------------------------------------------


def _read_source(resource_type, resource_id):
    """The source that can hold `resource_id` (ids of Observations name their kind)."""
    sources = SOURCES[resource_type]
    if resource_type == "Observation":
        public_id, _, slug = resource_id.rpartition("-")
        kind = "score" if slug == "total" else f"vital-{slug}"
        source = SOURCE_BY_KIND.get(kind)
        return (source or sources[0]), (public_id if source else resource_id)
    if (
        resource_type == "Encounter"
        and is_uuid(resource_id)
        and not AdministrationSession.objects.filter(public_id=resource_id).exists()
    ):
        return sources[1], resource_id
    return sources[0], resource_id


def read(user, resource_type, resource_id):
    """The resource `resource_type/resource_id` if the user may see it, else 404; audited
    either way (`fhir_<type>` events, against the record's patient)."""
    source, public_id = _read_source(resource_type, resource_id)
    family = source.family
    scoped = family.objects().filter(
        source.where, **{f"{family.patient_path}__in": visible_patients(user)}
    )
    found = scoped_get_or_404(
        family.prepare(scoped),
        user=user,
        public_id=public_id,
        object_type=f"fhir_{resource_type.lower()}",
        patient_of=family.patient_of,
    )
    return source.render(found)


# --- searches -----------------------------------------------------------------------------------


@dataclass
class Page:
    total: int
    resources: list
    patient: Patient | None = None


def _date_condition(bound):
    lower, upper = bound.lower, bound.upper
    if bound.prefix == "eq":
        return Q(fhir_time__gte=lower) & (Q(fhir_time__lt=upper) if upper else Q())
    if bound.prefix == "ge":
        return Q(fhir_time__gte=lower)
    if bound.prefix == "gt":
        return Q(fhir_time__gte=upper) if upper else Q(pk__in=[])
    if bound.prefix == "lt":
        return Q(fhir_time__lt=lower)
    return Q(fhir_time__lt=upper) if upper else Q()  # le


def _branches(query, resource_type, patients):
    branches = []
    for source in SOURCES[resource_type]:
        condition = source.filter_for(query)
        if condition is None:
            continue
        family = source.family
        rows = (
            family.objects()
            .filter(condition, **{f"{family.patient_path}__in": patients})
            .annotate(
                fhir_kind=Value(source.kind, output_field=CharField()),
                fhir_time=F(family.time) if isinstance(family.time, str) else family.time,
                fhir_pk=F("pk"),
            )
        )
        for bound in query.dates:
            rows = rows.filter(_date_condition(bound))
        branches.append((source, rows))
    return branches


def _page_keys(branches, query):
    """(total, [(kind, pk), ...]) of the requested page, in time order."""
    keyed = [
        rows.order_by().values_list("fhir_kind", "fhir_time", "fhir_pk") for _, rows in branches
    ]
    combined = keyed[0].union(*keyed[1:], all=True) if len(keyed) > 1 else keyed[0]
    total = combined.count()
    if query.count == 0 or query.offset >= total:
        return total, []
    page = combined.order_by("fhir_time", "fhir_pk", "fhir_kind")[
        query.offset : query.offset + query.count
    ]
    return total, [(kind, pk) for kind, _, pk in page]


def _load(keys):
    """The records of `keys`, in order, with their sources: one query per family."""
    by_family = defaultdict(set)
    for kind, pk in keys:
        by_family[SOURCE_BY_KIND[kind].family].add(pk)
    loaded = {
        family: family.prepare(family.model.objects.filter(pk__in=pks)).in_bulk()
        for family, pks in by_family.items()
    }
    sources = [SOURCE_BY_KIND[kind] for kind, _ in keys]
    return [
        (source, loaded[source.family][pk]) for source, (_, pk) in zip(sources, keys, strict=True)
    ]


def search(user, resource_type, query):
    """One page of the resources of `resource_type` that match `query` and that the user may
    see. A `patient` the user may not see gives an empty page and a denied audit event."""
    object_type = f"fhir_{resource_type.lower()}_search"
    patients = visible_patients(user)
    patient = None
    if query.patient_id is not None:
        patient = patients.filter(public_id=query.patient_id).first()
        if patient is None:
            record_access(
                user=user,
                action=AccessEvent.Action.SEARCH,
                object_type=object_type,
                patient=Patient.objects.filter(public_id=query.patient_id).first(),
                outcome=AccessEvent.Outcome.DENIED,
                detail=f"patient {query.patient_id}",
            )
            return Page(total=0, resources=[])
        patients = Patient.objects.filter(pk=patient.pk)
    branches = _branches(query, resource_type, patients)
    total, keys = _page_keys(branches, query) if branches else (0, [])
    records = _load(keys)
    resources = [source.render(record) for source, record in records]
    found_patient = patient
    if found_patient is None and resource_type == "Patient" and total == 1 and records:
        found_patient = records[0][1]  # an identifier search that found one patient
    record_access(
        user=user,
        action=AccessEvent.Action.SEARCH,
        object_type=object_type,
        patient=found_patient,
        detail=f"{len(resources)} of {total} from {query.offset}",
    )
    return Page(total=total, resources=resources, patient=found_patient)


# --- Patient/$everything ------------------------------------------------------------------------


def everything(user, public_id):
    """The patient's whole record (exported: an `export` event), or 404."""
    if not is_uuid(public_id):
        record_access(
            user=user,
            action=AccessEvent.Action.EXPORT,
            object_type="patient",
            outcome=AccessEvent.Outcome.DENIED,
        )
        raise Http404("No such patient.")
    patient = patient_selectors.patient_get_for_user(
        user, public_id, action=AccessEvent.Action.EXPORT, include_own=False
    )
    resources = [mappers.patient(patient)]
    loaded = {}
    for resource_type in EVERYTHING_TYPES:
        for source in SOURCES[resource_type]:
            family = source.family
            if family not in loaded:
                rows = family.objects().filter(**{family.patient_path: patient.pk})
                time = F(family.time) if isinstance(family.time, str) else family.time
                loaded[family] = list(
                    family.prepare(rows).annotate(fhir_time=time).order_by("fhir_time", "pk")
                )
            resources.extend(source.render(obj) for obj in loaded[family] if source.applies(obj))
    return patient, resources


# --- the token page -----------------------------------------------------------------------------


def tokens_for_user(user):
    return ApiToken.objects.filter(user=user).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-id"
    )


def token_get_for_user(user, public_id):
    """One of the user's own tokens, else 404 (audited as denied)."""
    token = tokens_for_user(user).filter(public_id=public_id).first()
    if token is None:
        record_access(
            user=user,
            action=AccessEvent.Action.UPDATE,
            object_type="api_token",
            object_public_id=public_id if is_uuid(public_id) else None,
            outcome=AccessEvent.Outcome.DENIED,
        )
        raise Http404("No such token.")
    return token
