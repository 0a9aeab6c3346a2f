"""The prescriber takes a demo patient from consultation to an approved plan in the browser,
signing each note, then checks the chart."""

import re

from tests.e2e.conftest import assert_no_serious_axe_violations, login

# Riverside patient number 11 (Logan Notreal) has no course in the demo data.
PATIENT = "Notreal"


def submit(page, button_name):
    with page.expect_navigation():
        page.get_by_role("button", name=button_name).click()
    assert page.locator(".invalid-feedback:visible").count() == 0, page.locator(
        ".invalid-feedback:visible"
    ).all_inner_texts()


def open_course(page):
    """Back to the course overview through the breadcrumb."""
    with page.expect_navigation():
        page.get_by_label("Breadcrumb").get_by_role("link", name="Treatment-resistant").click()


def test_prescriber_takes_a_patient_from_consultation_to_an_approved_plan(demo_site, new_page):
    page = new_page("desktop")
    login(page, demo_site, "prescriber")

    page.goto(f"{demo_site}/patients/?q={PATIENT}")
    page.get_by_role("link", name=re.compile(PATIENT)).first.click()
    page.get_by_role("link", name="Open a course").click()
    page.get_by_label("Racemic ketamine").check()
    submit(page, "Open course")

    # Consultation, signed by its author.
    page.get_by_role("link", name="Open consultation").click()
    page.select_option("select[name=referral_source]", "psychiatrist")
    page.fill("textarea[name=presenting_problem]", "Two years of low mood despite treatment.")
    page.fill("textarea[name=diagnoses]", "F33.2 Major depressive disorder, recurrent, severe")
    page.select_option("select[name=consent_kind]", "off_label")
    page.fill("input[name=consent_version]", "2026-01")
    page.fill("input[name=consent_signed_on]", "2026-11-20")
    page.select_option("select[name=consent_obtained_by]", label="Priya Prescott, MD")
    submit(page, "Save and sign")
    assert page.get_by_text("Signed by").first.is_visible()

    # Assessment: checklist, measurements, the prescriber's decision and signature.
    open_course(page)
    submit(page, "Move to assessment")
    page.get_by_role("link", name="Open assessment").click()
    submit(page, "Start assessment")
    for radio in page.locator("input[type=radio][name^='answer__'][value=no]").all():
        page.locator(f"label[for='{radio.get_attribute('id')}']").click()
    for name, value in {
        "height_cm": "170", "weight_kg": "70.0", "systolic_1": "124", "diastolic_1": "78",
        "systolic_2": "120", "diastolic_2": "76", "heart_rate": "70", "spo2": "98",
        "respiratory_rate": "14", "baseline_phq9": "19",
    }.items():  # fmt: skip
        page.fill(f"input[name={name}]", value)
    page.select_option("select[name=suicide_risk]", "low")
    page.locator("input[name=decision][value=eligible]").check()
    submit(page, "Save and sign")
    assert page.get_by_text("Signed by").first.is_visible()
    assert_no_serious_axe_violations(page)

    # Plan: computed before approval, then approved and signed.
    open_course(page)
    submit(page, "Move to planning")
    page.get_by_role("link", name="Open plan").click()
    page.select_option("select[name=route]", "iv")
    page.select_option("select[name=dose_mode]", "mg_per_kg")
    for name, value in {
        "mg_per_kg": "0.5", "mg_per_kg_min": "0.5", "mg_per_kg_max": "0.75",
        "max_dose_mg": "90", "concentration_mg_per_ml": "10", "final_volume_ml": "100",
        "infusion_minutes": "40",
    }.items():  # fmt: skip
        page.fill(f"input[name={name}]", value)
    submit(page, "Save draft")
    body = page.locator("main").inner_text()
    # DOMAIN.md D1: 70 kg x 0.5 mg/kg at 10 mg/mL, 100 mL over 40 min.
    assert "35.0 mg" in body and "3.50 mL" in body and "150.0 mL/h" in body
    submit(page, "Approve and sign")
    assert "Approved" in page.locator("main").inner_text()
    assert_no_serious_axe_violations(page)

    # The chart: the course is in planning with its signed steps on the timeline.
    open_course(page)
    timeline = page.locator("main").inner_text()
    assert "Planning" in timeline
    for step in ("Consultation", "Assessment: Eligible", "Plan v1 (Approved)"):
        assert step in timeline, step
    assert page.locator("main").get_by_text("Unsigned").count() == 0
