from django.conf import settings
from django.db import models
from django.db.models import Q

from config.urlcache import reverse_pk


class Podcast(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        DISABLED = "disabled", "Disabled"

    feed_url = models.URLField(max_length=2000, unique=True)
    # Publisher-owned fields: refreshed by every ingest.
    title = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True, help_text="Sanitized HTML from the feed.")
    link = models.URLField(max_length=2000, blank=True)
    image_url = models.URLField(max_length=2000, blank=True)
    author = models.CharField(max_length=500, blank=True)
    language = models.CharField(max_length=35, blank=True)
    explicit = models.BooleanField(null=True)
    itunes_type = models.CharField(max_length=20, blank=True)
    categories = models.JSONField(default=list, blank=True)
    # The feed's artwork cached locally (podcasts.artwork): path under MEDIA_ROOT, sniffed type, and the URL it came from.
    artwork_path = models.CharField(max_length=300, blank=True)
    artwork_type = models.CharField(max_length=20, blank=True)
    artwork_source_url = models.URLField(max_length=2000, blank=True)
    # Fetch bookkeeping.
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    feed_sha256 = models.CharField(
        max_length=64, blank=True, help_text="Hash of the last ingested body: an identical body is not parsed again."
    )
    # Curator-owned fields: ingest never writes these.
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    curator_notes = models.TextField(blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title or self.feed_url

    def get_absolute_url(self) -> str:
        return reverse_pk("summaries:podcast_detail", self.pk)


class PipelineStatus(models.TextChoices):
    NEW = "new", "New"
    DOWNLOADING = "downloading", "Downloading"
    DOWNLOADED = "downloaded", "Downloaded"
    TRANSCRIBING = "transcribing", "Transcribing"
    TRANSCRIBED = "transcribed", "Transcribed"
    SUMMARIZING = "summarizing", "Summarizing"
    SUMMARIZED = "summarized", "Summarized"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    # A curator stopped the work (/admin/pipeline/); nothing picks it up again until retried.
    CANCELLED = "cancelled", "Cancelled"


class Episode(models.Model):
    PipelineStatus = PipelineStatus

    class EpisodeType(models.TextChoices):
        FULL = "full", "Full"
        TRAILER = "trailer", "Trailer"
        BONUS = "bonus", "Bonus"

    podcast = models.ForeignKey(Podcast, on_delete=models.CASCADE, related_name="episodes")
    guid = models.CharField(max_length=1000, help_text="Natural key: feed guid, else enclosure URL, else a hash.")
    # Publisher-owned fields: refreshed by every ingest.
    title = models.CharField(max_length=1000, blank=True)
    description = models.TextField(blank=True, help_text="Sanitized HTML from the feed.")
    link = models.URLField(max_length=2000, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    enclosure_url = models.URLField(max_length=2000, blank=True)
    enclosure_type = models.CharField(max_length=100, blank=True)
    enclosure_length = models.BigIntegerField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    image_url = models.URLField(max_length=2000, blank=True)
    explicit = models.BooleanField(null=True)
    episode_number = models.PositiveIntegerField(null=True, blank=True)
    season_number = models.PositiveIntegerField(null=True, blank=True)
    episode_type = models.CharField(max_length=10, choices=EpisodeType.choices, default=EpisodeType.FULL)
    transcript_url = models.URLField(max_length=2000, blank=True)
    transcript_type = models.CharField(max_length=100, blank=True)
    transcript_links = models.JSONField(
        default=list, blank=True, help_text="Every podcast:transcript {url, type, language, rel}."
    )
    chapters = models.JSONField(default=list, blank=True, help_text="Inline chapters [{start, title}].")
    chapters_url = models.URLField(max_length=2000, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, help_text="Hash of the publisher fields, to skip unchanged items.")
    # Pipeline state (see DESIGN.md "The pipeline").
    pipeline_status = models.CharField(max_length=20, choices=PipelineStatus.choices, default=PipelineStatus.NEW)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="When the current stage's job was handed to the queue.")
    retry_after = models.DateTimeField(null=True, blank=True, help_text="A failed attempt waits until then (backoff).")
    audio_path = models.CharField(max_length=1000, blank=True, help_text="Relative to MEDIA_ROOT.")
    audio_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    audio_bytes = models.BigIntegerField(null=True, blank=True)
    audio_duration = models.FloatField(null=True, blank=True)
    # Transcription: share of the audio done (0–1) while transcribing, and the model the next attempt uses.
    progress = models.FloatField(
        null=True, blank=True, help_text="Seconds transcribed / duration, written by the whisper worker."
    )
    progress_updated_at = models.DateTimeField(null=True, blank=True)
    whisper_model = models.CharField(
        max_length=200, blank=True, help_text="Set by the out-of-memory fallback (WHISPER_FALLBACK_MODELS); empty: WHISPER_MODEL."
    )
    # Curator-owned fields: ingest never writes these.
    hidden = models.BooleanField(default=False)
    curator_notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["podcast", "guid"], name="episode_unique_podcast_guid"),
            models.CheckConstraint(
                condition=Q(pipeline_status__in=PipelineStatus.values),
                name="episode_pipeline_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(progress__isnull=True) | Q(progress__gte=0, progress__lte=1),
                name="episode_progress_share",
            ),
        ]
        permissions = [("steer_pipeline", "Can see and steer the pipeline (/admin/pipeline/)")]
        indexes = [
            models.Index(fields=["pipeline_status", "status_changed_at"], name="episode_status_changed"),
            models.Index(fields=["podcast", "-published_at"], name="episode_podcast_published"),
        ]

    def __str__(self) -> str:
        return self.title or self.guid

    def get_absolute_url(self) -> str:
        return reverse_pk("summaries:episode_detail", self.pk)


class Transcript(models.Model):
    class Source(models.TextChoices):
        WHISPER = "whisper", "Whisper"
        PUBLISHER = "publisher", "Publisher"
        REUSED = "reused", "Reused (same audio)"

    episode = models.OneToOneField(Episode, on_delete=models.CASCADE, related_name="transcript")
    source = models.CharField(max_length=20, choices=Source.choices)
    language = models.CharField(max_length=35, blank=True)
    duration = models.FloatField(null=True, blank=True)
    segments = models.JSONField(
        default=list, help_text="[{start, end, text, avg_logprob, no_speech_prob, words: [{start, end, word, probability}]}]"
    )
    text = models.TextField(blank=True)
    model = models.CharField(max_length=200, blank=True)
    wall_seconds = models.FloatField(null=True, blank=True)
    avg_logprob = models.FloatField(null=True, blank=True)
    no_speech_ratio = models.FloatField(null=True, blank=True)
    source_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Transcript of {self.episode_id} ({self.source})"


class Subscription(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    podcast = models.ForeignKey(Podcast, on_delete=models.CASCADE, related_name="subscriptions")
    notify_new_episodes = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "podcast"], name="subscription_unique_user_podcast")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.podcast_id}"


class Profile(models.Model):
    class Plan(models.TextChoices):
        FREE = "free", "Free"
        PREMIUM = "premium", "Premium"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.FREE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(plan__in=["free", "premium"]), name="profile_plan_valid"),
        ]

    def __str__(self) -> str:
        return f"Profile {self.user_id} ({self.plan})"


class AdSpan(models.Model):
    """A stretch of a transcript that is an ad (sponsor read, promo of another show), in seconds.

    Rows come from the offline detector, from the LLM's summary reply, or from a
    curator. A curator's "not an ad" keeps the row with status
    rejected_by_curator, so re-detection can see it and does not bring the
    span back (podcasts/ad_spans.py).
    """

    class Origin(models.TextChoices):
        DETECTOR = "detector", "Offline detector"
        LLM = "llm", "LLM"
        CURATOR = "curator", "Curator"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REJECTED_BY_CURATOR = "rejected_by_curator", "Not an ad (curator)"

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="ad_spans")
    start = models.FloatField()
    end = models.FloatField()
    label = models.CharField(max_length=200, blank=True, help_text="The sponsor's name when known.")
    confidence = models.FloatField(default=1.0)
    origin = models.CharField(max_length=20, choices=Origin.choices)
    detector_version = models.CharField(
        max_length=100, blank=True, help_text="Detector version, or the model that returned an LLM span."
    )
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["transcript", "start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(start__gte=0) & Q(end__gt=models.F("start")), name="adspan_end_after_start"),
            models.CheckConstraint(condition=Q(confidence__gte=0) & Q(confidence__lte=1), name="adspan_confidence_0_1"),
            models.CheckConstraint(condition=Q(origin__in=["detector", "llm", "curator"]), name="adspan_origin_valid"),
            models.CheckConstraint(condition=Q(status__in=["active", "rejected_by_curator"]), name="adspan_status_valid"),
        ]
        indexes = [models.Index(fields=["transcript", "status", "start"], name="adspan_transcript_status")]

    def __str__(self) -> str:
        return f"{self.label or 'Ad'} {self.start:.0f}–{self.end:.0f} s ({self.origin}, {self.status})"
