from django.urls import path

from clinic.core import notification_views

app_name = "core"

urlpatterns = [
    path("", notification_views.notification_list, name="notifications"),
    path("read-all/", notification_views.notifications_read_all, name="notifications_read_all"),
    path("<uuid:public_id>/read/", notification_views.notification_read, name="notification_read"),
]
