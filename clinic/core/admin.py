from django.contrib import admin

from clinic.core.models import AccessEvent


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    """The audit log is read-only, even for superusers."""

    list_display = (
        "occurred_at",
        "user",
        "action",
        "object_type",
        "patient",
        "outcome",
        "ip_address",
    )
    list_filter = ("outcome", "action", "clinic")
    date_hierarchy = "occurred_at"
    list_select_related = ("user", "patient")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
