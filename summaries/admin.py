from django.contrib import admin

from summaries.models import Delivery, Summary


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    list_display = ["id", "episode", "prompt_version", "provider", "editorial_status", "created_at"]
    list_filter = ["editorial_status", "provider", "prompt_version"]
    raw_id_fields = ["episode", "superseded_by"]
    # Editorial status changes go through curation.services.editorial_transition.
    readonly_fields = ["editorial_status", "editorial_changed_at"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "episode", "user", "status", "target_prompt_version", "created_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["episode", "user", "summary"]


from summaries.models import LLMUsage  # noqa: E402  (kept apart so edits above merge cleanly)


@admin.register(LLMUsage)
class LLMUsageAdmin(admin.ModelAdmin):
    """Read-only: the daily token ledger (an llm_budget_exhausted item links here)."""

    list_display = ["day", "input_tokens", "output_tokens", "reserved_tokens", "requests", "cost_usd", "updated_at"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
