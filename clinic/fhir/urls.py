"""/fhir/: the token page (signed-in staff) and the read-only FHIR R4 API (bearer tokens).

The API routes come last and take any resource type name, so that every path under /fhir/
answers with an OperationOutcome (404 for an unsupported type), never an HTML page.
"""

from django.urls import path, re_path

from clinic.fhir import views

app_name = "fhir"

urlpatterns = [
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<uuid:public_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("metadata", views.metadata, name="metadata"),
    path("Patient/<str:resource_id>/$everything", views.patient_everything,
         name="patient_everything"),
    path("<str:resource_type>", views.search, name="search"),
    path("<str:resource_type>/<str:resource_id>", views.read, name="read"),
    re_path(r"^(?P<path>.*)$", views.unknown, name="unknown"),
]  # fmt: skip
