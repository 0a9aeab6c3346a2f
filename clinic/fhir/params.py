"""Parsing and validation of FHIR search parameters.

Anything the server does not support is refused with a 400 OperationOutcome rather than
ignored (a client that filters by an unknown parameter must not silently get everyone's
records): unknown parameters and modifiers, repeated single-valued parameters, malformed
dates, ids and counts.
"""

import datetime
import re
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

# Search parameters per resource type, with their FHIR type (also listed in the
# CapabilityStatement).
SEARCH_PARAMS = {
    "Patient": {"identifier": "token"},
    "Encounter": {"patient": "reference"},
    "Observation": {"patient": "reference", "code": "token", "category": "token", "date": "date"},
    "QuestionnaireResponse": {"patient": "reference"},
    "AdverseEvent": {"patient": "reference"},
    "MedicationAdministration": {"patient": "reference"},
    "CarePlan": {"patient": "reference"},
    "Consent": {"patient": "reference"},
}
RESOURCE_TYPES = tuple(SEARCH_PARAMS)
CONTROL_PARAMS = ("_count", "_offset", "_format")
REPEATABLE = {"date"}
JSON_FORMATS = {"json", "application/json", "application/fhir+json"}
MAX_OFFSET_DIGITS = 9
MAX_VALUE_LENGTH = 200
UUID_PATTERN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


class SearchError(Exception):
    """A bad request: becomes a 400 OperationOutcome with this message."""

    def __init__(self, message, code="invalid"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system; "": no system
    code: str

    def matches(self, system, code):
        if self.code != code:
            return False
        return self.system is None or self.system == system


@dataclass(frozen=True)
class DateBound:
    prefix: str
    lower: datetime.datetime
    upper: datetime.datetime | None  # exclusive; None past year 9999


@dataclass
class Query:
    count: int
    offset: int = 0
    patient_id: uuid.UUID | None = None
    identifiers: list[Token] | None = None
    codes: list[Token] | None = None
    categories: list[Token] | None = None
    dates: list[DateBound] = field(default_factory=list)


def page_size(value):
    if value is None:
        return settings.FHIR_PAGE_SIZE
    if not value.isdigit() or len(value) > 6:
        raise SearchError("_count must be a whole number from 0.")
    # A server may return fewer than asked for (FHIR search §3.1.1.5.7): more is capped.
    return min(int(value), settings.FHIR_MAX_PAGE_SIZE)


def page_offset(value):
    if value is None:
        return 0
    if not value.isdigit() or len(value) > MAX_OFFSET_DIGITS:
        raise SearchError("_offset must be a whole number from 0.")
    return int(value)


def patient_reference(value):
    """`Patient/<id>`, a bare id, or an absolute URL ending in `Patient/<id>`."""
    head, slash, candidate = value.strip().rpartition("/")
    if (not slash or head == "Patient" or head.endswith("/Patient")) and UUID_PATTERN.fullmatch(
        candidate
    ):
        return uuid.UUID(candidate)
    raise SearchError("patient must be a Patient id, e.g. patient=Patient/<id>.")


def tokens(name, value):
    """Comma-separated token values (OR): `system|code`, `|code` (no system) or `code`."""
    result = []
    for part in value.split(","):
        system, bar, code = part.rpartition("|")
        if not code.strip():
            raise SearchError(f"{name} needs a code or value after any system, e.g. {name}=X.")
        result.append(Token(system=system if bar else None, code=code.strip()))
    return result


DATE_PATTERN = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
SUPPORTED_DATE_PREFIXES = ("eq", "gt", "lt", "ge", "le")


def _add_months(moment, months):
    month = moment.month - 1 + months
    return moment.replace(year=moment.year + month // 12, month=month % 12 + 1)


def date_bound(value):
    """A date search value as [lower, upper) in UTC, its width set by its precision: a year,
    month, day, minute, second or fraction. Times without an offset are in the user's
    clinic's time zone."""
    prefix = value[:2] if value[:2].isalpha() else "eq"
    text = value[2:] if value[:2].isalpha() else value
    if prefix not in DATE_PREFIXES:
        raise SearchError(f"Unknown date prefix “{prefix}”; use eq, gt, ge, lt or le.")
    if prefix not in SUPPORTED_DATE_PREFIXES:
        raise SearchError(
            f"The date prefix “{prefix}” is not supported; use eq, gt, ge, lt or le.",
            code="not-supported",
        )
    match = DATE_PATTERN.fullmatch(text)
    if not match:
        raise SearchError(
            "date must be YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][Z|±hh:mm], "
            "after an optional prefix (eq, gt, ge, lt, le)."
        )
    parts = match.groupdict()
    if parts["tz"] == "Z":
        tz = datetime.UTC
    elif parts["tz"]:
        sign = 1 if parts["tz"][0] == "+" else -1
        hours, minutes = int(parts["tz"][1:3]), int(parts["tz"][4:6])
        if hours > 14 or minutes > 59:
            raise SearchError("date has an impossible time-zone offset.")
        tz = datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes))
    else:
        tz = timezone.get_current_timezone()
    fraction = parts["fraction"] or ""
    try:
        lower = datetime.datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction[:6].ljust(6, "0")) if fraction else 0,
            tzinfo=tz,
        )
    except ValueError as exc:
        raise SearchError(f"date is not a real date or time: {text}.") from exc
    try:
        if parts["month"] is None:
            upper = lower.replace(year=lower.year + 1)
        elif parts["day"] is None:
            upper = _add_months(lower, 1)
        elif parts["hour"] is None:
            upper = lower + datetime.timedelta(days=1)
        elif parts["second"] is None:
            upper = lower + datetime.timedelta(minutes=1)
        elif not fraction:
            upper = lower + datetime.timedelta(seconds=1)
        else:
            upper = lower + datetime.timedelta(microseconds=10 ** (6 - min(len(fraction), 6)))
        upper = upper.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        upper = None
    try:
        lower = lower.astimezone(datetime.UTC)
    except (ValueError, OverflowError) as exc:
        raise SearchError(f"date is out of range: {text}.") from exc
    return DateBound(prefix=prefix, lower=lower, upper=upper)


def _single(name, values):
    if len(values) > 1 and name not in REPEATABLE:
        raise SearchError(f"{name} may be given only once.")
    for value in values:
        if value == "":
            raise SearchError(f"{name} needs a value.")
        if len(value) > MAX_VALUE_LENGTH:
            raise SearchError(f"{name} is too long.")
        if "\x00" in value:
            raise SearchError(f"{name} contains a NUL character.")
    return values[-1]


def parse(resource_type, querydict):
    """The validated search of `resource_type` asked for by the request's query string."""
    supported = SEARCH_PARAMS[resource_type]
    values = {}
    for name, given in querydict.lists():
        if name not in supported and name not in CONTROL_PARAMS:
            base = name.split(":", 1)[0]
            if base in supported or base in CONTROL_PARAMS:
                raise SearchError(
                    f"The modifier in “{name}” is not supported.", code="not-supported"
                )
            listed = ", ".join([*supported, "_count", "_offset"])
            raise SearchError(
                f"Unknown search parameter “{name}” for {resource_type}; supported: {listed}.",
                code="not-supported",
            )
        _single(name, given)
        values[name] = given
    fmt = values.get("_format", [None])[-1]
    if fmt is not None and fmt not in JSON_FORMATS:
        raise SearchError("Only JSON is served (_format=json).", code="not-supported")
    query = Query(
        count=page_size(values.get("_count", [None])[-1]),
        offset=page_offset(values.get("_offset", [None])[-1]),
    )
    if "patient" in values:
        query.patient_id = patient_reference(values["patient"][-1])
    if "identifier" in values:
        query.identifiers = tokens("identifier", values["identifier"][-1])
    if "code" in values:
        query.codes = tokens("code", values["code"][-1])
    if "category" in values:
        query.categories = tokens("category", values["category"][-1])
    for value in values.get("date", []):
        if "," in value:
            raise SearchError("date takes one value per parameter; repeat date= to combine.")
        query.dates.append(date_bound(value))
    return query


def no_parameters(querydict, operation):
    """Operations that take no parameters but _format."""
    for name, given in querydict.lists():
        if name != "_format":
            raise SearchError(f"{operation} takes no parameter “{name}”.", code="not-supported")
        if given[-1] not in JSON_FORMATS:
            raise SearchError("Only JSON is served (_format=json).", code="not-supported")
