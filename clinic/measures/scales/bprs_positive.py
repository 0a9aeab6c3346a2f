"""BPRS positive-symptom subscale (Overall & Gorham 1962), 4 items on the 1-7 anchor set.

Some trials rate 0-6; the anchor set is part of the version string so that totals on the two
sets are never compared. Licence terms unconfirmed (§7.3): off by default, numbered options.
"""

from clinic.measures.instruments import Instrument, Item, numbered_options, register

LABELS = (
    "Suspiciousness",
    "Hallucinations",
    "Unusual thought content",
    "Conceptual disorganisation",
)

BPRS_POSITIVE = register(
    Instrument(
        code="BPRS+",
        name="Brief Psychiatric Rating Scale, positive symptoms",
        version="BPRS+ 4-item (Overall & Gorham 1962) v1, anchors 1-7",
        rater="clinician",
        recall="now",
        instructions="Rate each item from 1 (not present) to 7 (extremely severe).",
        items=tuple(
            Item(number=number, label=label, text="", options=numbered_options(1, 7))
            for number, label in enumerate(LABELS, start=1)
        ),
        min_total=4,
        max_total=28,
        licence="terms unconfirmed",
        enabled_by_default=False,
    )
)
