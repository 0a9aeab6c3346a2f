"""Property-based fuzzing (hypothesis) of every form on every page.

The forms are found the way a browser finds them: each page of the URL meta-test's registry
(tests/core/test_url_access.py) is opened by a user who may see it, and every <form> in it
is filled with generated values (the offered choices, numbers, dates and hostile text) and
submitted. No answer may be a server error, and no record may end up invalid.
"""

import uuid
from html.parser import HTMLParser
from urllib.parse import urljoin

import pghistory.models
import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.test_url_access import (
    OBJECT_URL_KWARGS,
    OBJECT_URL_OWNERS,
    PARAMETER_ROLE_URLS,
    ROLE_URLS,
    World,
    _url_for,
)

# Signing out, or changing the signed-in user's own credentials, would end the walk.
SKIPPED_ACTIONS = ("/accounts/logout/", "/accounts/password/", "/accounts/email/", "/accounts/2fa/")

HOSTILE_TEXT = st.sampled_from(
    [
        "", " ", "0", "-1", "1e309", "NaN", "9" * 40, "2026-02-30", "25:61", "x" * 5000,
        "<script>x()</script>", "' OR 1=1 --", "\x00", "ü漢字🙂", "\u202e", "../../etc/passwd",
        "=HYPERLINK(\"http://x\")", "null", "true", "[]", "{}",
    ]
)  # fmt: skip


class FormFinder(HTMLParser):
    """Collects each form's method, action and fields (with the options a select offers)."""

    def __init__(self):
        super().__init__()
        self.forms, self._form, self._select = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {
                "method": (attrs.get("method") or "get").lower(),
                "action": attrs.get("action") or "",
                "fields": {},
            }
            self.forms.append(self._form)
        elif self._form is None or not attrs.get("name"):
            return
        elif tag in ("input", "textarea"):
            kind = (attrs.get("type") or "text").lower() if tag == "input" else "textarea"
            choices = self._form["fields"].setdefault(attrs["name"], {"kind": kind, "options": []})
            if kind in ("radio", "checkbox", "hidden") and attrs.get("value") is not None:
                choices["options"].append(attrs["value"])
        elif tag == "select":
            self._select = self._form["fields"].setdefault(
                attrs["name"], {"kind": "select", "options": []}
            )
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_on(html, page_url):
    finder = FormFinder()
    finder.feed(html)
    for form in finder.forms:
        form["action"] = urljoin(page_url, form["action"]) if form["action"] else page_url
        if not form["action"].startswith(SKIPPED_ACTIONS) and form["fields"]:
            yield form


def value_for(field):
    kind, options = field["kind"], field["options"]
    text = HOSTILE_TEXT
    if kind == "number":
        text = st.one_of(st.integers(-(10**6), 10**6).map(str), HOSTILE_TEXT)
    elif kind == "date":
        text = st.one_of(st.dates().map(lambda d: d.isoformat()), HOSTILE_TEXT)
    elif kind == "datetime-local":
        text = st.one_of(st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")), HOSTILE_TEXT)
    if options:
        return st.one_of(st.sampled_from(options), text)
    return text


def submissions(form):
    fields = {
        name: value_for(field)
        for name, field in form["fields"].items()
        if name not in ("csrfmiddlewaretoken", "form_key")
    }
    return st.fixed_dictionaries(fields)


def invalid_rows():
    """Every stored row that fails its model's own validation, by model and key."""
    found = set()
    for config in apps.get_app_configs():
        if not config.name.startswith("clinic."):
            continue
        for model in config.get_models():
            if issubclass(model, pghistory.models.Event):
                continue  # snapshots of other rows, kept as they were, valid or not
            for row in model.objects.all():
                try:
                    row.full_clean(validate_unique=False, validate_constraints=False)
                except ValidationError as exc:
                    found.add((model._meta.label, row.pk, tuple(sorted(exc.message_dict))))
    return found


def _pages():
    yield from ROLE_URLS.items()
    for name, (holder, _kwargs) in PARAMETER_ROLE_URLS.items():
        yield name, holder
    for name in OBJECT_URL_KWARGS:
        yield name, OBJECT_URL_OWNERS.get(name, "prescriber")


@pytest.mark.django_db
def test_fuzzed_submissions_of_every_form_never_fail_or_store_invalid_records(client):
    world = World()
    targets = []
    for name, holder in _pages():
        user = getattr(world, holder)
        client.force_login(user)
        url = _url_for(name, world)
        response = client.get(url)
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            targets += [(name, user, form) for form in forms_on(response.content.decode(), url)]
    assert len(targets) >= 30, "the walk found too few forms to mean anything"
    before = invalid_rows()

    failures = []
    for name, user, form in targets:
        _fuzzer(client, name, user, form, failures)()
    assert failures == []
    assert invalid_rows() - before == set()


def _fuzzer(client, name, user, form, failures):
    """A hypothesis test submitting generated values to one form (a closure: @given takes no
    default arguments)."""

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(data=submissions(form))
    def submit(data):
        client.force_login(user)
        data = {**data, "form_key": str(uuid.uuid4())}
        send = client.post if form["method"] == "post" else client.get
        response = send(form["action"], data)
        if response.status_code >= 500:
            failures.append(f"{name}: {form['method']} {form['action']} {data!r}")

    return submit
