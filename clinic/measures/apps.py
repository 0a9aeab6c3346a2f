from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "clinic.measures"
    verbose_name = "Rating scales and mood journal"
