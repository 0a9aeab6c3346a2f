"""The demo patient writes today's mood journal and a PHQ-9 on a phone. The PHQ-9's item 9
shows the crisis resources at once and raises a safety alert; the prescriber closes it on a
desktop, then finds the new score and today's journal on the patient's outcome charts."""

from tests.e2e.conftest import SCREENSHOT_DIR, assert_no_serious_axe_violations, login

JOURNAL = {"Mood": "7", "Energy": "6", "Anxiety": "3"}
SLEEP_HOURS = "6.5"
# PHQ-9 items 1-9 by option label; item 9 (self-harm thoughts) at 1 raises the alert. The
# total, 8, differs from every demo PHQ-9 and is less than 5 above the latest (7), so no
# "worsening" alert is raised beside the safety one.
PHQ9_ANSWERS = ["Several days"] * 7 + ["Not at all", "Several days"]
PHQ9_TOTAL = 8
ALERT_ACTION = "Contacted the patient and assessed risk"
ALERT_NOTE = "Called at once: passive thoughts, no plan or intent. Safety plan reviewed."


def _shot(page, name):
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / name), full_page=True)


def _submit(page, button_name):
    """Clicks a submit button; returns the response that ends the navigation."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button_name).click()
    page.wait_for_load_state("load")
    return navigation.value


def _follow(page, link):
    with page.expect_navigation():
        link.click()
    page.wait_for_load_state("load")


def _score_radio(page, group, score):
    return (
        page.get_by_role("radiogroup", name=group, exact=True)
        .get_by_role("radio", name=score, exact=True)
    )  # fmt: skip


def _fill_journal(page):
    for group, score in JOURNAL.items():
        # The radios are hidden behind buttons (Bootstrap's btn-check): tap the number.
        page.get_by_role("radiogroup", name=group, exact=True).get_by_text(
            score, exact=True
        ).click()
        assert _score_radio(page, group, score).is_checked(), group
    page.get_by_label("Hours of sleep last night").fill(SLEEP_HOURS)
    page.locator("#div_id_safety_thoughts").get_by_label("No", exact=True).check()


def _today(patient):
    from clinic.measures.services import patient_local_date

    return patient_local_date(patient)


def _todays_entries(patient):
    from clinic.measures.models import MoodJournalEntry

    return MoodJournalEntry.objects.filter(patient=patient, entry_date=_today(patient))


def _patient_writes_todays_journal(page, base_url, patient):
    login(page, base_url, "patient")
    assert page.url == f"{base_url}/me/", page.url
    assert not _todays_entries(patient).exists()
    _follow(page, page.get_by_role("link", name="Write today's journal"))
    assert page.locator("select[name=entry_date]").input_value() == _today(patient).isoformat()
    _fill_journal(page)
    _shot(page, "portal-journal-390.png")
    assert_no_serious_axe_violations(page)
    key = page.locator("input[name=submission_key]").input_value()

    response = _submit(page, "Save my entry")
    assert response.status == 200 and page.url == f"{base_url}/me/", (response.status, page.url)
    assert "Your journal entry is saved" in page.locator(".messages").inner_text()
    today_card = page.get_by_role("region", name="Today")
    assert "You wrote today's journal entry: mood 7 of 10" in today_card.inner_text()
    assert page.get_by_role("link", name="Write today's journal").count() == 0
    entries = list(_todays_entries(patient))
    assert len(entries) == 1, entries
    entry = entries[0]
    assert (entry.mood, entry.energy, entry.anxiety) == (7, 6, 3)
    assert str(entry.sleep_hours) == SLEEP_HOURS and entry.safety_thoughts is False
    assert str(entry.submission_key) == key
    return key


def _patient_sends_the_journal_again(page, base_url, patient, first_key):
    """Back to the filled form and send it again, then replay the first POST itself: still
    one entry for today, and never a server error."""
    page.go_back()
    page.wait_for_load_state("load")
    assert page.url == f"{base_url}/me/journal/new/", page.url
    key = page.locator("input[name=submission_key]").input_value()
    if not _score_radio(page, "Mood", JOURNAL["Mood"]).is_checked():
        _fill_journal(page)  # the browser did not keep the answers: give them again
    response = _submit(page, "Save my entry")
    assert response.status < 500, response.status
    if key == first_key:
        # The same form sent twice: the service hands back the entry it already saved.
        assert response.status == 200 and page.url == f"{base_url}/me/", response.status
    else:
        # A fresh form for a day that already has an entry: refused beside the date.
        assert response.status == 400 and page.url == f"{base_url}/me/journal/new/"
        date = page.locator("select[name=entry_date]")
        assert "is-invalid" in date.get_attribute("class")
        assert (
            "already wrote an entry for this day"
            in page.locator("select[name=entry_date] ~ .invalid-feedback").inner_text()
        )
        # Chromium logs every 4xx document as a console error; this one is the point here.
        expected = f"status of 400 (Bad Request) ({base_url}/me/journal/new/)"
        noise = [e for e in page.console_errors if e.startswith("console:") and expected in e]
        assert len(noise) == 1, page.console_errors
        page.console_errors.remove(noise[0])
    assert _todays_entries(patient).count() == 1

    # A double tap whose two requests both reach the server: the first form's POST again.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    replay = page.request.post(
        f"{base_url}/me/journal/new/",
        form={
            "csrfmiddlewaretoken": csrf,
            "submission_key": first_key,
            "entry_date": _today(patient).isoformat(),
            "sleep_hours": SLEEP_HOURS,
            "safety_thoughts": "no",
            **{group.lower(): score for group, score in JOURNAL.items()},
        },
        max_redirects=0,
    )
    assert replay.status == 302, (replay.status, replay.text()[:500])
    assert replay.headers["location"] == "/me/", replay.headers["location"]
    assert _todays_entries(patient).count() == 1


def _patient_answers_phq9_with_item_9(page, base_url, patient):
    from clinic.measures.models import InstrumentResponse

    page.goto(f"{base_url}/me/questionnaires/phq-9/")
    assert page.locator("h1").inner_text() == "Patient Health Questionnaire-9"
    assert page.locator(".crisis").count() == 0
    for number, answer in enumerate(PHQ9_ANSWERS, start=1):
        question = page.locator(f"#div_id_item_{number}")
        question.locator("label", has_text=answer).click()
        assert question.get_by_label(answer, exact=True).is_checked(), number

    response = _submit(page, "Send my answers")
    assert response.status == 200 and "/me/answers/" in page.url, (response.status, page.url)
    # The crisis resources come first, before the score, with no further step.
    crisis = page.locator(".crisis")
    assert crisis.count() == 1 and crisis.is_visible()
    assert crisis.get_attribute("role") == "alert"
    assert "988" in crisis.inner_text()
    assert page.get_by_role("alert").filter(has_text="988").count() == 1
    assert crisis.bounding_box()["y"] < page.locator("h1").bounding_box()["y"]
    assert page.locator(".stat").inner_text() == str(PHQ9_TOTAL)
    _shot(page, "portal-phq9-crisis-390.png")
    assert_no_serious_axe_violations(page)

    latest = InstrumentResponse.objects.filter(patient=patient, instrument_code="PHQ-9").latest(
        "completed_at", "id"
    )
    assert latest.total == PHQ9_TOTAL and latest.safety_alert
    assert str(latest.public_id) in page.url


def _prescriber_closes_the_alert(page, base_url, patient, prescriber):
    from clinic.measures.models import SafetyAlert

    login(page, base_url, "prescriber")
    assert page.url == f"{base_url}/clinician/", page.url
    banner = page.get_by_role("alert").filter(has_text="open safety alert")
    assert banner.count() == 1 and "1 open safety alert" in banner.inner_text()
    _follow(page, banner.get_by_role("link", name="Review alerts"))
    assert page.url.startswith(f"{base_url}/measures/alerts/"), page.url

    alert = SafetyAlert.objects.get(patient=patient, status=SafetyAlert.Status.OPEN)
    assert alert.reason.startswith("PHQ-9:") and "Item 9" in alert.reason, alert.reason
    newest = page.locator("main table tbody tr").first
    assert "Example, Avery" in newest.inner_text() and alert.reason in newest.inner_text()
    _follow(page, newest.get_by_role("link").first)
    assert page.url == f"{base_url}/measures/alerts/{alert.public_id}/", page.url
    assert_no_serious_axe_violations(page)

    page.get_by_label(ALERT_ACTION, exact=True).check()
    page.get_by_label("Note (optional)").fill(ALERT_NOTE)
    response = _submit(page, "Record and close the alert")
    assert response.status == 200, response.status
    card = page.get_by_role("region", name=alert.reason)
    assert "Action recorded" in card.locator(".badge").inner_text()
    for text in (ALERT_ACTION, prescriber.display_name, ALERT_NOTE):
        assert text in card.inner_text(), text
    assert page.get_by_role("button", name="Record and close the alert").count() == 0

    alert.refresh_from_db()
    assert alert.status == SafetyAlert.Status.ACTIONED == "actioned"
    assert alert.actioned_by == prescriber and alert.action == "contacted"
    assert alert.action_note == ALERT_NOTE


def _prescriber_sees_the_outcome_charts(page, base_url, patient, phq9_count):
    page.goto(f"{base_url}/measures/patients/{patient.public_id}/outcomes/")
    assert page.locator(".alert-danger", has_text="Open safety alert").count() == 0
    phq9 = page.wait_for_function(
        """() => {
            const chart = Chart.getChart(document.querySelector('canvas[data-instrument="PHQ-9"]'));
            if (!chart) return null;
            const points = chart.data.datasets[0].data;
            return {count: points.length, last: points[points.length - 1].y,
                    drawn: chart.chartArea.width > 0 && chart.canvas.width > 0};
        }"""
    ).json_value()
    assert phq9 == {"count": phq9_count, "last": PHQ9_TOTAL, "drawn": True}, phq9
    journal = page.evaluate(
        """today => {
            const chart = Chart.getChart(document.getElementById("journal-chart"));
            const mood = chart.data.datasets[0].data;
            const sleep = chart.data.datasets[3].data;
            return {lastX: mood[mood.length - 1].x, lastMood: mood[mood.length - 1].y,
                    lastSleep: sleep[sleep.length - 1].y,
                    today: new Date(today + "T12:00:00").getTime()};
        }""",
        _today(patient).isoformat(),
    )
    assert journal["lastX"] == journal["today"], journal
    assert (journal["lastMood"], journal["lastSleep"]) == (7, float(SLEEP_HOURS)), journal
    _shot(page, "clinician-outcomes-1280.png")
    assert_no_serious_axe_violations(page)


def test_patient_journal_and_phq9_alert_reach_the_prescriber(demo_site, new_page):
    from django.contrib.auth import get_user_model

    from clinic.measures.models import InstrumentResponse
    from clinic.patients.models import Patient

    patient = Patient.objects.get(user__username="patient")
    prescriber = get_user_model().objects.get(username="prescriber")
    assert patient.given_name == "Avery" and patient.family_name == "Example"
    phq9 = InstrumentResponse.objects.filter(patient=patient, instrument_code="PHQ-9")
    phq9_before = phq9.count()
    assert phq9_before > 0

    phone = new_page("phone")
    first_key = _patient_writes_todays_journal(phone, demo_site, patient)
    _patient_sends_the_journal_again(phone, demo_site, patient, first_key)
    _patient_answers_phq9_with_item_9(phone, demo_site, patient)
    assert phq9.count() == phq9_before + 1
    assert phone.console_errors == []

    desktop = new_page("desktop")
    _prescriber_closes_the_alert(desktop, demo_site, patient, prescriber)
    _prescriber_sees_the_outcome_charts(desktop, demo_site, patient, phq9_before + 1)
    assert desktop.console_errors == []
