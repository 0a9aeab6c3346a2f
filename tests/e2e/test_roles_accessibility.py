"""Every page each demo role can reach: it loads, has a heading, passes axe, logs no errors.

Screenshots of each page visited go to screenshots/e2e/ (git-ignored) for a human to look at.
"""

import re
from collections import deque
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest

from tests.e2e.conftest import (
    SCREENSHOT_DIR,
    VIEWPORTS,
    assert_no_serious_axe_violations,
    login,
)

ROLE_HOMES = {
    "prescriber": "/clinician/",
    "nurse": "/clinician/",
    "clinicadmin": "/clinic-admin/",
    "patient": "/me/",
}
MAX_PAGES_PER_ROLE = 60
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ANONYMOUS_PAGES = ["/accounts/login/", "/accounts/password/reset/"]
# Seeded by seed_demo into Riverside Demo Clinic; the other clinic has "Pretend, Avery".
RIVERSIDE_PATIENT = "Example, Avery"
HILLSIDE_PATIENT = "Pretend, Avery"


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request):
    return request.param


def _slug(url):
    parts = urlsplit(url)
    text = parts.path.strip("/") + (f"?{parts.query}" if parts.query else "")
    # Shorten UUIDs so the names stay readable; the page number keeps them unique.
    text = re.sub(r"([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", r"\1", text)
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60] or "root"


def _crawlable(url, origin):
    """The normalised URL if the crawl should visit it, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != origin:
        return None
    path = parts.path or "/"
    if "logout" in path or path.startswith("/admin/"):
        return None
    if path.startswith("/accounts/") and path != "/accounts/password/change/":
        return None
    if any(number != "1" for number in parse_qs(parts.query).get("page", [])):
        return None
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _page_kind(url):
    """One visit per kind of page: the path with its ids blanked, without the query.

    Twenty patient charts are the same template twenty times; visiting one of each kind keeps
    the crawl short as pages are added, while every kind of page still gets its axe scan.
    """
    return UUID.sub("<id>", urlsplit(url).path)


def _check_page(page, response, url):
    assert response is not None, f"no response for {url}"
    assert response.status < 400, f"{url} returned HTTP {response.status}"
    heading = page.locator("h1").first
    assert heading.count() == 1, f"{url} has no <h1>"
    assert heading.is_visible(), f"{url} has an <h1> but it is not visible"
    assert_no_serious_axe_violations(page)
    assert page.console_errors == [], f"console errors on {url}: {page.console_errors}"


@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_anonymous_pages_are_accessible(demo_site, new_page, viewport, path):
    page = new_page(viewport)
    url = demo_site + path
    response = page.goto(url)
    _check_page(page, response, url)


@pytest.mark.parametrize("role", list(ROLE_HOMES))
def test_every_page_a_role_reaches_is_accessible(demo_site, new_page, viewport, role):
    page = new_page(viewport)
    login(page, demo_site, role)
    assert urlsplit(page.url).path == ROLE_HOMES[role], f"{role} landed on {page.url}"

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    prefix = f"{viewport}-{role}-"
    for old in SCREENSHOT_DIR.glob(f"{prefix}*.png"):
        old.unlink()  # patient URLs hold fresh UUIDs each run; keep only this run's pictures

    origin = urlsplit(demo_site).netloc
    start = _crawlable(page.url, origin)
    queue, seen, visited = deque([start]), {_page_kind(start)}, []
    while queue and len(visited) < MAX_PAGES_PER_ROLE:
        url = queue.popleft()
        response = page.goto(url)
        visited.append(url)
        _check_page(page, response, url)
        page.screenshot(
            path=str(SCREENSHOT_DIR / f"{prefix}{len(visited):02d}-{_slug(url)}.png"),
            full_page=True,
        )
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for href in hrefs:
            link = _crawlable(href, origin)
            if link is not None and _page_kind(link) not in seen:
                seen.add(_page_kind(link))
                queue.append(link)

    reached = {urlsplit(url).path for url in visited}
    assert ROLE_HOMES[role] in reached
    if role != "patient":
        # The crawl must get past the home page, or it proves nothing about the rest.
        assert "/patients/" in reached, f"{role}'s crawl never reached /patients/: {visited}"
        assert any(re.fullmatch(r"/patients/[0-9a-f-]{36}/", path) for path in reached)


def test_patient_cannot_open_staff_pages(demo_site, new_page):
    page = new_page("desktop")
    login(page, demo_site, "patient")
    response = page.goto(f"{demo_site}/patients/")
    assert response.status == 403
    assert RIVERSIDE_PATIENT not in page.content()


def test_other_clinic_clinician_sees_only_their_clinic(demo_site, new_page):
    from clinic.patients.models import Patient

    page = new_page("desktop")
    login(page, demo_site, "otherclinician")
    response = page.goto(f"{demo_site}/patients/")
    assert response.status == 200
    assert RIVERSIDE_PATIENT not in page.locator("main").inner_text()

    response = page.goto(f"{demo_site}/patients/?q=Avery")
    assert response.status == 200
    names = page.locator("main table tbody").inner_text()
    assert HILLSIDE_PATIENT in names  # the search works, so the absence below means something
    assert RIVERSIDE_PATIENT not in names

    riverside = Patient.objects.get(given_name="Avery", family_name="Example")
    response = page.goto(f"{demo_site}/patients/{riverside.public_id}/")
    assert response.status in (403, 404)
    assert "Example" not in page.locator("main").inner_text()


def test_wrong_password_shows_error_and_keeps_username(demo_site, new_page):
    page = new_page("desktop")
    page.goto(f"{demo_site}/accounts/login/")
    page.fill("input[name=login]", "nurse")
    page.fill("input[name=password]", "not-the-password")
    with page.expect_navigation():
        page.click("form button[type=submit]")

    assert urlsplit(page.url).path == "/accounts/login/"
    error = page.locator("main form .alert-danger, main form [role=alert]").first
    assert error.is_visible(), "no error message after a wrong password"
    assert "not correct" in error.inner_text()
    assert page.input_value("input[name=login]") == "nurse"
    assert page.input_value("input[name=password]") == ""
    assert_no_serious_axe_violations(page)
