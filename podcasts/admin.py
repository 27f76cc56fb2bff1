from django import forms
from django.contrib import admin, messages

from podcasts.ad_spans import (
    AdSpanInvalid,
    ad_span_add,
    ad_span_check_bounds,
    ad_span_reject,
    ad_span_restore,
    transcript_detect_ad_spans,
)
from podcasts.models import AdSpan, Episode, Podcast, Profile, Subscription, Transcript
from podcasts.stages import status_label


@admin.register(Podcast)
class PodcastAdmin(admin.ModelAdmin):
    list_display = ["title", "feed_url", "status", "consecutive_failures", "last_success_at"]
    list_filter = ["status"]
    search_fields = ["title", "feed_url"]
    readonly_fields = [
        "etag",
        "last_modified",
        "last_fetched_at",
        "last_success_at",
        "last_error",
        "consecutive_failures",
        "feed_sha256",
    ]


@admin.register(Episode)
class EpisodeAdmin(admin.ModelAdmin):
    list_display = ["title", "podcast", "published_at", "stage", "attempts"]
    list_filter = ["pipeline_status"]
    search_fields = ["title", "guid"]
    list_select_related = ["podcast"]
    raw_id_fields = ["podcast"]

    @admin.display(description="Pipeline", ordering="pipeline_status")
    def stage(self, episode: Episode) -> str:
        """The pipeline status in words, from the stage table ("Transcribing", "Queued", …)."""
        return status_label(episode.pipeline_status)


class AdSpanInline(admin.TabularInline):
    """The transcript's ad spans, read-only here; corrections go through the Ad spans page's actions."""

    model = AdSpan
    fields = ["start", "end", "label", "origin", "status", "confidence", "detector_version"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Transcript)
class TranscriptAdmin(admin.ModelAdmin):
    list_display = ["episode", "source", "language", "duration", "model", "created_at"]
    list_filter = ["source"]
    raw_id_fields = ["episode"]
    inlines = [AdSpanInline]
    actions = ["detect_ad_spans"]

    @admin.action(description="Detect ad spans again (curator corrections are kept)")
    def detect_ad_spans(self, request, queryset):
        for transcript in queryset:
            spans = transcript_detect_ad_spans(transcript_id=transcript.pk)
            self.message_user(request, f"{transcript}: {len(spans)} detected ad spans.", messages.SUCCESS)


class AdSpanAddForm(forms.ModelForm):
    reason = forms.CharField(required=False, max_length=2000, help_text="Kept in the curation log.")

    class Meta:
        model = AdSpan
        fields = ["transcript", "start", "end", "label"]

    def clean(self):
        data = super().clean()
        transcript = data.get("transcript")
        if transcript is not None and data.get("start") is not None and data.get("end") is not None:
            try:
                ad_span_check_bounds(transcript, data["start"], data["end"])
            except AdSpanInvalid as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(AdSpan)
class AdSpanAdmin(admin.ModelAdmin):
    """Curators correct ad spans here: add a missed one, or mark one "not an ad" (sticky across re-detection)."""

    list_display = ["transcript", "start", "end", "label", "origin", "status", "confidence", "detector_version"]
    list_filter = ["status", "origin"]
    search_fields = ["label"]
    raw_id_fields = ["transcript"]
    list_select_related = ["transcript"]
    actions = ["mark_not_an_ad", "restore_as_ad"]
    readonly_fields = [
        "transcript",
        "start",
        "end",
        "label",
        "origin",
        "status",
        "confidence",
        "detector_version",
        "created_at",
        "updated_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = AdSpanAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["transcript", "start", "end", "label", "reason"] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            created = ad_span_add(
                transcript_id=obj.transcript_id,
                start=obj.start,
                end=obj.end,
                label=obj.label,
                actor=request.user,
                reason=form.cleaned_data.get("reason", ""),
            )
        except AdSpanInvalid as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        obj.pk = created.pk

    def _per_span(self, request, queryset, call, verb: str) -> None:
        reason = request.POST.get("reason", "").strip()
        done = sum(1 for span in queryset if call(ad_span=span, actor=request.user, reason=reason))
        self.message_user(request, f"{verb}: {done} changed, {queryset.count() - done} already so.", messages.SUCCESS)

    @admin.action(description="Mark as not an ad (sticky)")
    def mark_not_an_ad(self, request, queryset):
        self._per_span(request, queryset, ad_span_reject, "Not an ad")

    @admin.action(description="Restore as an ad")
    def restore_as_ad(self, request, queryset):
        self._per_span(request, queryset, ad_span_restore, "Restored")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "podcast", "notify_new_episodes", "created_at"]
    raw_id_fields = ["user", "podcast"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "plan", "created_at"]
    list_filter = ["plan"]
    raw_id_fields = ["user"]
