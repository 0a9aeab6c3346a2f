"""Clinic admins set their clinic's critical and normal vital limits here (DOMAIN.md §4.2:
"critical and normal limits are clinic settings; absolute limits admin-only" — the absolute
limits stay in code, where they guard against typing errors)."""

from django.contrib import admin

from clinic.monitoring.limits import DEFAULT_LIMITS
from clinic.monitoring.models import VitalLimit
from clinic.patients.selectors import clinics_administered_by


@admin.register(VitalLimit)
class VitalLimitAdmin(admin.ModelAdmin):
    list_display = ("clinic", "vital", "critical_below", "critical_from", "normal_low",
                    "normal_high", "defaults")  # fmt: skip
    list_filter = ("vital",)

    @admin.display(description="product defaults (critical below / from, normal range)")
    def defaults(self, limit):
        default = DEFAULT_LIMITS[limit.vital]
        return (
            f"< {default.critical_below} / ≥ {default.critical_from}; "
            f"{default.normal_low} to {default.normal_high}"
        )

    def get_queryset(self, request):
        limits = super().get_queryset(request).select_related("clinic")
        return limits.filter(clinic__in=clinics_administered_by(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "clinic":
            kwargs["queryset"] = clinics_administered_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
