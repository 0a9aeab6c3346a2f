from django.urls import path

from clinic.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("support/", views.support, name="support"),
    path("journal/", views.journal_history, name="journal"),
    path("journal/new/", views.journal_new, name="journal_new"),
    path("journal/<uuid:public_id>/", views.journal_entry, name="journal_entry"),
    path("questionnaires/<slug:slug>/", views.questionnaire, name="questionnaire"),
    path("answers/<uuid:public_id>/", views.response_detail, name="response_detail"),
    path("progress/", views.progress, name="progress"),
    path("reminders/", views.reminders, name="reminders"),
    path("welcome/<str:uidb64>/<str:token>/", views.welcome, name="welcome"),
]
