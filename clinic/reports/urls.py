from django.urls import path

from clinic.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("outcomes/", views.outcomes, name="outcomes"),
    path("controlled-substances/", views.controlled_substances, name="controlled_substances"),
]
