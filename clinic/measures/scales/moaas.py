"""MOAA/S (Chernik et al. 1990): sedation level during and after dosing.

The clinic records the score only; the option wording is our paraphrase of the anchors
(§7.3). A level of 2 or less raises the alert and 0 (no response) is an emergency.
"""

from clinic.measures.instruments import Band, Instrument, Item, Option, Tally, register

ALERT_AT_OR_BELOW = 2

LEVELS = (
    Option(0, "No response to a painful squeeze"),
    Option(1, "Responds only to a painful squeeze"),
    Option(2, "Responds only to prodding or shaking"),
    Option(3, "Responds only when the name is called loudly or repeatedly"),
    Option(4, "Sluggish response to the name in a normal voice"),
    Option(5, "Responds readily to the name in a normal voice"),
)

BAND_NAMES = (
    "unresponsive",
    "responds to pain",
    "responds to touch",
    "responds to loud voice",
    "sluggish",
    "awake",
)


def score_level(instrument, answers):
    (level,) = answers
    if level is None:
        return Tally(total=None, flags={"emergency": None})
    reasons = ()
    if level <= ALERT_AT_OR_BELOW:
        reasons = (
            f"MOAA/S {level} ({LEVELS[level].label.lower()}); "
            f"alert at {ALERT_AT_OR_BELOW} or less.",
        )
    return Tally(total=level, flags={"emergency": level == 0}, safety_reasons=reasons)


MOAAS = register(
    Instrument(
        code="MOAA/S",
        name="Modified Observer's Assessment of Alertness/Sedation",
        version="MOAA/S (Chernik 1990) v1, clinic paraphrase",
        rater="clinician",
        recall="now",
        instructions="Choose the level that matches the patient's response now.",
        items=(Item(number=1, label="Responsiveness", text="", options=LEVELS),),
        min_total=0,
        max_total=5,
        bands=tuple(Band(level, level, name) for level, name in enumerate(BAND_NAMES)),
        licence="clinician score only",
        enabled_by_default=True,
        scorer=score_level,
    )
)
