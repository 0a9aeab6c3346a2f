"""Rating instruments (DOMAIN.md §7): the registry and the scoring API.

Pure Python, no models: the server scores every response with `score()` and stores the
answers, total, band and `Instrument.version` it returns; the browser only previews.

Each instrument is one module under `clinic.measures.scales` that builds an `Instrument` and
calls `register()`. The scales package is imported lazily by the registry functions, because
the scale modules import this one.

Rules shared by all instruments (§7.2, "default; confirm clinically"):

- An answer is an int within the item's option values, or None for a blank item. Anything else
  is rejected, never coerced.
- Complete means every scored item is answered. An incomplete response gets no total and no
  band; there is no prorating.
- Safety rules run on the answered items whether or not the response is complete, so a
  half-filled PHQ-9 with item 9 answered still raises the alert.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from django.core.exceptions import ValidationError

Rater = Literal["patient", "clinician"]
Licence = Literal["free", "public domain", "clinician score only", "terms unconfirmed"]
Answers = tuple[int | None, ...]

RATERS = ("patient", "clinician")
LICENCES = ("free", "public domain", "clinician score only", "terms unconfirmed")


class UnknownInstrument(KeyError):
    def __str__(self):
        # KeyError's own __str__ shows the repr of its argument, quotes and all.
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Option:
    value: int
    label: str


def numbered_options(low: int, high: int) -> tuple[Option, ...]:
    """Options labelled only by their number, for instruments whose anchor wording we may not
    reproduce (§7.3)."""
    return tuple(Option(value, str(value)) for value in range(low, high + 1))


@dataclass(frozen=True)
class Item:
    number: int
    label: str
    text: str
    options: tuple[Option, ...]
    scored: bool = True
    # An answer >= this raises the safety alert.
    safety_threshold: int | None = None

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(option.value for option in self.options)

    @property
    def min_value(self) -> int:
        return min(self.values)

    @property
    def max_value(self) -> int:
        return max(self.values)

    def display_name(self) -> str:
        return f"Item {self.number} ({self.label})"


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    name: str

    def __contains__(self, total: int) -> bool:
        return self.low <= total <= self.high


@dataclass(frozen=True)
class Tally:
    """What an instrument's scorer works out from the validated answers.

    `total` must be None when a scored item is blank; `Instrument.score` enforces it anyway.
    `safety_reasons` adds to the per-item `safety_threshold` rules, for rules that a single
    ">= threshold" cannot express (MOAA/S alerts on a low value).
    """

    total: int | None
    subscales: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    safety_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Score:
    total: int | None
    band: str | None
    safety_alert: bool
    complete: bool
    safety_reasons: tuple[str, ...] = ()
    subscales: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    # The validated answers, padded with None to one entry per item.
    answers: Answers = ()


@dataclass(frozen=True)
class Outcome:
    response: bool | None
    remission: bool | None
    percent_change: Decimal | None


Scorer = Callable[["Instrument", Answers], Tally]


def sum_of_scored_items(instrument: Instrument, answers: Answers) -> Tally:
    values = [answers[item.number - 1] for item in instrument.scored_items]
    if any(value is None for value in values):
        return Tally(total=None)
    return Tally(total=sum(values))


@dataclass(frozen=True, kw_only=True)
class Instrument:
    code: str
    name: str
    # Stored on every response, so that a later change of items or scoring stays traceable.
    version: str
    rater: Rater
    recall: str
    instructions: str
    items: tuple[Item, ...]
    min_total: int
    max_total: int
    bands: tuple[Band, ...] = ()
    licence: Licence
    enabled_by_default: bool
    remission_max: int | None = None
    worsening_rise: int | None = None
    loinc: dict | None = None
    scorer: Scorer = sum_of_scored_items

    def __post_init__(self):
        # An instrument is data typed in by hand; catch slips when the module is imported.
        if self.rater not in RATERS:
            raise ValueError(f"{self.code}: rater must be one of {RATERS}.")
        if self.licence not in LICENCES:
            raise ValueError(f"{self.code}: licence must be one of {LICENCES}.")
        if [item.number for item in self.items] != list(range(1, len(self.items) + 1)):
            raise ValueError(f"{self.code}: items must be numbered 1 to {len(self.items)}.")
        if not self.scored_items:
            raise ValueError(f"{self.code}: needs at least one scored item.")
        for item in self.items:
            values = item.values
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{self.code} item {item.number}: options need unique values.")
            if list(values) != list(range(item.min_value, item.max_value + 1)):
                raise ValueError(f"{self.code} item {item.number}: option values must be a run.")
            if item.safety_threshold is not None and item.safety_threshold not in values:
                raise ValueError(f"{self.code} item {item.number}: threshold is not an option.")
        if self.min_total > self.max_total:
            raise ValueError(f"{self.code}: min_total is above max_total.")
        if self.bands:
            edges = [self.min_total - 1]
            for band in self.bands:
                if band.low != edges[-1] + 1 or band.high < band.low:
                    raise ValueError(f"{self.code}: bands must be contiguous, low to high.")
                edges.append(band.high)
            if edges[-1] != self.max_total:
                raise ValueError(f"{self.code}: bands must end at max_total.")
        if self.remission_max is not None and not (
            self.min_total <= self.remission_max <= self.max_total
        ):
            raise ValueError(f"{self.code}: remission_max is outside the total range.")

    @property
    def slug(self) -> str:
        """The code as it appears in URLs ("MOAA/S" -> "moaa-s")."""
        return re.sub(r"[^a-z0-9]+", "-", self.code.lower()).strip("-")

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.scored)

    @property
    def min_answers(self) -> int:
        """Trailing unscored items (PHQ-9 item 10) may be left off the answer list."""
        return max(item.number for item in self.scored_items)

    @property
    def max_answers(self) -> int:
        return len(self.items)

    def band_for(self, total: int | None) -> str | None:
        if total is None:
            return None
        for band in self.bands:
            if total in band:
                return band.name
        return None

    def validate(self, answers: Sequence[int | None]) -> Answers:
        """Return the answers padded with None to one per item, or raise ValidationError."""
        if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
            raise ValidationError(
                "%(code)s answers must be a list.", code="invalid", params={"code": self.code}
            )
        count = len(answers)
        if not self.min_answers <= count <= self.max_answers:
            if self.min_answers == self.max_answers:
                expected = str(self.max_answers)
            else:
                expected = f"{self.min_answers} or {self.max_answers}"
            raise ValidationError(
                "%(code)s needs %(expected)s answers, got %(count)d.",
                code="wrong_count",
                params={"code": self.code, "expected": expected, "count": count},
            )
        errors = []
        for item, answer in zip(self.items, answers, strict=False):
            if answer is None:
                continue
            params = {"number": item.number, "low": item.min_value, "high": item.max_value}
            # bool is an int subclass, but True is not a rating.
            if isinstance(answer, bool) or not isinstance(answer, int):
                errors.append(
                    ValidationError(
                        "Item %(number)d must be a whole number between %(low)d and %(high)d.",
                        code="not_integer",
                        params=params,
                    )
                )
            elif answer not in item.values:
                errors.append(
                    ValidationError(
                        "Item %(number)d must be between %(low)d and %(high)d.",
                        code="out_of_range",
                        params=params,
                    )
                )
        if errors:
            raise ValidationError(errors)
        return tuple(answers) + (None,) * (self.max_answers - count)

    def score(self, answers: Sequence[int | None]) -> Score:
        values = self.validate(answers)
        complete = all(values[item.number - 1] is not None for item in self.scored_items)
        reasons = [
            f"{item.display_name()} answered {values[item.number - 1]}; "
            f"alert at {item.safety_threshold} or more."
            for item in self.items
            if item.safety_threshold is not None
            and values[item.number - 1] is not None
            and values[item.number - 1] >= item.safety_threshold
        ]
        tally = self.scorer(self, values)
        reasons.extend(tally.safety_reasons)
        total = tally.total if complete else None
        return Score(
            total=total,
            band=self.band_for(total),
            safety_alert=bool(reasons),
            complete=complete,
            safety_reasons=tuple(reasons),
            subscales=tally.subscales,
            flags=tally.flags,
            answers=values,
        )


_registry: dict[str, Instrument] = {}


def register(instrument: Instrument) -> Instrument:
    existing = _registry.get(instrument.code)
    if existing is not None and existing != instrument:
        raise ValueError(f"Instrument {instrument.code} is already registered.")
    _registry[instrument.code] = instrument
    return instrument


def _load_scales() -> None:
    importlib.import_module("clinic.measures.scales")


def get(code: str) -> Instrument:
    _load_scales()
    try:
        return _registry[code]
    except KeyError:
        raise UnknownInstrument(f"Unknown instrument: {code!r}.") from None


def all_instruments() -> tuple[Instrument, ...]:
    """Patient-rated first, then in registration order (the import order in scales)."""
    _load_scales()
    return tuple(sorted(_registry.values(), key=lambda instrument: instrument.rater != "patient"))


def codes() -> tuple[str, ...]:
    return tuple(instrument.code for instrument in all_instruments())


def get_by_slug(slug: str) -> Instrument:
    """The instrument whose URL slug is `slug`; raises UnknownInstrument."""
    for instrument in all_instruments():
        if instrument.slug == slug:
            return instrument
    raise UnknownInstrument(slug)


def score(code: str, answers: Sequence[int | None]) -> Score:
    return get(code).score(answers)


def _check_total(instrument: Instrument, name: str, total: int | None) -> None:
    if total is None:
        return
    if isinstance(total, bool) or not isinstance(total, int):
        raise ValidationError(f"{instrument.code} {name} total must be a whole number.")
    if not instrument.min_total <= total <= instrument.max_total:
        raise ValidationError(
            f"{instrument.code} {name} total must be between "
            f"{instrument.min_total} and {instrument.max_total}."
        )


def response_status(code: str, baseline_total: int | None, current_total: int | None) -> Outcome:
    """Response and remission against the pre-treatment baseline (§7.4).

    Response is a fall of at least 50%, compared in integers (`2 * current <= baseline`) so that
    18 -> 9 counts exactly; it is undefined for a baseline of 0.
    """
    instrument = get(code)
    _check_total(instrument, "baseline", baseline_total)
    _check_total(instrument, "current", current_total)
    remission = None
    if instrument.remission_max is not None and current_total is not None:
        remission = current_total <= instrument.remission_max
    if baseline_total is None or current_total is None or baseline_total == 0:
        return Outcome(response=None, remission=remission, percent_change=None)
    percent = Decimal(baseline_total - current_total) * 100 / Decimal(baseline_total)
    return Outcome(
        response=2 * current_total <= baseline_total,
        remission=remission,
        percent_change=percent.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
    )
