from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

OPEN_STATUSES = ("pending", "in_review", "escalated")


class CurationItem(models.Model):
    """One entry of the curation inbox, pointing at any object (generic FK)."""

    class FlagClass(models.TextChoices):
        JOB_FAILED = "job_failed", "Job failed"
        MALFORMED_LLM_OUTPUT = "malformed_llm_output", "Malformed LLM output"
        UNVERIFIED_QUOTE = "unverified_quote", "Unverified quote"
        UNVERIFIED_AD_SPAN = "unverified_ad_span", "Unverified ad span"
        LOW_CONFIDENCE_TRANSCRIPT = "low_confidence_transcript", "Low-confidence transcript"
        DUPLICATE_AUDIO = "duplicate_audio", "Duplicate audio"
        FEED_BROKEN = "feed_broken", "Broken feed"
        FEED_SUBMISSION = "feed_submission", "Feed submission"
        LLM_BUDGET_EXHAUSTED = "llm_budget_exhausted", "LLM budget exhausted"
        DELIVERY_FAILED = "delivery_failed", "Delivery failed"
        MEDIA_BUDGET_SPENT = "media_budget_spent", "Audio storage budget spent"

    class Severity(models.TextChoices):
        P0 = "P0", "P0 — broken"
        P1 = "P1", "P1 — wrong"
        P2 = "P2", "P2 — doubtful"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_REVIEW = "in_review", "In review"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"
        ESCALATED = "escalated", "Escalated"

    class ProposedAction(models.TextChoices):
        NONE = "", "None"
        INGEST_FEED = "ingest_feed", "Approve and ingest the feed"
        RETRY_JOB = "retry_job", "Retry the failed job"
        HIDE_SUMMARY = "hide_summary", "Hide the summary"
        RESUMMARIZE = "resummarize", "Summarize again"
        RETRANSCRIBE = "retranscribe", "Transcribe again"

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    content_object = GenericForeignKey("content_type", "object_id")
    object_repr = models.CharField(max_length=500, blank=True, help_text="Snapshot, readable after the object is gone.")
    flag_class = models.CharField(max_length=40, choices=FlagClass.choices)
    severity = models.CharField(max_length=2, choices=Severity.choices)
    proposed_action = models.CharField(max_length=20, choices=ProposedAction.choices, default="", blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    proposed_by = models.CharField(max_length=100, help_text="The stage or user that raised it.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    last_seen = models.DateTimeField(auto_now_add=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["severity", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "flag_class"],
                condition=Q(status__in=OPEN_STATUSES),
                name="curationitem_one_open_per_object_flag",
            ),
            models.CheckConstraint(condition=Q(severity__in=["P0", "P1", "P2"]), name="curationitem_severity_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "in_review", "resolved", "dismissed", "escalated"]),
                name="curationitem_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "severity", "created_at"], name="curationitem_inbox"),
            # The inbox's default view (open items by severity then age) and its kind facet.
            models.Index(
                fields=["severity", "created_at", "id"], condition=Q(status__in=OPEN_STATUSES), name="curationitem_open_inbox"
            ),
            models.Index(
                fields=["content_type", "flag_class"], condition=Q(status__in=OPEN_STATUSES), name="curationitem_open_kind"
            ),
            models.Index(fields=["content_type", "object_id"], name="curationitem_object"),
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.get_flag_class_display()}: {self.object_repr}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AppendOnlyError(ValueError):
    """A write that would change or remove a CuratorAction row."""


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk update and delete, so the log cannot be rewritten through the ORM either."""

    def update(self, **kwargs):
        raise AppendOnlyError("CuratorAction is append-only: rows cannot be updated.")

    def delete(self):
        raise AppendOnlyError("CuratorAction is append-only: rows cannot be deleted.")

    # Django's own deletion collector (deleting a user sets actor to NULL) uses the
    # base manager, a plain Manager; the database trigger allows exactly that update.


class CuratorAction(models.Model):
    """Append-only log of every editorial transition and queue decision."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=150, help_text="Username, or 'system:<stage>' for automation.")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    target = GenericForeignKey("content_type", "object_id")
    target_repr = models.CharField(max_length=500, blank=True)
    action = models.CharField(max_length=50)
    from_state = models.CharField(max_length=40, blank=True)
    to_state = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True)
    # PROTECT: an item that has been acted on is part of the history and stays.
    curation_item = models.ForeignKey(
        CurationItem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="actions",
        help_text="The inbox item this decision was about, for queue actions.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-created_at"], name="curatoraction_target")]

    def __str__(self) -> str:
        return f"{self.actor_label}: {self.action} {self.from_state}→{self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("CuratorAction is append-only: rows cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("CuratorAction is append-only: rows cannot be deleted.")
