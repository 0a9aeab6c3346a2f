"""PCL-5 (Weathers et al. 2013), public domain (US National Center for PTSD).

Two screening rules are stored side by side (§7.1): the total cut-off (33 by default; the
published range is 31-33) and the DSM-5 symptom rule, which can disagree (DOMAIN vector L2).
The band follows the cut-off.
"""

from clinic.measures.instruments import Band, Instrument, Item, Option, Tally, register

SEVERITY = (
    Option(0, "Not at all"),
    Option(1, "A little bit"),
    Option(2, "Moderately"),
    Option(3, "Quite a bit"),
    Option(4, "Extremely"),
)

CUTOFF = 33
# An item counts towards the DSM-5 rule when rated "Moderately" or worse.
SYMPTOM_PRESENT = 2

# Cluster -> (item numbers, items needed at SYMPTOM_PRESENT for the DSM-5 rule).
CLUSTERS = {
    "B": (range(1, 6), 1),
    "C": (range(6, 8), 1),
    "D": (range(8, 15), 2),
    "E": (range(15, 21), 2),
}

ITEMS = (
    (
        "Unwanted memories",
        "Repeated, disturbing, and unwanted memories of the stressful experience?",
    ),
    ("Disturbing dreams", "Repeated, disturbing dreams of the stressful experience?"),
    (
        "Reliving",
        "Suddenly feeling or acting as if the stressful experience were actually happening again "
        "(as if you were actually back there reliving it)?",
    ),
    (
        "Upset by reminders",
        "Feeling very upset when something reminded you of the stressful experience?",
    ),
    (
        "Physical reactions to reminders",
        "Having strong physical reactions when something reminded you of the stressful experience "
        "(for example, heart pounding, trouble breathing, sweating)?",
    ),
    (
        "Avoiding memories",
        "Avoiding memories, thoughts, or feelings related to the stressful experience?",
    ),
    (
        "Avoiding reminders",
        "Avoiding external reminders of the stressful experience (for example, people, places, "
        "conversations, activities, objects, or situations)?",
    ),
    ("Trouble remembering", "Trouble remembering important parts of the stressful experience?"),
    (
        "Negative beliefs",
        "Having strong negative beliefs about yourself, other people, or the world (for example, "
        "having thoughts such as: I am bad, there is something seriously wrong with me, no one "
        "can be trusted, the world is completely dangerous)?",
    ),
    (
        "Blame",
        "Blaming yourself or someone else for the stressful experience or what happened after it?",
    ),
    (
        "Negative feelings",
        "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
    ),
    ("Loss of interest", "Loss of interest in activities that you used to enjoy?"),
    ("Feeling distant", "Feeling distant or cut off from other people?"),
    (
        "Trouble with positive feelings",
        "Trouble experiencing positive feelings (for example, being unable to feel happiness or "
        "have loving feelings for people close to you)?",
    ),
    ("Irritability or aggression", "Irritable behavior, angry outbursts, or acting aggressively?"),
    ("Risk taking", "Taking too many risks or doing things that could cause you harm?"),
    ("Hypervigilance", 'Being "superalert" or watchful or on guard?'),
    ("Jumpiness", "Feeling jumpy or easily startled?"),
    ("Concentration", "Having difficulty concentrating?"),
    ("Sleep", "Trouble falling or staying asleep?"),
)


def score_clusters(instrument, answers):
    subscales = {}
    dsm_rule = True
    for cluster, (numbers, needed) in CLUSTERS.items():
        values = [answers[number - 1] for number in numbers]
        if None in values:
            subscales[cluster] = None
            continue
        subscales[cluster] = sum(values)
        dsm_rule = dsm_rule and sum(value >= SYMPTOM_PRESENT for value in values) >= needed
    if None in subscales.values():
        return Tally(
            total=None,
            subscales=subscales,
            flags={"cutoff_positive": None, "dsm_rule_positive": None},
        )
    total = sum(subscales.values())
    return Tally(
        total=total,
        subscales=subscales,
        flags={"cutoff_positive": total >= CUTOFF, "dsm_rule_positive": dsm_rule},
    )


PCL5 = register(
    Instrument(
        code="PCL-5",
        name="PTSD Checklist for DSM-5",
        version="PCL-5 (Weathers 2013) v1, cut-off 33",
        rater="patient",
        recall="in the past month",
        instructions=(
            "Below is a list of problems that people sometimes have in response to a very "
            "stressful experience. Please read each problem carefully and then choose one of the "
            "answers to indicate how much you have been bothered by that problem in the past "
            "month. In the past month, how much were you bothered by:"
        ),
        items=tuple(
            Item(number=number, label=label, text=text, options=SEVERITY)
            for number, (label, text) in enumerate(ITEMS, start=1)
        ),
        min_total=0,
        max_total=80,
        bands=(Band(0, CUTOFF - 1, "below threshold"), Band(CUTOFF, 80, "probable ptsd")),
        licence="public domain",
        enabled_by_default=True,
        worsening_rise=10,
        scorer=score_clusters,
    )
)
