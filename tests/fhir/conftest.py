"""Helpers for the FHIR API tests: token clients, R4B validation, the demo data."""

import json
from types import SimpleNamespace

import pytest
from django.test import Client
from fhir.resources.R4B import get_fhir_model_class

from clinic.accounts.models import User
from clinic.fhir import services
from tests.demo_data import load_demo

FHIR_JSON = "application/fhir+json"


def token_client(user, name="test client"):
    """A test client that sends a fresh bearer token of `user`, and the token."""
    token, secret = services.token_create(user=user, name=name)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}"), token


def body(response):
    assert response["Content-Type"].startswith(FHIR_JSON), response["Content-Type"]
    return json.loads(response.content)


def get_json(client, url, status=200, **params):
    response = client.get(url, params)
    assert response.status_code == status, (url, params, response.status_code, response.content)
    return body(response)


def validate(resource):
    """The resource parsed by fhir.resources' R4B model of its type (raises if invalid)."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def assert_outcome(response, status, code=None):
    assert response.status_code == status, (response.status_code, response.content)
    outcome = body(response)
    assert outcome["resourceType"] == "OperationOutcome"
    validate(outcome)
    if code is not None:
        assert outcome["issue"][0]["code"] == code, outcome
    return outcome


def all_pages(client, url, **params):
    """Every entry of a search, following its `next` links; checks each page."""
    bundle = get_json(client, url, **params)
    total, resources = bundle["total"], []
    while True:
        validate(bundle)
        assert bundle["type"] == "searchset" and bundle["total"] == total
        resources += [entry["resource"] for entry in bundle.get("entry", [])]
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        bundle = get_json(client, following[0])
    assert len(resources) == total
    return resources


@pytest.fixture
def demo(db):
    """The demo data (two clinics of 20 patients, sessions, measures) and its logins."""
    load_demo()
    return SimpleNamespace(
        **{
            name: User.objects.get(username=name)
            for name in ("prescriber", "nurse", "clinicadmin", "otherclinician", "patient")
        }
    )
