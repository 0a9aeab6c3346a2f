"""QIDS-SR16 (Rush et al. 2003).

Off by default until the clinic confirms the terms (§7.3), so items carry short neutral labels
and no published wording or anchors. The total is the sum of nine domain scores, three of them
the worst of several items; a plain item sum overstates it (all 3s: 48 instead of 27).
"""

from clinic.measures.instruments import (
    Band,
    Instrument,
    Item,
    Tally,
    numbered_options,
    register,
)

LABELS = (
    "Falling asleep",
    "Sleep during the night",
    "Waking too early",
    "Sleeping too much",
    "Sad mood",
    "Appetite decreased",
    "Appetite increased",
    "Weight decreased",
    "Weight increased",
    "Concentration",
    "Self-view",
    "Thoughts of death or suicide",
    "General interest",
    "Energy",
    "Slowed down",
    "Restlessness",
)

# Domain name -> item numbers; the domain score is the highest answer among its items.
DOMAINS = {
    "sleep": (1, 2, 3, 4),
    "mood": (5,),
    "appetite_weight": (6, 7, 8, 9),
    "concentration": (10,),
    "self_view": (11,),
    "suicidal_ideation": (12,),
    "interest": (13,),
    "energy": (14,),
    "psychomotor": (15, 16),
}


def score_domains(instrument, answers):
    subscales = {}
    for domain, numbers in DOMAINS.items():
        values = [answers[number - 1] for number in numbers]
        subscales[domain] = None if None in values else max(values)
    total = None if None in subscales.values() else sum(subscales.values())
    return Tally(total=total, subscales=subscales)


QIDS_SR16 = register(
    Instrument(
        code="QIDS-SR16",
        name="Quick Inventory of Depressive Symptomatology, self-report (16 items)",
        version="QIDS-SR16 (Rush 2003) v1, neutral labels",
        rater="patient",
        recall="over the last 7 days",
        instructions="",
        items=tuple(
            Item(
                number=number,
                label=label,
                text="",
                options=numbered_options(0, 3),
                safety_threshold=1 if number == 12 else None,
            )
            for number, label in enumerate(LABELS, start=1)
        ),
        min_total=0,
        max_total=27,
        bands=(
            Band(0, 5, "none"),
            Band(6, 10, "mild"),
            Band(11, 15, "moderate"),
            Band(16, 20, "severe"),
            Band(21, 27, "very severe"),
        ),
        licence="terms unconfirmed",
        enabled_by_default=False,
        remission_max=5,
        scorer=score_domains,
    )
)
