from django.urls import path

from clinic.patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<uuid:public_id>/", views.patient_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.patient_edit, name="edit"),
    path("<uuid:public_id>/summary/", views.patient_summary, name="summary"),
    path("<uuid:public_id>/care-team/", views.care_team_add, name="care_team_add"),
    path("<uuid:public_id>/portal-invite/", views.portal_invite, name="portal_invite"),
    path(
        "<uuid:public_id>/care-team/<uuid:member_public_id>/remove/",
        views.care_team_remove,
        name="care_team_remove",
    ),
]
