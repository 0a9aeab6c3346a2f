"""PHQ-9 (Kroenke, Spitzer & Williams 2001). Free to reproduce; published wording shipped."""

from clinic.measures.instruments import Band, Instrument, Item, Option, register

FREQUENCY = (
    Option(0, "Not at all"),
    Option(1, "Several days"),
    Option(2, "More than half the days"),
    Option(3, "Nearly every day"),
)

DIFFICULTY = (
    Option(0, "Not difficult at all"),
    Option(1, "Somewhat difficult"),
    Option(2, "Very difficult"),
    Option(3, "Extremely difficult"),
)

ITEMS = (
    ("Little interest", "Little interest or pleasure in doing things"),
    ("Low mood", "Feeling down, depressed, or hopeless"),
    ("Sleep", "Trouble falling or staying asleep, or sleeping too much"),
    ("Tiredness", "Feeling tired or having little energy"),
    ("Appetite", "Poor appetite or overeating"),
    (
        "Self-worth",
        "Feeling bad about yourself \N{EM DASH} or that you are a failure or have let yourself "
        "or your family down",
    ),
    (
        "Concentration",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
    ),
    (
        "Slowed or restless",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite "
        "\N{EM DASH} being so fidgety or restless that you have been moving around a lot more "
        "than usual",
    ),
    (
        "Self-harm thoughts",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
    ),
)

PHQ9 = register(
    Instrument(
        code="PHQ-9",
        name="Patient Health Questionnaire-9",
        version="PHQ-9 (Kroenke 2001) v1",
        rater="patient",
        recall="over the last 2 weeks",
        instructions=(
            "Over the last 2 weeks, how often have you been bothered by any of the following "
            "problems?"
        ),
        items=(
            *(
                Item(
                    number=number,
                    label=label,
                    text=text,
                    options=FREQUENCY,
                    # Any thought of death or self-harm needs a clinician the same day (§7.1).
                    safety_threshold=1 if number == 9 else None,
                )
                for number, (label, text) in enumerate(ITEMS, start=1)
            ),
            Item(
                number=10,
                label="Difficulty",
                text=(
                    "If you checked off any problems, how difficult have these problems made it "
                    "for you to do your work, take care of things at home, or get along with "
                    "other people?"
                ),
                options=DIFFICULTY,
                scored=False,
            ),
        ),
        min_total=0,
        max_total=27,
        bands=(
            Band(0, 4, "minimal"),
            Band(5, 9, "mild"),
            Band(10, 14, "moderate"),
            Band(15, 19, "moderately severe"),
            Band(20, 27, "severe"),
        ),
        licence="free",
        enabled_by_default=True,
        # Remission is "< 5" in §7.4.
        remission_max=4,
        worsening_rise=5,
        loinc={
            "panel": "44249-1",
            "total": "44261-6",
            "items": {
                1: "44250-9",
                2: "44255-8",
                3: "44259-0",
                4: "44254-1",
                5: "44251-7",
                6: "44258-2",
                7: "44252-5",
                8: "44253-3",
                9: "44260-8",
                10: "69722-7",
            },
            # Answer codes for the frequency options of items 1-9.
            "answers": {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"},
        },
    )
)
