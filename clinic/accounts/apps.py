from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "clinic.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from clinic.accounts import checks, signals  # noqa: F401  (registers them)
