from django.urls import path

from clinic.ledger import views

app_name = "ledger"

urlpatterns = [
    path("", views.lot_list, name="lot_list"),
    path("lots/receive/", views.lot_receive, name="lot_receive"),
    path("count-sheet/", views.count_sheet, name="count_sheet"),
    path("lots/<uuid:public_id>/", views.lot_detail, name="lot_detail"),
    *[
        path(
            f"lots/<uuid:public_id>/{action}/",
            views.lot_action,
            {"action": action},
            name=f"lot_{action}",
        )
        for action in views.LOT_ACTIONS
    ],
    path("entries/<uuid:public_id>/reverse/", views.entry_reverse, name="entry_reverse"),
]
