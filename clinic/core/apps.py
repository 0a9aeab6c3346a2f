from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "clinic.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from clinic.core import checks  # noqa: F401  (registers them)
