from django.apps import AppConfig


class PathwayConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "clinic.pathway"
    verbose_name = "Treatment pathway"
