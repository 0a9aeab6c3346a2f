from django.contrib import admin

from clinic.reports.models import RollupRun


@admin.register(RollupRun)
class RollupRunAdmin(admin.ModelAdmin):
    list_display = ("finished_at", "clinic", "start", "end", "rows_written")
    readonly_fields = ("clinic", "start", "end", "started_at", "finished_at", "rows_written")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
