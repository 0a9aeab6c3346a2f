"""MADRS (Montgomery & Åsberg 1979). Licence terms unconfirmed (§7.3): off by default, short
neutral labels and numbered options only."""

from clinic.measures.instruments import Band, Instrument, Item, numbered_options, register

LABELS = (
    "Apparent sadness",
    "Reported sadness",
    "Inner tension",
    "Reduced sleep",
    "Reduced appetite",
    "Concentration difficulties",
    "Lassitude",
    "Inability to feel",
    "Pessimistic thoughts",
    "Suicidal thoughts",
)

MADRS = register(
    Instrument(
        code="MADRS",
        name="Montgomery-Åsberg Depression Rating Scale",
        version="MADRS (Montgomery & Asberg 1979) v1, neutral labels",
        rater="clinician",
        recall="over the last week",
        instructions="Rate each item from 0 to 6 after the clinical interview.",
        items=tuple(
            Item(
                number=number,
                label=label,
                text="",
                options=numbered_options(0, 6),
                # Item 10 >= 4 is DOMAIN's default alert line; confirm clinically.
                safety_threshold=4 if number == 10 else None,
            )
            for number, label in enumerate(LABELS, start=1)
        ),
        min_total=0,
        max_total=60,
        bands=(
            Band(0, 6, "normal"),
            Band(7, 19, "mild"),
            Band(20, 34, "moderate"),
            Band(35, 60, "severe"),
        ),
        licence="terms unconfirmed",
        enabled_by_default=False,
        # <= 10 is the default (§7.4); published < 10, esketamine trials <= 12.
        remission_max=10,
    )
)
