"""Scoring of the rating instruments against DOMAIN.md §7 (test vectors in §7.5)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinic.measures import instruments
from clinic.measures.instruments import Outcome, UnknownInstrument, response_status, score


def digits(text):
    """'3102|2|0201' -> [3, 1, 0, 2, 2, 0, 2, 0, 1]: the vectors as DOMAIN.md writes them."""
    return [int(char) for char in text if char.isdigit()]


def answers_for_total(instrument, total):
    """Fill scored items from the first, each up to its maximum, until `total` is reached."""
    answers = []
    remaining = total - sum(item.min_value for item in instrument.scored_items)
    for item in instrument.items:
        if not item.scored:
            continue
        step = min(item.max_value - item.min_value, remaining)
        answers.append(item.min_value + step)
        remaining -= step
    assert remaining == 0
    return answers


def qids_answers_for_total(total):
    """Raise one item per QIDS domain, so that the plain item sum equals the domain total."""
    first_item_of_domain = (1, 5, 6, 10, 11, 12, 13, 14, 15)
    answers = [0] * 16
    remaining = total
    for number in first_item_of_domain:
        step = min(3, remaining)
        answers[number - 1] = step
        remaining -= step
    assert remaining == 0
    return answers


# --- PHQ-9 (§7.5 P1-P13) -------------------------------------------------------------------

PHQ9_VECTORS = [
    ("P1", "000000000", 0, "minimal", False),
    ("P2", "111100000", 4, "minimal", False),
    ("P3", "111110000", 5, "mild", False),
    ("P4", "222111000", 9, "mild", False),
    ("P5", "222211000", 10, "moderate", False),
    ("P6", "222222110", 14, "moderate", False),
    ("P7", "222222210", 15, "moderately severe", False),
    ("P8", "333222220", 19, "moderately severe", False),
    ("P9", "333322220", 20, "severe", False),
    ("P10", "000000001", 1, "minimal", True),
    ("P11", "221111101", 10, "moderate", True),
    ("P12", "333333333", 27, "severe", True),
]


@pytest.mark.parametrize(
    ("answers", "total", "band", "alert"),
    [
        pytest.param(answers, total, band, alert, id=vid)
        for vid, answers, total, band, alert in PHQ9_VECTORS
    ],
)
def test_phq9_vectors(answers, total, band, alert):
    result = score("PHQ-9", digits(answers))
    assert result.complete is True
    assert result.total == total
    assert result.band == band
    assert result.safety_alert is alert
    assert bool(result.safety_reasons) is alert


def test_phq9_p13_blank_items_no_total_but_alert():
    result = score("PHQ-9", [None] * 8 + [2])
    assert result.complete is False
    assert result.total is None
    assert result.band is None
    assert result.safety_alert is True
    assert result.safety_reasons == ("Item 9 (Self-harm thoughts) answered 2; alert at 1 or more.",)
    assert result.answers == (None,) * 8 + (2, None)


def test_phq9_one_blank_item_is_incomplete_without_prorating():
    result = score("PHQ-9", [3, 3, 3, 3, None, 3, 3, 3, 0])
    assert (result.complete, result.total, result.band, result.safety_alert) == (
        False,
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    "item_10", [pytest.param(None, id="blank"), pytest.param(3, id="extremely-difficult")]
)
def test_phq9_item_10_is_optional_and_unscored(item_10):
    result = score("PHQ-9", [1] * 9 + [item_10])
    assert result.complete is True
    assert result.total == 9
    assert result.answers[9] == item_10


def test_phq9_nine_answers_are_padded_to_ten():
    assert score("PHQ-9", [0] * 9).answers == (0,) * 9 + (None,)


@pytest.mark.parametrize("position", [0, 4, 8, 9], ids=lambda p: f"item-{p + 1}")
def test_phq9_p14_any_item_4_is_rejected(position):
    answers = [0] * 10
    answers[position] = 4
    with pytest.raises(ValidationError) as error:
        score("PHQ-9", answers)
    assert error.value.messages == [f"Item {position + 1} must be between 0 and 3."]


def test_phq9_metadata():
    phq9 = instruments.get("PHQ-9")
    assert len(phq9.items) == 10
    assert len(phq9.scored_items) == 9
    assert [option.label for option in phq9.items[0].options] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]
    assert phq9.items[0].text == "Little interest or pleasure in doing things"
    assert phq9.items[9].scored is False
    assert (phq9.worsening_rise, phq9.remission_max) == (5, 4)
    assert phq9.loinc["panel"] == "44249-1"
    assert phq9.loinc["total"] == "44261-6"
    assert phq9.loinc["items"][9] == "44260-8"
    assert phq9.loinc["items"][10] == "69722-7"
    assert phq9.loinc["answers"][3] == "LA6571-9"


# --- GAD-7 ---------------------------------------------------------------------------------

GAD7_VECTORS = [
    ("1111000", 4, "minimal"),
    ("1111100", 5, "mild"),
    ("2222110", 10, "moderate"),
    ("2222222", 14, "moderate"),
    ("3332211", 15, "severe"),
    ("3333333", 21, "severe"),
]


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [pytest.param(a, t, b, id=f"{a}-{t}-{b}") for a, t, b in GAD7_VECTORS],
)
def test_gad7_vectors(answers, total, band):
    result = score("GAD-7", digits(answers))
    assert (result.complete, result.total, result.band, result.safety_alert) == (
        True,
        total,
        band,
        False,
    )


def test_gad7_loinc():
    gad7 = instruments.get("GAD-7")
    assert gad7.loinc["panel"] == "69737-5"
    assert gad7.loinc["total"] == "70274-6"
    assert gad7.loinc["items"][1] == "69725-0"
    assert gad7.loinc["items"][7] == "69736-7"


# --- QIDS-SR16 -----------------------------------------------------------------------------

QIDS_DOMAINS = (
    "sleep",
    "mood",
    "appetite_weight",
    "concentration",
    "self_view",
    "suicidal_ideation",
    "interest",
    "energy",
    "psychomotor",
)


@pytest.mark.parametrize(
    ("answers", "domains", "total", "plain_sum", "band", "remission", "alert"),
    [
        pytest.param(
            "3102|2|0201|1|2|0|1|2|12",
            (3, 2, 2, 1, 2, 0, 1, 2, 2),
            15,
            20,
            "moderate",
            False,
            False,
            id="Q1",
        ),
        pytest.param(
            "1110|1|1000|0|0|0|1|1|00",
            (1, 1, 1, 0, 0, 0, 1, 1, 0),
            5,
            7,
            "none",
            True,
            False,
            id="Q2",
        ),
        pytest.param("3" * 16, (3,) * 9, 27, 48, "very severe", False, True, id="Q3"),
    ],
)
def test_qids_vectors(answers, domains, total, plain_sum, band, remission, alert):
    values = digits(answers)
    assert len(values) == 16
    result = score("QIDS-SR16", values)
    assert sum(values) == plain_sum
    assert result.total == total
    assert result.total != plain_sum
    assert result.subscales == dict(zip(QIDS_DOMAINS, domains, strict=True))
    assert result.band == band
    assert result.safety_alert is alert
    assert response_status("QIDS-SR16", None, total).remission is remission


def test_qids_item_12_alert():
    answers = [0] * 16
    answers[11] = 1
    result = score("QIDS-SR16", answers)
    assert result.total == 1
    assert result.safety_alert is True
    assert result.safety_reasons[0].startswith("Item 12 ")


def test_qids_ships_neutral_labels_only():
    qids = instruments.get("QIDS-SR16")
    assert qids.enabled_by_default is False
    assert qids.licence == "terms unconfirmed"
    assert all(item.text == "" for item in qids.items)
    assert all(option.label == str(option.value) for item in qids.items for option in item.options)


# --- PCL-5 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "clusters", "total", "cutoff", "dsm_rule", "band"),
    [
        pytest.param([2] * 20, (10, 4, 14, 12), 40, True, True, "probable ptsd", id="L1"),
        pytest.param(
            [4] * 5 + [0] * 2 + [1] * 13,
            (20, 0, 7, 6),
            33,
            True,
            False,
            "probable ptsd",
            id="L2",
        ),
        pytest.param([0] * 20, (0, 0, 0, 0), 0, False, False, "below threshold", id="L3"),
    ],
)
def test_pcl5_vectors(answers, clusters, total, cutoff, dsm_rule, band):
    result = score("PCL-5", answers)
    assert result.subscales == dict(zip("BCDE", clusters, strict=True))
    assert result.total == total
    assert result.flags == {"cutoff_positive": cutoff, "dsm_rule_positive": dsm_rule}
    assert result.band == band


def test_pcl5_dsm_rule_positive_below_cutoff():
    # Minimum for the DSM rule: one B, one C, two D, two E items at 2 -> total 12.
    answers = [0] * 20
    for number in (1, 6, 8, 9, 15, 16):
        answers[number - 1] = 2
    result = score("PCL-5", answers)
    assert result.total == 12
    assert result.flags == {"cutoff_positive": False, "dsm_rule_positive": True}
    assert result.band == "below threshold"


@pytest.mark.parametrize(
    ("total", "band", "cutoff"),
    [
        pytest.param(32, "below threshold", False, id="32"),
        pytest.param(33, "probable ptsd", True, id="33"),
    ],
)
def test_pcl5_cutoff_edge(total, band, cutoff):
    result = score("PCL-5", answers_for_total(instruments.get("PCL-5"), total))
    assert (result.total, result.band, result.flags["cutoff_positive"]) == (total, band, cutoff)


def test_pcl5_incomplete_has_no_total_or_flags():
    result = score("PCL-5", [2] * 19 + [None])
    assert result.complete is False
    assert result.total is None
    assert result.band is None
    assert result.subscales == {"B": 10, "C": 4, "D": 14, "E": None}
    assert result.flags == {"cutoff_positive": None, "dsm_rule_positive": None}


def test_pcl5_metadata():
    pcl5 = instruments.get("PCL-5")
    assert pcl5.licence == "public domain"
    assert pcl5.worsening_rise == 10
    assert [option.label for option in pcl5.items[0].options] == [
        "Not at all",
        "A little bit",
        "Moderately",
        "Quite a bit",
        "Extremely",
    ]
    assert all(item.text for item in pcl5.items)


# --- Band edges of every banded instrument -------------------------------------------------

BAND_EDGES = [
    ("PHQ-9", 4, "minimal"),
    ("PHQ-9", 5, "mild"),
    ("PHQ-9", 9, "mild"),
    ("PHQ-9", 10, "moderate"),
    ("PHQ-9", 14, "moderate"),
    ("PHQ-9", 15, "moderately severe"),
    ("PHQ-9", 19, "moderately severe"),
    ("PHQ-9", 20, "severe"),
    ("GAD-7", 4, "minimal"),
    ("GAD-7", 5, "mild"),
    ("GAD-7", 9, "mild"),
    ("GAD-7", 10, "moderate"),
    ("GAD-7", 14, "moderate"),
    ("GAD-7", 15, "severe"),
    ("QIDS-SR16", 5, "none"),
    ("QIDS-SR16", 6, "mild"),
    ("QIDS-SR16", 10, "mild"),
    ("QIDS-SR16", 11, "moderate"),
    ("QIDS-SR16", 15, "moderate"),
    ("QIDS-SR16", 16, "severe"),
    ("QIDS-SR16", 20, "severe"),
    ("QIDS-SR16", 21, "very severe"),
    ("MADRS", 6, "normal"),
    ("MADRS", 7, "mild"),
    ("MADRS", 19, "mild"),
    ("MADRS", 20, "moderate"),
    ("MADRS", 34, "moderate"),
    ("MADRS", 35, "severe"),
]


@pytest.mark.parametrize(
    ("code", "total", "band"),
    [pytest.param(c, t, b, id=f"{c}-{t}") for c, t, b in BAND_EDGES],
)
def test_band_edges(code, total, band):
    instrument = instruments.get(code)
    if code == "QIDS-SR16":
        answers = qids_answers_for_total(total)
    else:
        answers = answers_for_total(instrument, total)
    result = score(code, answers)
    assert result.total == total
    assert result.band == band
    assert instrument.band_for(total) == band


def test_madrs_item_10_alert_at_4():
    below = [0] * 9 + [3]
    at = [0] * 9 + [4]
    assert score("MADRS", below).safety_alert is False
    assert score("MADRS", at).safety_alert is True


@pytest.mark.parametrize(
    ("code", "answers"),
    [
        pytest.param("CADSS", [1] * 23, id="CADSS"),
        pytest.param("BPRS+", [3, 4, 5, 6], id="BPRS+"),
    ],
)
def test_unbanded_instruments_have_total_and_no_band(code, answers):
    result = score(code, answers)
    assert result.total == sum(answers)
    assert result.band is None
    assert result.complete is True


# --- MOAA/S --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "band", "alert", "emergency"),
    [
        pytest.param(5, "awake", False, False, id="5-awake"),
        pytest.param(4, "sluggish", False, False, id="4-sluggish"),
        pytest.param(3, "responds to loud voice", False, False, id="3-no-alert"),
        pytest.param(2, "responds to touch", True, False, id="2-alert"),
        pytest.param(1, "responds to pain", True, False, id="1-alert"),
        pytest.param(0, "unresponsive", True, True, id="0-emergency"),
    ],
)
def test_moaas_levels(level, band, alert, emergency):
    result = score("MOAA/S", [level])
    assert result.total == level
    assert result.band == band
    assert result.safety_alert is alert
    assert result.flags == {"emergency": emergency}


def test_moaas_metadata():
    moaas = instruments.get("MOAA/S")
    assert moaas.licence == "clinician score only"
    assert moaas.enabled_by_default is True
    assert [option.value for option in moaas.items[0].options] == [0, 1, 2, 3, 4, 5]


# --- Validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "answers", "message"),
    [
        pytest.param("PHQ-9", [0] * 8, "PHQ-9 needs 9 or 10 answers, got 8.", id="PHQ-9-short"),
        pytest.param("PHQ-9", [0] * 11, "PHQ-9 needs 9 or 10 answers, got 11.", id="PHQ-9-long"),
        pytest.param("GAD-7", [0] * 6, "GAD-7 needs 7 answers, got 6.", id="GAD-7-short"),
        pytest.param("GAD-7", [0] * 8, "GAD-7 needs 7 answers, got 8.", id="GAD-7-long"),
        pytest.param("MOAA/S", [], "MOAA/S needs 1 answers, got 0.", id="MOAA/S-empty"),
    ],
)
def test_wrong_number_of_answers(code, answers, message):
    with pytest.raises(ValidationError) as error:
        score(code, answers)
    assert error.value.messages == [message]


@pytest.mark.parametrize(
    ("code", "answers", "message"),
    [
        pytest.param(
            "PHQ-9", [0, 0, -1] + [0] * 6, "Item 3 must be between 0 and 3.", id="PHQ-9-minus-1"
        ),
        pytest.param(
            "PHQ-9", [0, 0, 4] + [0] * 6, "Item 3 must be between 0 and 3.", id="PHQ-9-max-plus-1"
        ),
        pytest.param(
            "GAD-7", [0] * 6 + [4], "Item 7 must be between 0 and 3.", id="GAD-7-max-plus-1"
        ),
        pytest.param(
            "PCL-5", [5] + [0] * 19, "Item 1 must be between 0 and 4.", id="PCL-5-max-plus-1"
        ),
        pytest.param(
            "MADRS", [7] + [0] * 9, "Item 1 must be between 0 and 6.", id="MADRS-max-plus-1"
        ),
        pytest.param("BPRS+", [0, 1, 1, 1], "Item 1 must be between 1 and 7.", id="BPRS+-zero"),
        pytest.param(
            "BPRS+", [1, 1, 1, 8], "Item 4 must be between 1 and 7.", id="BPRS+-max-plus-1"
        ),
        pytest.param("MOAA/S", [6], "Item 1 must be between 0 and 5.", id="MOAA/S-max-plus-1"),
        pytest.param("MOAA/S", [-1], "Item 1 must be between 0 and 5.", id="MOAA/S-minus-1"),
    ],
)
def test_out_of_range_answer(code, answers, message):
    with pytest.raises(ValidationError) as error:
        score(code, answers)
    assert error.value.messages == [message]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(True, id="bool-true"),
        pytest.param(False, id="bool-false"),
        pytest.param("1", id="str"),
        pytest.param(1.0, id="float"),
    ],
)
def test_non_integer_answer_rejected(bad):
    answers = [0] * 9
    answers[4] = bad
    with pytest.raises(ValidationError) as error:
        score("PHQ-9", answers)
    assert error.value.messages == ["Item 5 must be a whole number between 0 and 3."]


def test_every_bad_item_is_reported():
    with pytest.raises(ValidationError) as error:
        score("GAD-7", [9, 0, "x", 0, 0, 0, -2])
    assert error.value.messages == [
        "Item 1 must be between 0 and 3.",
        "Item 3 must be a whole number between 0 and 3.",
        "Item 7 must be between 0 and 3.",
    ]


@pytest.mark.parametrize(
    "answers", [pytest.param("000000000", id="str"), pytest.param(None, id="none")]
)
def test_answers_must_be_a_list(answers):
    with pytest.raises(ValidationError):
        score("PHQ-9", answers)


def test_unknown_code():
    with pytest.raises(UnknownInstrument) as error:
        score("PHQ-10", [0] * 10)
    assert isinstance(error.value, KeyError)
    assert str(error.value) == "Unknown instrument: 'PHQ-10'."
    with pytest.raises(KeyError):
        instruments.get("phq-9")


# --- Response and remission (§7.4) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "baseline", "current", "expected"),
    [
        pytest.param("PHQ-9", 22, 10, Outcome(True, False, Decimal("54.5")), id="PHQ-9-22-10"),
        pytest.param("PHQ-9", 18, 9, Outcome(True, False, Decimal("50.0")), id="PHQ-9-18-9"),
        pytest.param("PHQ-9", 18, 10, Outcome(False, False, Decimal("44.4")), id="PHQ-9-18-10"),
        pytest.param("PHQ-9", 16, 4, Outcome(True, True, Decimal("75.0")), id="PHQ-9-16-4"),
        pytest.param("PHQ-9", 16, 5, Outcome(True, False, Decimal("68.8")), id="PHQ-9-16-5"),
        pytest.param("MADRS", 32, 10, Outcome(True, True, Decimal("68.8")), id="MADRS-32-10"),
        pytest.param("MADRS", 32, 11, Outcome(True, False, Decimal("65.6")), id="MADRS-32-11"),
        pytest.param("QIDS-SR16", 14, 5, Outcome(True, True, Decimal("64.3")), id="QIDS-14-5"),
        pytest.param("PHQ-9", 10, 15, Outcome(False, False, Decimal("-50.0")), id="PHQ-9-worse"),
        pytest.param("PHQ-9", 0, 0, Outcome(None, True, None), id="PHQ-9-baseline-0"),
        pytest.param("PHQ-9", None, 3, Outcome(None, True, None), id="PHQ-9-no-baseline"),
        pytest.param("PHQ-9", 20, None, Outcome(None, None, None), id="PHQ-9-no-current"),
        pytest.param(
            "GAD-7", 20, 4, Outcome(True, None, Decimal("80.0")), id="GAD-7-no-remission-rule"
        ),
    ],
)
def test_response_status(code, baseline, current, expected):
    assert response_status(code, baseline, current) == expected


def test_response_status_rejects_impossible_totals():
    with pytest.raises(ValidationError):
        response_status("PHQ-9", 28, 10)
    with pytest.raises(UnknownInstrument):
        response_status("HAM-D", 20, 10)


# --- Every registered instrument -----------------------------------------------------------


def test_registry_order_and_codes():
    assert instruments.codes() == (
        "PHQ-9",
        "GAD-7",
        "QIDS-SR16",
        "PCL-5",
        "MADRS",
        "CADSS",
        "BPRS+",
        "MOAA/S",
    )
    raters = [instrument.rater for instrument in instruments.all_instruments()]
    assert raters == sorted(raters, key=lambda rater: rater != "patient")


@pytest.mark.parametrize(
    ("code", "licence", "enabled"),
    [
        pytest.param("PHQ-9", "free", True, id="PHQ-9"),
        pytest.param("GAD-7", "free", True, id="GAD-7"),
        pytest.param("PCL-5", "public domain", True, id="PCL-5"),
        pytest.param("MOAA/S", "clinician score only", True, id="MOAA/S"),
        pytest.param("QIDS-SR16", "terms unconfirmed", False, id="QIDS-SR16"),
        pytest.param("MADRS", "terms unconfirmed", False, id="MADRS"),
        pytest.param("CADSS", "terms unconfirmed", False, id="CADSS"),
        pytest.param("BPRS+", "terms unconfirmed", False, id="BPRS+"),
    ],
)
def test_licensing(code, licence, enabled):
    instrument = instruments.get(code)
    assert instrument.licence == licence
    assert instrument.enabled_by_default is enabled
    has_text = any(item.text for item in instrument.items)
    assert has_text is (licence in ("free", "public domain"))


EXPECTED_RANGES = {
    "PHQ-9": (9, 0, 27),
    "GAD-7": (7, 0, 21),
    "QIDS-SR16": (16, 0, 27),
    "PCL-5": (20, 0, 80),
    "MADRS": (10, 0, 60),
    "CADSS": (23, 0, 92),
    "BPRS+": (4, 4, 28),
    "MOAA/S": (1, 0, 5),
}


@pytest.mark.parametrize("code", list(EXPECTED_RANGES))
def test_min_and_max_answers_give_min_and_max_total(code):
    instrument = instruments.get(code)
    scored, min_total, max_total = EXPECTED_RANGES[code]
    assert len(instrument.scored_items) == scored
    assert (instrument.min_total, instrument.max_total) == (min_total, max_total)
    lowest = score(code, [item.min_value for item in instrument.items])
    highest = score(code, [item.max_value for item in instrument.items])
    assert lowest.complete and highest.complete
    assert lowest.total == min_total
    assert highest.total == max_total


def test_every_registered_instrument_has_a_range_entry():
    assert set(instruments.codes()) == set(EXPECTED_RANGES)


@pytest.mark.parametrize("code", list(EXPECTED_RANGES))
def test_versions_name_the_instrument(code):
    instrument = instruments.get(code)
    assert instrument.version.startswith(code)
    assert instrument.version.endswith(("v1", "labels", "items", "1-7", "paraphrase", "33"))
