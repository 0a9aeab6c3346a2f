from django.contrib import admin

from clinic.ledger.models import LedgerEntry, Lot


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is written only through its services; the admin site only reads it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ("lot_number", "product_name", "clinic", "expiry_date", "status", "balance_mg")
    list_filter = ("drug", "status", "clinic")
    list_select_related = ("clinic",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "lot", "entry_type", "event_at", "ml", "units", "mg", "balance_mg_after")
    list_filter = ("entry_type",)
    list_select_related = ("lot",)
