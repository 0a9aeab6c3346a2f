"""The read-only FHIR R4 API (`application/fhir+json`) and the staff page of API tokens.

API views are thin: `api_view` answers 405 for anything but GET, 401 without a valid bearer
token, turns bad parameters into 400 and unknown or out-of-scope ids into 404, all as
OperationOutcome resources; the selectors scope and audit every read.
"""

import json
import logging
import re
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from clinic.core.access import staff_required
from clinic.core.forms import add_service_errors
from clinic.fhir import auth, mappers, params, selectors, services
from clinic.fhir.forms import ApiTokenForm

CONTENT_TYPE = "application/fhir+json; charset=utf-8"
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
logger = logging.getLogger(__name__)


def fhir_response(data, status=200):
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type=CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store, private"
    return response


def error_response(status, code, message):
    return fhir_response(mappers.operation_outcome(code, message), status=status)


def base_url(request):
    """The API's absolute base URL, ending in a slash."""
    metadata = reverse("fhir:metadata")
    return request.build_absolute_uri(metadata[: -len("metadata")])


def _method_not_allowed(request):
    response = error_response(
        405, "not-supported", f"{request.method} is not supported: this API is read-only."
    )
    response["Allow"] = "GET"
    return response


def api_view(view):
    """GET only, a bearer token, the user's clinic time zone, errors as OperationOutcomes."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method != "GET":
            return _method_not_allowed(request)
        try:
            user = auth.authenticate(request)
        except auth.AuthenticationFailed as failure:
            response = error_response(401, "login", str(failure))
            response["WWW-Authenticate"] = failure.challenge
            return response
        request.user = user
        try:
            with timezone.override(user.display_timezone() or "UTC"):
                return view(request, user, *args, **kwargs)
        except params.SearchError as exc:
            return error_response(400, exc.code, str(exc))
        except Http404 as exc:
            return error_response(404, "not-found", str(exc) or "Not found.")
        except (OperationalError, InterfaceError):
            logger.exception("Database unavailable")
            response = error_response(503, "transient", "The database is unavailable; retry.")
            response["Retry-After"] = "30"
            return response
        except Exception:
            got_request_exception.send(sender=None, request=request)
            logger.exception("FHIR API error at %s", request.path)
            return error_response(500, "exception", "Internal error; it has been logged.")

    return wrapped


def _resource_type(name):
    if name not in params.RESOURCE_TYPES:
        raise Http404(f"Unknown or unsupported resource type “{name[:40]}”; see /fhir/metadata.")
    return name


def _resource_id(value):
    """A FHIR id (64 letters, digits, '-' or '.'); anything else names nothing here, so it is
    refused before any lookup (and before a stray byte reaches the audit log)."""
    if not FHIR_ID.fullmatch(value):
        raise Http404("That is not a valid resource id.")
    return value


@csrf_exempt
def metadata(request):
    """The CapabilityStatement: public, so that clients can discover the server."""
    if request.method != "GET":
        return _method_not_allowed(request)
    statement = mappers.capability_statement(
        base_url(request), params.SEARCH_PARAMS, params.RESOURCE_TYPES
    )
    response = fhir_response(statement)
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _page_url(request, resource_type, query, offset):
    kept = [
        (name, value)
        for name, values in request.GET.lists()
        if name not in ("_count", "_offset")
        for value in values
    ]
    kept += [("_count", query.count), ("_offset", offset)]
    return f"{base_url(request)}{resource_type}?{urlencode(kept)}"


@api_view
def search(request, user, resource_type):
    resource_type = _resource_type(resource_type)
    query = params.parse(resource_type, request.GET)
    page = selectors.search(user, resource_type, query)
    links = [("self", _page_url(request, resource_type, query, query.offset))]
    if query.count and query.offset + query.count < page.total:
        links.append(("next", _page_url(request, resource_type, query, query.offset + query.count)))
    if query.offset:
        previous = max(0, min(query.offset, page.total) - query.count) if query.count else 0
        links.append(("previous", _page_url(request, resource_type, query, previous)))
    base = base_url(request)
    entries = [
        (f"{base}{resource['resourceType']}/{resource['id']}", resource, "match")
        for resource in page.resources
    ]
    return fhir_response(mappers.bundle(entries, total=page.total, links=links))


@api_view
def read(request, user, resource_type, resource_id):
    resource_type = _resource_type(resource_type)
    resource_id = _resource_id(resource_id)
    params.no_parameters(request.GET, f"Reading a {resource_type}")
    try:
        resource = selectors.read(user, resource_type, resource_id)
    except Http404 as exc:
        raise Http404(f"{resource_type}/{resource_id} is not known here.") from exc
    return fhir_response(resource)


@api_view
def patient_everything(request, user, resource_id):
    params.no_parameters(request.GET, "$everything")
    _, resources = selectors.everything(user, _resource_id(resource_id))
    base = base_url(request)
    entries = [
        (
            f"{base}{resource['resourceType']}/{resource['id']}",
            resource,
            "match" if index == 0 else "include",
        )
        for index, resource in enumerate(resources)
    ]
    links = [("self", request.build_absolute_uri())]
    return fhir_response(mappers.bundle(entries, total=len(entries), links=links))


@api_view
def unknown(request, user, path):
    raise Http404("No such FHIR endpoint; see /fhir/metadata for what this server offers.")


# --- the staff page of API tokens ---------------------------------------------------------------


@staff_required
def tokens(request):
    """The user's API tokens; a new token's secret is shown on this response only."""
    form = ApiTokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = services.token_create(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            created = {"token": token, "secret": secret}
            form = ApiTokenForm()
    return render(
        request,
        "fhir/tokens.html",
        {
            "form": form,
            "tokens": selectors.tokens_for_user(request.user),
            "created": created,
            "api_base": base_url(request),
        },
    )


@staff_required
def token_revoke(request, public_id):
    token = selectors.token_get_for_user(request.user, public_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    services.token_revoke(token=token, by=request.user)
    messages.success(request, f"The token “{token.name}” is revoked: it no longer works.")
    return redirect("fhir:tokens")
