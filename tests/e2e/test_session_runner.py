"""The nurse runs a whole IV ketamine session in the browser, from the session seeded for today
to the signed record: check-in, checklist, baseline, dose, ledger (draw, administer, witnessed
waste), infusion, five readings with a critical one acknowledged, a side effect, discharge."""

import datetime
import re
from unittest import mock

from django.utils import timezone

from tests.e2e.conftest import (
    DEMO_PASSWORD,
    SCREENSHOT_DIR,
    assert_no_serious_axe_violations,
    login,
)

TABLET = {"width": 1280, "height": 800}


def _shot(page, name):
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"session-runner-{name}.png"), full_page=True)


def _submit(page, selector):
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state("load")


def _save_reading(page, values, expected_rows):
    for name, value in values.items():
        page.fill(f"#vitals-panel #id_{name}", value)
    page.click("#vitals-panel button:has-text('Save reading')")
    page.wait_for_function(
        "n => document.querySelectorAll('#vitals-panel tbody th[scope=row]').length === n",
        arg=expected_rows,
    )


def test_nurse_runs_a_whole_iv_session(demo_site, new_page):
    from clinic.pathway.models import AdministrationSession

    session = AdministrationSession.objects.get(status="scheduled")
    page = new_page(TABLET)
    login(page, demo_site, "nurse")
    # Today's sessions on the home page lead to the runner.
    _submit(page, f"a[href='/sessions/{session.public_id}/']")
    assert page.locator("h1").inner_text().startswith(session.course.patient.display_name)

    page.check("#id_identity_confirmed")
    _submit(page, "#check-in button[type=submit]")
    for label in page.locator("#checklist label.btn-outline-success").all():
        label.click()
    _submit(page, "#checklist button:has-text('Save answers')")
    # Baseline vitals: the htmx answer reloads the page so the go/no-go panel updates.
    page.select_option("#vitals-panel #id_phase", "baseline")
    with page.expect_navigation():
        for name, value in {"systolic": "126", "diastolic": "80", "heart_rate": "72",
                            "spo2": "98", "respiratory_rate": "14", "temperature_c": "36.6",
                            "moaas": "5", "cadss": "0"}.items():  # fmt: skip
            page.fill(f"#vitals-panel #id_{name}", value)
        page.click("#vitals-panel button:has-text('Save reading')")
    page.wait_for_load_state("load")
    _shot(page, "1-checked-in")
    assert_no_serious_axe_violations(page)
    _submit(page, "button:has-text('Checks passed: ready to dose')")

    # The calculated dose shows before it is confirmed: 85.5 kg x 0.5 mg/kg at 10 mg/mL.
    calc = page.locator(".dose-calc").inner_text()
    assert "42.8 mg" in calc and "4.28 mL" in calc and "150.0 mL/h" in calc
    _submit(page, "button:has-text('Confirm dose')")
    lot = page.eval_on_selector(
        "#ledger #id_lot", "s => [...s.options].find(o => o.text.includes('KX2401')).value"
    )
    page.select_option("#ledger #id_lot", lot)
    page.fill("#ledger #id_ml", "4.50")
    _submit(page, "#ledger button:has-text('Record draw')")
    page.fill("#ledger input[name$='-quantity'] >> nth=0", "4.28")
    _submit(page, "#ledger button:has-text('Record administration')")
    page.select_option("#ledger select[name$='-witness']", label="Priya Prescott")
    page.fill("#ledger input[name$='-witness_password']", DEMO_PASSWORD)
    page.fill("#ledger textarea[name$='-reason']", "Left in the syringe")
    _submit(page, "#ledger button:has-text('Record witnessed waste')")
    assert "reconciled" in page.locator("#ledger").inner_text()
    _shot(page, "2-ready")
    assert_no_serious_axe_violations(page)
    _submit(page, "button:has-text('Start the infusion now')")

    # Four readings during the infusion through htmx (no reload), one of them critical.
    url_before = page.url
    _save_reading(page, {"systolic": "132", "diastolic": "84", "heart_rate": "76",
                         "spo2": "97", "moaas": "4"}, 2)  # fmt: skip
    _save_reading(page, {"systolic": "186", "diastolic": "98", "heart_rate": "90",
                         "spo2": "96", "moaas": "4", "cadss": "16"}, 3)  # fmt: skip
    _save_reading(page, {"systolic": "140", "diastolic": "88", "heart_rate": "82",
                         "spo2": "97"}, 4)  # fmt: skip
    assert page.url == url_before
    assert page.locator("#vitals-panel .vital-critical").count() == 1
    page.fill("#vitals-panel .ack-form input[name=action_taken]", "Infusion slowed; BP rechecked")
    page.click("#vitals-panel .ack-form button")
    page.wait_for_selector("#vitals-panel :text('Acknowledged by')")
    _save_reading(page, {"systolic": "128", "diastolic": "82", "heart_rate": "74",
                         "spo2": "98", "moaas": "5", "cadss": "2"}, 5)  # fmt: skip
    assert page.locator("#session-chart").count() == 1
    assert re.fullmatch(r"\d+:\d\d:\d\d", page.locator("[data-session-timer]").inner_text())
    _shot(page, "3-dosing")
    assert_no_serious_axe_violations(page)

    page.click("#side-effects summary")
    page.select_option("#id_term", "NAUSEA")
    page.check("#id_grade_0")
    page.select_option("#id_relatedness", "probable")
    page.select_option("#id_action_taken", "none")
    page.select_option("#id_outcome", "recovering")
    page.fill("#id_verbatim", "A little queasy")
    _submit(page, "#side-effects button:has-text('Save side effect')")
    _submit(page, "button:has-text('Infusion ended')")

    # Observation (30 minutes after the infusion for IV) passes on a moved clock.
    later = timezone.now() + datetime.timedelta(minutes=45)
    with mock.patch("django.utils.timezone.now", return_value=later):
        # 45 minutes without a touch: the staff idle timeout has signed the nurse out.
        page.reload()
        assert "/accounts/login/" in page.url
        assert "signed out after 15 minutes of inactivity" in page.content()
        login(page, demo_site, "nurse")
        page.goto(f"{demo_site}/sessions/{session.public_id}/")
        for label in page.locator("#discharge label.btn-outline-success").all():
            label.click()
        _submit(page, "#discharge button:has-text('Save answers')")
        _submit(page, "button:has-text('Ready for discharge')")
        page.fill("#id_escort_name", "Jordan Example")
        page.fill("#id_escort_relationship", "Partner")
        page.fill("#id_escort_phone", "+1 555 0150")
        _shot(page, "4-ready-for-discharge")
        assert_no_serious_axe_violations(page)
        _submit(page, "button:has-text('Discharge and sign')")
    session.refresh_from_db()
    assert session.status == "discharged" and session.hash_is_intact()
    assert "content matches the signature" in page.content()

    _submit(page, "a:has-text('Open the session record')")
    record = page.locator("main").inner_text()
    for text in ("42.8 mg", "Lot KX2401", "Acknowledged by", "Infusion slowed; BP rechecked",
                 "Nausea", "186/98", "Jordan Example", session.content_hash):  # fmt: skip
        assert text in record, text
    assert page.locator(".readings-table tbody tr").count() == 5
    _shot(page, "5-record")
    assert_no_serious_axe_violations(page)
    assert page.console_errors == []
