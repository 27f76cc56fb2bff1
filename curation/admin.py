"""The curation inbox: every decision goes through curation.services and is logged once."""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.contenttypes.admin import GenericTabularInline
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, Value, When
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html

from curation import services
from curation.models import OPEN_STATUSES, CurationItem, CuratorAction
from curation.selectors import admin_change_url, open_item_kinds

Status = CurationItem.Status


class ReasonActionForm(helpers.ActionForm):
    """The changelist's action bar, with a reason that goes into the log."""

    reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason",
        widget=forms.TextInput(attrs={"size": 40, "placeholder": "Reason (kept in the log)"}),
    )


def run_per_object(modeladmin, request, queryset, verb: str, call) -> None:
    """Call `call(obj, reason)` per selected object; report each refusal with message_user."""
    reason = request.POST.get("reason", "").strip()
    done = unchanged = 0
    for obj in queryset:
        try:
            changed = call(obj, reason)
        except services.CurationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc}", messages.ERROR)
            continue
        if changed:
            done += 1
        else:
            unchanged += 1
    if done:
        modeladmin.message_user(request, f"{verb}: {done} done.", messages.SUCCESS)
    if unchanged:
        modeladmin.message_user(request, f"{verb}: {unchanged} already so, nothing changed.", messages.INFO)


def pretty_json(value) -> str:
    """JSON pretty-printed and HTML-escaped (evidence holds feed and LLM text)."""
    return format_html('<pre class="curation-evidence">{}</pre>', json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


def short_age(delta) -> str:
    """'45 s', '12 min', '5 h', '3 d': compact, and cheaper than timesince per row."""
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def grouped_counts(changelist, list_filter, column: str) -> dict[str, int]:
    """Facet counts for one filter: the changelist's rows without that filter, grouped by `column`.

    Same numbers as Django's facets (one COUNT … FILTER per choice), from one
    GROUP BY that PostgreSQL answers from an index.
    """
    queryset = changelist.get_queryset(list_filter.request, exclude_parameters=list_filter.expected_parameters())
    rows = queryset.order_by().values_list(column).annotate(n=Count("pk"))
    return {str(value): n for value, n in rows}


class StatusFilter(admin.SimpleListFilter):
    """Status, defaulting to the open items (pending, in review, escalated)."""

    title = "status"
    parameter_name = "status"
    OPEN = "open"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [(self.OPEN, "Open"), *Status.choices, (self.ALL, "All")]

    def value(self):
        return super().value() or self.OPEN

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.OPEN:
            return queryset.filter(status__in=OPEN_STATUSES)
        if value in Status.values:
            return queryset.filter(status=value)
        return queryset

    def get_facet_queryset(self, changelist):
        counts = grouped_counts(changelist, self, "status")
        facets = {}
        for i, (lookup, _) in enumerate(self.lookup_choices):
            if lookup == self.OPEN:
                facets[f"{i}__c"] = sum(counts.get(status, 0) for status in OPEN_STATUSES)
            elif lookup == self.ALL:
                facets[f"{i}__c"] = sum(counts.values())
            else:
                facets[f"{i}__c"] = counts.get(lookup, 0)
        return facets

    def choices(self, changelist):
        # No extra "All" entry: no parameter means open, "all" is its own choice.
        add_facets = changelist.add_facets
        facet_counts = self.get_facet_queryset(changelist) if add_facets else None
        for i, (lookup, title) in enumerate(self.lookup_choices):
            if add_facets:
                title = f"{title} ({facet_counts.get(f'{i}__c', '-')})"
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class KindFilter(admin.SimpleListFilter):
    """The kind of flagged object, offered only for kinds that have open items."""

    title = "item kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        # The changelist builds its filters once per facet; look the kinds up once per request.
        if not hasattr(request, "_curation_open_kinds"):
            request._curation_open_kinds = [(str(ct_id), name) for ct_id, name in open_item_kinds()]
        return request._curation_open_kinds

    def queryset(self, request, queryset):
        value = self.value() or ""
        # ASCII and bounded: "٣".isdigit() is True, and 30 digits overflow SQLite's integers.
        if value.isascii() and value.isdigit() and len(value) <= 18:
            return queryset.filter(content_type_id=int(value))
        return queryset

    def get_facet_queryset(self, changelist):
        counts = grouped_counts(changelist, self, "content_type_id")
        return {f"{i}__c": counts.get(lookup, 0) for i, (lookup, _) in enumerate(self.lookup_choices)}


class ChoicesFacetFilter(admin.ChoicesFieldListFilter):
    """Django's choices filter, with its facet counts from one GROUP BY."""

    def get_facet_queryset(self, changelist):
        counts = grouped_counts(changelist, self, self.field_path)
        return {f"{i}__c": counts.get(str(value), 0) for i, (value, _) in enumerate(self.field.flatchoices)}


class ViewOnlyMixin:
    """For admin classes and inlines whose rows nobody adds, changes or deletes (superusers included)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyLogInlineMixin(ViewOnlyMixin):
    """CuratorAction rows shown inline: nobody adds, changes or deletes them."""

    model = CuratorAction
    fields = ["created_at", "actor_label", "action", "from_state", "to_state", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False


class ActionHistoryInline(ReadOnlyLogInlineMixin, admin.TabularInline):
    """The item's own decisions, read-only."""

    fk_name = "curation_item"
    verbose_name = "decision"
    verbose_name_plural = "decisions on this item"


class CuratorActionGenericInline(ReadOnlyLogInlineMixin, GenericTabularInline):
    """The editorial log of any object (used on the Summary admin), read-only."""

    ct_field = "content_type"
    ct_fk_field = "object_id"
    verbose_name = "curator action"
    verbose_name_plural = "curator actions (history)"


# Buttons on the item's change page: name → (label, service call).
ITEM_DECISIONS = {
    "assign": ("Assign to me", lambda item, user, reason: services.curation_item_assign(item, actor=user, reason=reason)),
    "start_review": (
        "Start review",
        lambda item, user, reason: services.curation_item_start_review(item, actor=user, reason=reason),
    ),
    "resolve": (
        "Resolve (carry out the proposed action)",
        lambda item, user, reason: services.curation_item_resolve(item, actor=user, resolution=reason),
    ),
    "resolve_only": (
        "Resolve without acting",
        lambda item, user, reason: services.curation_item_resolve(item, actor=user, resolution=reason, carry_out=False),
    ),
    "dismiss": ("Dismiss", lambda item, user, reason: services.curation_item_dismiss(item, actor=user, reason=reason)),
    "escalate": ("Escalate", lambda item, user, reason: services.curation_item_escalate(item, actor=user, reason=reason)),
    "reopen": ("Back to pending", lambda item, user, reason: services.curation_item_reopen(item, actor=user, reason=reason)),
}


@admin.register(CurationItem)
class CurationItemAdmin(admin.ModelAdmin):
    list_display = [
        "summary_line",
        "severity",
        "flag_class",
        "status",
        "kind",
        "flagged_object",
        "occurrences",
        "assigned_to",
        "age",
    ]
    list_display_links = ["summary_line"]
    list_filter = [StatusFilter, ("severity", ChoicesFacetFilter), ("flag_class", ChoicesFacetFilter), KindFilter]
    list_select_related = ["content_type", "assigned_to"]
    search_fields = ["object_repr", "=object_id", "proposed_by", "resolution"]
    ordering = ["severity", "created_at", "pk"]
    show_facets = admin.ShowFacets.ALLOW  # counts on request: they scan every open item
    show_full_result_count = False
    list_per_page = 50
    action_form = ReasonActionForm
    actions = ["assign_to_me", "start_review", "resolve", "resolve_without_acting", "dismiss", "escalate"]
    inlines = [ActionHistoryInline]
    fields = [
        "flagged_object",
        "flag_class",
        "severity",
        "status",
        "proposed_action",
        "proposed_by",
        "assigned_to",
        "occurrences",
        "created_at",
        "last_seen",
        "resolved_by",
        "resolved_at",
        "resolution",
        "evidence_pretty",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = self.model._default_manager.get_queryset()
        ordering = self.get_ordering(request)
        if "open_rank" in ordering:
            queryset = queryset.annotate(
                open_rank=Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
            )
        return queryset.order_by(*ordering)

    def get_ordering(self, request):
        # The default (open) view is ordered by the partial index; "all" puts open items first.
        if request.GET.get(StatusFilter.parameter_name) == StatusFilter.ALL:
            return ["open_rank", "severity", "created_at", "pk"]
        return self.ordering

    def has_add_permission(self, request):
        return False  # items come from the pipeline's producers

    def has_delete_permission(self, request, obj=None):
        return False  # items are part of the history

    def action_checkbox(self, obj):
        # Django's markup, without a form-widget template render per row (the inbox's hot path).
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="Select this object for an action - {}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            obj,
        )

    @admin.display(description="item", ordering="object_repr")
    def summary_line(self, item: CurationItem) -> str:
        return item.object_repr or f"{item.content_type.model} {item.object_id}"

    @admin.display(description="kind", ordering="content_type")
    def kind(self, item: CurationItem) -> str:
        return str(item.content_type.name).capitalize()

    @admin.display(description="flagged object")
    def flagged_object(self, item: CurationItem) -> str:
        url = admin_change_url(content_type_id=item.content_type_id, object_id=item.object_id)
        label = f"{item.content_type.name} {item.object_id}"
        if url is None:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="age", ordering="created_at")
    def age(self, item: CurationItem) -> str:
        return short_age(timezone.now() - item.created_at)

    @admin.display(description="evidence")
    def evidence_pretty(self, item: CurationItem) -> str:
        return pretty_json(item.evidence)

    def _run(self, request, queryset, verb, call):
        if not self.has_change_permission(request):
            raise PermissionDenied
        run_per_object(self, request, queryset, verb, lambda item, reason: call(item, request.user, reason))

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        self._run(request, queryset, "Assigned", ITEM_DECISIONS["assign"][1])

    @admin.action(description="Start review", permissions=["change"])
    def start_review(self, request, queryset):
        self._run(request, queryset, "In review", ITEM_DECISIONS["start_review"][1])

    @admin.action(description="Resolve (carry out the proposed action)", permissions=["change"])
    def resolve(self, request, queryset):
        self._run(request, queryset, "Resolved", ITEM_DECISIONS["resolve"][1])

    @admin.action(description="Resolve without acting", permissions=["change"])
    def resolve_without_acting(self, request, queryset):
        self._run(request, queryset, "Resolved", ITEM_DECISIONS["resolve_only"][1])

    @admin.action(description="Dismiss", permissions=["change"])
    def dismiss(self, request, queryset):
        self._run(request, queryset, "Dismissed", ITEM_DECISIONS["dismiss"][1])

    @admin.action(description="Escalate", permissions=["change"])
    def escalate(self, request, queryset):
        self._run(request, queryset, "Escalated", ITEM_DECISIONS["escalate"][1])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and "_decision" in request.POST:
            return self._decide(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "decisions": [(name, label) for name, (label, _) in ITEM_DECISIONS.items()],
            "can_decide": self.has_change_permission(request),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _decide(self, request, object_id):
        """One decision button of the change page, through the same services as the actions."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        item = self.get_object(request, object_id)
        decision = ITEM_DECISIONS.get(request.POST["_decision"])
        if item is None or decision is None:
            raise PermissionDenied
        label, call = decision
        try:
            changed = call(item, request.user, request.POST.get("decision_reason", "").strip())
        except services.CurationError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"{label}: {'done' if changed else 'already so, nothing changed'}.", messages.SUCCESS)
        return HttpResponseRedirect(request.path)


@admin.register(CuratorAction)
class CuratorActionAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """The log, view only for everyone (superusers included)."""

    list_display = ["created_at", "actor_label", "action", "from_state", "to_state", "target_repr", "reason"]
    list_filter = ["action", "content_type"]
    list_select_related = ["content_type"]
    search_fields = ["target_repr", "actor_label", "=object_id", "reason"]
    date_hierarchy = "created_at"
    show_full_result_count = False
