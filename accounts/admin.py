from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "token_key", "read_only", "created", "expiry", "last_used_at")
    list_filter = ("read_only",)
    search_fields = ("name", "user__username", "token_key")
    readonly_fields = ("digest", "token_key", "user", "created", "expiry", "last_used_at")
    fields = ("name", "read_only", "user", "token_key", "created", "expiry", "last_used_at")

    def has_add_permission(self, request) -> bool:
        # A token's secret exists only at creation; users create theirs on the tokens page.
        return False
