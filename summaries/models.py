from django.conf import settings
from django.db import models
from django.db.models import Q


class EditorialStatus(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    PUBLISHED = "published", "Published"
    FEATURED = "featured", "Featured"
    HIDDEN = "hidden", "Hidden"
    RETIRED = "retired", "Retired"


class Summary(models.Model):
    """An immutable, schema-validated summary of one episode's transcript.

    Summaries are never hard-deleted by automation: a superseded one is retired.
    """

    EditorialStatus = EditorialStatus

    episode = models.ForeignKey("podcasts.Episode", on_delete=models.CASCADE, related_name="summaries")
    content = models.JSONField(help_text="Validated against summaries.schema: tldr, key_points, quotes, chapters, topics.")
    prompt_version = models.CharField(max_length=20)
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=100)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    source_hash = models.CharField(
        max_length=64, db_index=True, help_text="sha256(transcript text, ad spans left out, prompt version, model)."
    )
    ad_spans = models.JSONField(
        null=True,
        blank=True,
        help_text="The ad spans the summary was made without, [[start, end], …]; null when not recorded (older summaries).",
    )
    warnings = models.JSONField(default=list, blank=True)
    requests = models.PositiveIntegerField(default=0, help_text="LLM requests made to produce it.")
    editorial_status = models.CharField(max_length=20, choices=EditorialStatus.choices, default=EditorialStatus.CANDIDATE)
    editorial_changed_at = models.DateTimeField(auto_now_add=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "summaries"
        constraints = [
            models.CheckConstraint(
                condition=Q(editorial_status__in=EditorialStatus.values),
                name="summary_editorial_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["episode", "editorial_status"], name="summary_episode_status"),
            models.Index(fields=["prompt_version", "editorial_status"], name="summary_version_status"),
        ]

    def __str__(self) -> str:
        return f"Summary {self.pk} of episode {self.episode_id} ({self.prompt_version}, {self.editorial_status})"

    @property
    def is_extractive(self) -> bool:
        """The offline summarizer made it: the UI labels it as extracted sentences, not an AI summary."""
        return self.provider == "extractive"

    @property
    def provider_label(self) -> str:
        if self.is_extractive:
            return "Extractive summary: sentences taken from the transcript"
        return f"Summary by {self.model}"


class Delivery(models.Model):
    """One piece of work for one user: a regeneration or a new-episode email."""

    class Kind(models.TextChoices):
        REGENERATION = "regeneration", "Regeneration"
        NEW_EPISODE = "new_episode", "New episode email"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    episode = models.ForeignKey("podcasts.Episode", on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    target_prompt_version = models.CharField(max_length=20, blank=True)
    summary = models.ForeignKey(Summary, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    batch_id = models.CharField(max_length=200, blank=True, db_index=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            # A double-click or a burst of POSTs makes one pending regeneration.
            models.UniqueConstraint(
                fields=["episode", "user"],
                condition=Q(kind="regeneration", status__in=["pending", "processing"]),
                name="delivery_one_open_regeneration",
            ),
            models.UniqueConstraint(
                fields=["episode", "user"],
                condition=Q(kind="new_episode"),
                name="delivery_one_new_episode_email",
            ),
            models.CheckConstraint(condition=Q(kind__in=["regeneration", "new_episode"]), name="delivery_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "processing", "sent", "failed", "cancelled"]),
                name="delivery_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="delivery_status_changed")]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} ({self.status})"


class LLMUsage(models.Model):
    """Tokens spent on LLM requests per UTC day: the ledger LLM_DAILY_TOKEN_BUDGET is checked against.

    `reserved_tokens` holds the estimate of requests in flight, so concurrent
    workers cannot together overshoot the budget (a conditional UPDATE reserves).
    """

    day = models.DateField(unique=True)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    reserved_tokens = models.BigIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = "LLM usage"
        verbose_name_plural = "LLM usage"

    def __str__(self) -> str:
        return f"LLM usage {self.day}: {self.input_tokens + self.output_tokens} tokens"

    @property
    def used_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class FeedToken(models.Model):
    """The secret in a user's private feed URLs (/feeds/<token>.xml), docs/api.md.

    The token is `selector` + `verifier`: the selector finds the row, the verifier
    (128 random bits) is compared in constant time. It is kept readable because the
    account page shows the feed URLs again; rotating replaces both halves.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_token")
    selector = models.CharField(max_length=24, unique=True)
    verifier = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Feed token of user {self.user_id}"

    @property
    def token(self) -> str:
        return self.selector + self.verifier


class ApiToken(models.Model):
    """A personal API token (Authorization: Bearer cn_<prefix>_<secret>), shown once.

    Only `prefix` (to find the row) and a salted SHA-256 of the secret are stored.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=24, unique=True)
    salt = models.CharField(max_length=64)
    key_hash = models.CharField(max_length=64)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="apitoken_user_revoked")]

    def __str__(self) -> str:
        return f"API token {self.pk} of user {self.user_id} ({self.name or 'unnamed'})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
