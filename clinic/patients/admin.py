from django.contrib import admin

from clinic.patients.models import Clinic, ClinicMembership


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "mrn_prefix", "is_active")
    search_fields = ("name",)


@admin.register(ClinicMembership)
class ClinicMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "clinic", "role", "is_active")
    list_filter = ("clinic", "role", "is_active")
    search_fields = ("user__username", "user__last_name")
    autocomplete_fields = ("user", "clinic")
