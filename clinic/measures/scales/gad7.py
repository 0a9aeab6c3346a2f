"""GAD-7 (Spitzer, Kroenke, Williams & Löwe 2006). Free to reproduce; published wording shipped."""

from clinic.measures.instruments import Band, Instrument, Item, register
from clinic.measures.scales.phq9 import FREQUENCY

ITEMS = (
    ("Nervousness", "Feeling nervous, anxious, or on edge"),
    ("Uncontrolled worry", "Not being able to stop or control worrying"),
    ("Worrying too much", "Worrying too much about different things"),
    ("Trouble relaxing", "Trouble relaxing"),
    ("Restlessness", "Being so restless that it is hard to sit still"),
    ("Irritability", "Becoming easily annoyed or irritable"),
    ("Feeling afraid", "Feeling afraid, as if something awful might happen"),
)

GAD7 = register(
    Instrument(
        code="GAD-7",
        name="Generalized Anxiety Disorder-7",
        version="GAD-7 (Spitzer 2006) v1",
        rater="patient",
        recall="over the last 2 weeks",
        instructions=(
            "Over the last 2 weeks, how often have you been bothered by the following problems?"
        ),
        items=tuple(
            Item(number=number, label=label, text=text, options=FREQUENCY)
            for number, (label, text) in enumerate(ITEMS, start=1)
        ),
        min_total=0,
        max_total=21,
        bands=(
            Band(0, 4, "minimal"),
            Band(5, 9, "mild"),
            Band(10, 14, "moderate"),
            Band(15, 21, "severe"),
        ),
        licence="free",
        enabled_by_default=True,
        loinc={
            "panel": "69737-5",
            "total": "70274-6",
            "items": {
                1: "69725-0",
                2: "68509-9",
                3: "69733-4",
                4: "69734-2",
                5: "69735-9",
                6: "69689-8",
                7: "69736-7",
            },
        },
    )
)
