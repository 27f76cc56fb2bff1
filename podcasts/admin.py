from django.contrib import admin

from podcasts.models import Episode, Podcast, Profile, Subscription, Transcript
from podcasts.stages import status_label


@admin.register(Podcast)
class PodcastAdmin(admin.ModelAdmin):
    list_display = ["title", "feed_url", "status", "consecutive_failures", "last_success_at"]
    list_filter = ["status"]
    search_fields = ["title", "feed_url"]
    readonly_fields = ["etag", "last_modified", "last_fetched_at", "last_success_at", "last_error", "consecutive_failures", "feed_sha256"]


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


@admin.register(Transcript)
class TranscriptAdmin(admin.ModelAdmin):
    list_display = ["episode", "source", "language", "duration", "model", "created_at"]
    list_filter = ["source"]
    raw_id_fields = ["episode"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "podcast", "notify_new_episodes", "created_at"]
    raw_id_fields = ["user", "podcast"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "plan", "created_at"]
    list_filter = ["plan"]
    raw_id_fields = ["user"]
