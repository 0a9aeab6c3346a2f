"""Django admin for the screening checklists: clinic admins keep their clinic's checklists
here. A version that has been answered is read-only; "Make a new version" copies it into the
next version, which is editable until its first answer, so no answer ever changes meaning."""

from django.contrib import admin, messages
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse

from clinic.pathway import services
from clinic.pathway.models import ChecklistItem, ChecklistTemplate
from clinic.patients.selectors import clinics_administered_by


def _editable(user, template):
    """A version can be edited until someone answers it, by a clinic admin of its clinic
    (the shared defaults only by a superuser)."""
    if template is None:
        return True
    if template.in_use:
        return False
    if template.clinic_id is None:
        return user.is_superuser
    return clinics_administered_by(user).filter(pk=template.clinic_id).exists()


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    fields = (
        "position", "code", "prompt", "trigger_answer", "effect_ketamine", "effect_esketamine",
        "help_text",
    )  # fmt: skip

    def has_add_permission(self, request, obj=None):
        return _editable(request.user, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _editable(request.user, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _editable(request.user, obj) and super().has_delete_permission(request, obj)


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "version", "clinic_label", "is_active", "answered")
    list_filter = ("kind", "is_active")
    search_fields = ("title", "code")
    inlines = [ChecklistItemInline]
    actions = ["make_new_version"]
    readonly_fields = ("previous_version",)

    @admin.display(description="clinic")
    def clinic_label(self, template):
        return template.clinic or "Default (all clinics)"

    @admin.display(boolean=True, description="answered")
    def answered(self, template):
        return template.in_use

    def get_queryset(self, request):
        templates = super().get_queryset(request).select_related("clinic")
        if request.user.is_superuser:
            return templates
        return templates.filter(
            Q(clinic__isnull=True) | Q(clinic__in=clinics_administered_by(request.user))
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "clinic" and not request.user.is_superuser:
            kwargs["queryset"] = clinics_administered_by(request.user)
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return _editable(request.user, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _editable(request.user, obj) and super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        template = self.get_object(request, object_id)
        if template is not None and template.in_use and request.method == "GET":
            messages.info(
                request,
                "This version has been answered, so it is read-only. Select it in the list and "
                "use “Make a new version” to change the checklist.",
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Make a new version (to edit)")
    def make_new_version(self, request, queryset):
        clinics = list(clinics_administered_by(request.user))
        created = None
        for template in queryset:
            target_clinic = None
            if template.clinic_id is None and not request.user.is_superuser:
                if len(clinics) != 1:
                    self.message_user(
                        request,
                        "You administer several clinics: copy the default from one clinic's "
                        "own checklist instead.",
                        level=messages.ERROR,
                    )
                    return None
                target_clinic = clinics[0]
            created = services.checklist_template_new_version(
                template=template, clinic=target_clinic
            )
            self.message_user(request, f"Created {created}; it replaces {template} from now on.")
        if created is not None and queryset.count() == 1:
            return redirect(reverse("admin:pathway_checklisttemplate_change", args=[created.pk]))
        return None
