"""The Content-Security-Policy holds in a real browser: no page the clinic's people use trips
it (htmx, Chart.js and Bootstrap all work without inline script or style), and an injected
inline script is refused."""

from tests.e2e.conftest import login

# Records every violation the browser reports, before any page script runs. Init scripts
# are injected by the browser itself, so the policy does not apply to this one.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`);
});
"""


def _visit(page, url):
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    assert response.status == 200, f"{url} answered {response.status}"
    return response


def _violations(page):
    reported = page.evaluate("window.__cspViolations")
    logged = [e for e in page.console_errors if "Content Security Policy" in e]
    return reported + logged


def _browse(new_page, base_url, username, paths):
    page = new_page("desktop")
    page.add_init_script(RECORD_VIOLATIONS)
    if username:
        login(page, base_url, username)
    seen = {}
    for path in paths:
        response = _visit(page, base_url + path)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        seen[path] = _violations(page)
    return page, seen


def test_no_page_of_any_role_trips_the_policy(demo_site, new_page):
    from clinic.pathway.models import AdministrationSession
    from clinic.patients.models import Patient

    session = AdministrationSession.objects.filter(status="scheduled").first()
    patient = session.course.patient
    portal_patient = Patient.objects.get(user__username="patient")
    visits = {
        None: ["/accounts/login/", "/accounts/password/reset/"],
        "nurse": [
            "/clinician/",
            f"/sessions/{session.public_id}/",
            f"/patients/{patient.public_id}/",
            f"/measures/patients/{portal_patient.public_id}/outcomes/",
            "/ledger/",
        ],
        "clinicadmin": ["/clinic-admin/", "/ledger/count-sheet/", "/measures/settings/"],
        "patient": ["/me/", "/me/journal/new/", "/me/progress/", "/me/reminders/"],
    }
    failures = {}
    for username, paths in visits.items():
        _page, seen = _browse(new_page, demo_site, username, paths)
        failures.update({f"{username}: {path}": found for path, found in seen.items() if found})
    assert failures == {}


def test_an_injected_inline_script_does_not_run(demo_site, new_page):
    page = new_page("desktop")
    page.add_init_script(RECORD_VIOLATIONS)
    login(page, demo_site, "nurse")
    _visit(page, f"{demo_site}/clinician/")
    # What a stored-XSS payload that slipped past escaping would do: it must be refused.
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__injected = true";
          document.body.appendChild(script);
          const div = document.createElement("div");
          div.innerHTML = '<img src="x" onerror="window.__handler = true">';
          document.body.appendChild(div);
        }"""
    )
    page.wait_for_function("window.__cspViolations.length >= 2")
    assert page.evaluate("window.__injected === undefined && window.__handler === undefined")
    violations = page.evaluate("window.__cspViolations")
    assert any(v.startswith("script-src-elem") for v in violations), violations
    assert any(v.startswith("script-src-attr") for v in violations), violations
