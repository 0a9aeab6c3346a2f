from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from clinic.accounts.models import User
from clinic.patients.models import ClinicMembership


class MembershipInline(admin.TabularInline):
    model = ClinicMembership
    fk_name = "user"
    extra = 0
    fields = ("clinic", "role", "is_active")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Clinical", {"fields": ("credentials",)}),
    )
    list_display = ("username", "email", "first_name", "last_name", "is_active", "last_login")
    inlines = [MembershipInline]
