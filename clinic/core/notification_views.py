"""The alerts bell: each signed-in staff member's own notifications (vital-sign and
side-effect alerts), newest first, and marking them read."""

import uuid

from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from clinic.core.access import staff_required
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent, Notification
from clinic.core.services import notification_mark_read

PAGE_SIZE = 25


def notifications_for_user(user):
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notification_get_for_user(user, public_id):
    """The user's own notification, else 404 (recorded as denied)."""
    found = notifications_for_user(user).filter(public_id=public_id).first()
    if found is None:
        record_access(
            user=user,
            action=AccessEvent.Action.UPDATE,
            object_type="notification",
            object_public_id=public_id if isinstance(public_id, uuid.UUID) else None,
            outcome=AccessEvent.Outcome.DENIED,
        )
        raise Http404("No such notification.")
    return found


@staff_required
def notification_list(request):
    notifications = notifications_for_user(request.user).select_related("patient")
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    record_access(
        user=request.user,
        action=AccessEvent.Action.LIST,
        object_type="notification_list",
        detail=f"page {page.number}; {len(page.object_list)} rows",
    )
    return render(
        request,
        "core/notifications.html",
        {
            "page": page,
            "querystring": "",
            "unread_count": notifications_for_user(request.user)
            .filter(read_at__isnull=True)
            .count(),
        },
    )


@staff_required
def notification_read(request, public_id):
    notification = notification_get_for_user(request.user, public_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    notification_mark_read(notification=notification, user=request.user)
    link = notification.link
    if request.POST.get("open") and url_has_allowed_host_and_scheme(
        link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(link)
    page = request.POST.get("page", "")
    return redirect(f"/notifications/?page={page}" if page.isdigit() else "/notifications/")


@staff_required
def notifications_read_all(request):
    if request.method != "POST":
        return redirect("core:notifications")
    notifications_for_user(request.user).filter(read_at__isnull=True).update(read_at=timezone.now())
    return redirect("core:notifications")
