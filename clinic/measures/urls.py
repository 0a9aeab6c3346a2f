from django.urls import path

from clinic.measures import views

app_name = "measures"

urlpatterns = [
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<uuid:public_id>/", views.alert_detail, name="alert_detail"),
    path("overdue/", views.overdue, name="overdue"),
    path("responses/<uuid:public_id>/", views.response_detail, name="response_detail"),
    path("patients/<uuid:public_id>/outcomes/", views.outcomes, name="outcomes"),
    path("patients/<uuid:public_id>/rate/<slug:slug>/", views.rate, name="rate"),
    path("courses/<uuid:public_id>/schedule/", views.schedule, name="schedule"),
    path(
        "courses/<uuid:public_id>/schedule/<uuid:rule_id>/stop/",
        views.schedule_rule_stop,
        name="schedule_rule_stop",
    ),
    path("settings/", views.clinic_settings, name="settings"),
]
