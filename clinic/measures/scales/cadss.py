"""CADSS (Bremner et al. 1998), the 23-item form used in ketamine and esketamine trials.

Licence terms unconfirmed (§7.3): off by default, numbered items and options only. There are
no severity bands; the score is read as a change from the pre-dose rating.
"""

from clinic.measures.instruments import Instrument, Item, numbered_options, register

ITEM_COUNT = 23

CADSS = register(
    Instrument(
        code="CADSS",
        name="Clinician-Administered Dissociative States Scale",
        version="CADSS 23-item (Bremner 1998) v1, numbered items",
        rater="clinician",
        recall="now",
        instructions="Rate each item from 0 to 4 for the patient's state now.",
        items=tuple(
            Item(
                number=number,
                label=f"Dissociation item {number}",
                text="",
                options=numbered_options(0, 4),
            )
            for number in range(1, ITEM_COUNT + 1)
        ),
        min_total=0,
        max_total=4 * ITEM_COUNT,
        licence="terms unconfirmed",
        enabled_by_default=False,
    )
)
