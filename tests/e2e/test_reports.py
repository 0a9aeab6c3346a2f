"""The clinic admin opens the reports dashboard, changes its date range, follows its link to
the exports with that range, and downloads a CSV whose rows are the database's."""

import csv
import datetime
import io
import zoneinfo

from django.utils import timezone

from tests.e2e.conftest import SCREENSHOT_DIR, login


def _submit(page, selector):
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state("load")


def test_clinic_admin_downloads_the_dashboard_range_as_csv(demo_site, new_page):
    from clinic.exports.selectors import local_bounds
    from clinic.pathway.models import AdministrationSession
    from clinic.patients.models import ClinicMembership

    clinic = ClinicMembership.objects.get(user__username="clinicadmin", role="admin").clinic
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(clinic.timezone))
    start, end = today - datetime.timedelta(days=60), today + datetime.timedelta(days=14)

    page = new_page("desktop")
    login(page, demo_site, "clinicadmin")
    page.goto(f"{demo_site}/reports/")
    page.fill("input[name=start]", start.isoformat())
    page.fill("input[name=end]", end.isoformat())
    _submit(page, "form button[type=submit]:has-text('Show')")
    assert f"start={start.isoformat()}" in page.url

    _submit(page, "a[href^='/exports/']")
    assert page.input_value("input[name=start]") == start.isoformat()
    assert page.input_value("input[name=end]") == end.isoformat()
    page.select_option("select[name=kind]", "sessions")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "exports-index.png"), full_page=True)
    with page.expect_download() as download_info:
        page.click("button:has-text('Download CSV')")
    download = download_info.value
    assert download.suggested_filename == (
        f"{clinic.name.lower().replace(' ', '-')}-sessions-{start}-to-{end}.csv"
    )
    raw = open(download.path(), "rb").read()  # noqa: SIM115
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))

    since, before = local_bounds(start, end, clinic.timezone)
    expected = list(
        AdministrationSession.objects.filter(
            course__patient__clinic=clinic, scheduled_at__gte=since, scheduled_at__lt=before
        )
        .order_by("scheduled_at", "id")
        .values_list("public_id", "session_number", "status")
    )
    assert expected, "the demo clinic has sessions in the range"
    assert [(r["session_id"], r["session_number"], r["status"]) for r in rows] == [
        (str(public_id), str(number), status) for public_id, number, status in expected
    ]
    assert page.console_errors == []
