from django.urls import path

from clinic.pathway import session_views, views

app_name = "pathway"

# (URL segment, view and URL name suffix) of the session runner's POST-only actions.
SESSION_ACTIONS = [
    ("check-in", "check_in"),
    ("checklist", "pre_checklist"),
    ("override", "override"),
    ("ready", "mark_ready"),
    ("vitals", "vitals"),
    ("vitals/acknowledge", "acknowledge"),
    ("vitals/entered-in-error", "reading_error"),
    ("dose", "dose"),
    ("ledger/draw", "draw"),
    ("ledger/administer", "administer"),
    ("ledger/waste", "waste"),
    ("start", "start"),
    ("device", "device"),
    ("end", "end"),
    ("side-effects", "side_effect"),
    ("discharge/checklist", "discharge_checklist"),
    ("discharge/ready", "ready_for_discharge"),
    ("discharge", "discharge"),
    ("cancel", "cancel"),
    ("transfer", "transfer"),
]

urlpatterns = [
    path("patients/<uuid:public_id>/courses/new/", views.course_create, name="course_create"),
    # A course and the steps that hang off it (these take the course's public id).
    path("courses/<uuid:public_id>/", views.course_detail, name="course"),
    path("courses/<uuid:public_id>/transition/", views.course_transition, name="course_transition"),
    path(
        "courses/<uuid:public_id>/consultation/",
        views.consultation_edit,
        name="consultation_edit",
    ),
    path("courses/<uuid:public_id>/assessment/", views.assessment_start, name="assessment_start"),
    path("courses/<uuid:public_id>/plans/new/", views.plan_create, name="plan_create"),
    path(
        "courses/<uuid:public_id>/follow-ups/new/",
        views.follow_up_create,
        name="follow_up_create",
    ),
    # Notes (these take the note's own public id).
    path("consultations/<uuid:public_id>/", views.consultation_detail, name="consultation"),
    path(
        "consultations/<uuid:public_id>/edit/",
        views.consultation_edit_by_id,
        name="consultation_edit_by_id",
    ),
    path(
        "consultations/<uuid:public_id>/sign/",
        views.consultation_sign,
        name="consultation_sign",
    ),
    path(
        "consultations/<uuid:public_id>/addenda/",
        views.addendum_add,
        {"note_kind": "consultation"},
        name="consultation_addendum",
    ),
    path("assessments/<uuid:public_id>/", views.assessment_detail, name="assessment"),
    path("assessments/<uuid:public_id>/sign/", views.assessment_sign, name="assessment_sign"),
    path(
        "assessments/<uuid:public_id>/addenda/",
        views.addendum_add,
        {"note_kind": "assessment"},
        name="assessment_addendum",
    ),
    path("plans/<uuid:public_id>/", views.plan_detail, name="plan"),
    path("plans/<uuid:public_id>/edit/", views.plan_edit, name="plan_edit"),
    path("plans/<uuid:public_id>/approve/", views.plan_approve, name="plan_approve"),
    path("plans/<uuid:public_id>/transition/", views.plan_transition, name="plan_transition"),
    path(
        "plans/<uuid:public_id>/addenda/",
        views.addendum_add,
        {"note_kind": "plan"},
        name="plan_addendum",
    ),
    # Administration sessions: booking from the course, then the runner and its actions.
    path("courses/<uuid:public_id>/sessions/new/", session_views.session_book, name="session_book"),
    path("sessions/<uuid:public_id>/", session_views.session_run, name="session_run"),
    path("sessions/<uuid:public_id>/record/", session_views.session_print, name="session_print"),
    *[
        path(
            f"sessions/<uuid:public_id>/{slug}/",
            getattr(session_views, f"session_{name}"),
            name=f"session_{name}",
        )
        for slug, name in SESSION_ACTIONS
    ],
    path("follow-ups/overdue/", views.follow_ups_overdue, name="follow_ups_overdue"),
    path("follow-ups/<uuid:public_id>/", views.follow_up_detail, name="follow_up"),
    path("follow-ups/<uuid:public_id>/sign/", views.follow_up_sign, name="follow_up_sign"),
    path("follow-ups/<uuid:public_id>/close/", views.follow_up_close, name="follow_up_close"),
    path(
        "follow-ups/<uuid:public_id>/addenda/",
        views.addendum_add,
        {"note_kind": "follow_up"},
        name="follow_up_addendum",
    ),
]
