from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect

from curation.admin import CuratorActionGenericInline, ReasonActionForm, ViewOnlyMixin, run_per_object
from curation.services import EDITORIAL_MOVES, CurationError, editorial_transition
from summaries.models import Delivery, EditorialStatus, LLMUsage, Summary


def _move_action(to: str, description: str):
    def action(modeladmin, request, queryset):
        if not modeladmin.has_change_permission(request):
            raise PermissionDenied
        run_per_object(
            modeladmin,
            request,
            queryset,
            description,
            lambda summary, reason: editorial_transition(summary, to, actor=request.user, reason=reason),
        )

    action.__name__ = f"make_{to}"
    return admin.action(description=description, permissions=["change"])(action)


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    """Summaries are immutable; only the editorial status changes, through editorial_transition."""

    list_display = ["id", "episode", "prompt_version", "provider", "editorial_status", "editorial_changed_at", "created_at"]
    list_filter = ["editorial_status", "provider", "prompt_version"]
    list_select_related = ["episode"]
    search_fields = ["=id", "episode__title"]
    action_form = ReasonActionForm
    actions = [
        _move_action(EditorialStatus.PUBLISHED, "Publish (or unhide)"),
        _move_action(EditorialStatus.FEATURED, "Feature"),
        _move_action(EditorialStatus.HIDDEN, "Hide"),
        _move_action(EditorialStatus.RETIRED, "Retire"),
    ]
    inlines = [CuratorActionGenericInline]

    def get_readonly_fields(self, request, obj=None):
        # Every field: the content is immutable and the status has its own buttons.
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False  # summaries come from the pipeline

    def has_delete_permission(self, request, obj=None):
        return False  # retire instead; the log keeps pointing at the row

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and "_editorial" in request.POST:
            return self._editorial(request, object_id)
        summary = self.get_object(request, object_id)
        moves = []
        if summary is not None:
            moves = [(state, EditorialStatus(state).label) for state in sorted(EDITORIAL_MOVES[summary.editorial_status])]
        extra_context = {
            **(extra_context or {}),
            "editorial_moves": moves,
            "can_decide": self.has_change_permission(request, summary),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _editorial(self, request, object_id):
        summary = self.get_object(request, object_id)
        if summary is None or not self.has_change_permission(request, summary):
            raise PermissionDenied
        to = request.POST["_editorial"]
        try:
            changed = editorial_transition(
                summary, to, actor=request.user, reason=request.POST.get("editorial_reason", "").strip()
            )
        except CurationError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            note = f"now {to}" if changed else f"already {to}, nothing changed"
            self.message_user(request, f"Summary {summary.pk}: {note}.", messages.SUCCESS)
        return HttpResponseRedirect(request.path)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "episode", "user", "status", "target_prompt_version", "created_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["episode", "user", "summary"]


@admin.register(LLMUsage)
class LLMUsageAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Read-only: the daily token ledger (an llm_budget_exhausted item links here)."""

    list_display = ["day", "input_tokens", "output_tokens", "reserved_tokens", "requests", "cost_usd", "updated_at"]
    readonly_fields = list_display
