"""What the API shows. Feed text and LLM text are plain JSON strings, never HTML: a
client that renders them as HTML must escape them (search snippets too: plain-text
pieces, each marked or not)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from podcasts.forms import FeedSubmissionForm
from podcasts.models import Episode, PipelineStatus
from podcasts.templatetags.castnotes import plain_text


class PodcastSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.SerializerMethodField(help_text="The feed's description as plain text.")
    author = serializers.CharField()
    link = serializers.CharField()
    image_url = serializers.CharField()
    language = serializers.CharField()
    feed_url = serializers.CharField()
    episode_count = serializers.IntegerField(required=False)
    subscribed = serializers.BooleanField(default=False, help_text="Whether you subscribe to it (yours only).")

    @extend_schema_field(serializers.CharField())
    def get_description(self, podcast) -> str:
        return plain_text(podcast.description)


class SubscriptionInputSerializer(serializers.Serializer):
    notify_new_episodes = serializers.BooleanField(default=False, required=False)


class SubscriptionSerializer(serializers.Serializer):
    podcast_id = serializers.IntegerField()
    subscribed = serializers.BooleanField()
    notify_new_episodes = serializers.BooleanField(allow_null=True)


class PodcastRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()


class EpisodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    podcast = PodcastRefSerializer()
    title = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.IntegerField(allow_null=True)
    enclosure_url = serializers.CharField()
    enclosure_type = serializers.CharField()
    pipeline_status = serializers.ChoiceField(choices=PipelineStatus.choices)
    tldr = serializers.CharField(source="current_tldr", allow_null=True, help_text="The current summary's TL;DR.")


class ChapterSerializer(serializers.Serializer):
    startTime = serializers.FloatField()  # the JSON Chapters field name
    title = serializers.CharField()
    toc = serializers.BooleanField(required=False)


class QuoteSerializer(serializers.Serializer):
    text = serializers.CharField()
    start = serializers.FloatField()


class SummarySerializer(serializers.Serializer):
    tldr = serializers.CharField()
    key_points = serializers.ListField(child=serializers.CharField())
    quotes = QuoteSerializer(many=True)
    chapters = serializers.ListField(child=serializers.DictField())
    topics = serializers.ListField(child=serializers.CharField())
    prompt_version = serializers.CharField()
    provider = serializers.CharField()
    model = serializers.CharField()
    outdated = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class LiveStatusSerializer(serializers.Serializer):
    """The object GET /episodes/<id>/status answers (docs/web.md)."""

    stage = serializers.CharField()
    progress = serializers.FloatField(allow_null=True)
    detail = serializers.CharField(help_text="The status in words, e.g. 'Transcribing 1:12:00 of 2:48:00'.")
    updated_at = serializers.DateTimeField(allow_null=True)
    summary_ready = serializers.BooleanField()
    regeneration_pending = serializers.BooleanField()


class PipelineSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PipelineStatus.choices)
    status_changed_at = serializers.DateTimeField()
    attempts = serializers.IntegerField()
    live = LiveStatusSerializer(help_text="The same object as GET /episodes/<id>/status.")


class SponsorSpanSerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()
    label = serializers.CharField(allow_blank=True, help_text="The sponsor's name when known.")


class RegenerationStateSerializer(serializers.Serializer):
    may_regenerate = serializers.BooleanField(help_text="You may ask for a regeneration of this summary now.")
    pending_delivery_id = serializers.IntegerField(allow_null=True, help_text="Your open regeneration, if any.")


class EpisodeDetailSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    podcast = PodcastRefSerializer()
    title = serializers.CharField()
    description = serializers.CharField(help_text="Show notes as plain text.")
    link = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.IntegerField(allow_null=True)
    enclosure_url = serializers.CharField()
    enclosure_type = serializers.CharField()
    summary = SummarySerializer(allow_null=True)
    chapters = ChapterSerializer(many=True)
    chapters_url = serializers.CharField(help_text="The same chapters as Podcasting 2.0 JSON Chapters.")
    sponsor_spans = SponsorSpanSerializer(many=True)
    pipeline = PipelineSerializer()
    transcript_available = serializers.BooleanField()
    regeneration = RegenerationStateSerializer()


class SegmentSerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()
    text = serializers.CharField()


class TranscriptSerializer(serializers.Serializer):
    episode_id = serializers.IntegerField()
    source = serializers.CharField()
    language = serializers.CharField()
    duration = serializers.FloatField(allow_null=True)
    segments = SegmentSerializer(many=True)


class EpisodeFilterSerializer(serializers.Serializer):
    podcast = serializers.IntegerField(required=False, min_value=1)
    since = serializers.DateTimeField(required=False, help_text="Published at or after (ISO 8601).")
    status = serializers.ChoiceField(choices=Episode.PipelineStatus.choices, required=False)
    subscribed = serializers.BooleanField(required=False, help_text="Only podcasts you subscribe to.")


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, trim_whitespace=True)


class SnippetPieceSerializer(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False)
    marked = serializers.BooleanField(help_text="A word of the query: highlight it.")


class SearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    podcast = PodcastRefSerializer()
    tldr = serializers.CharField(source="current_tldr", allow_null=True)
    snippet = SnippetPieceSerializer(
        many=True, help_text="Where the query matched, as plain-text pieces; `marked` ones are the query's words."
    )


class FeedSubmissionInputSerializer(serializers.Serializer):
    feed_url = serializers.CharField(max_length=2000)

    def validate_feed_url(self, value: str) -> str:
        """The web form's own checks (podcasts.forms.FeedSubmissionForm)."""
        form = FeedSubmissionForm({"feed_url": value})
        if not form.is_valid():
            raise serializers.ValidationError(form.errors["feed_url"])
        return form.cleaned_data["feed_url"]


class FeedSubmissionSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="pending_approval (a curator reviews it) or active (already listed).")
    podcast_id = serializers.IntegerField(allow_null=True, help_text="Set when the feed is already in the directory.")


class RegenerationSerializer(serializers.Serializer):
    delivery_id = serializers.IntegerField()
    status = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
