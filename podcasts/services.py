"""Every write to podcasts, episodes, transcripts, subscriptions and profiles."""

import functools
import hashlib
import logging
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import defusedxml.ElementTree
from defusedxml import DefusedXmlException
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.test.utils import override_settings
from django.utils import timezone

from config.queues import enqueue_on_commit
from curation.services import curator_action_record, curators_group_ensure, enqueue_for_review
from podcasts import fetch
from podcasts.artwork import podcast_artwork_fetch
from podcasts.feeds import EPISODE_FIELDS, PODCAST_FIELDS, FeedRefused, normalize_feed_url, parse_feed, plain_text
from podcasts.models import Episode, Podcast, Profile, Subscription
from podcasts.pipeline import episode_enqueue, episode_retranscribe, pipeline_held

DEMO_PASSWORD = "castnotes"


@transaction.atomic
def demo_users_ensure(*, subscribe_to: tuple[int, ...] = ()) -> list[str]:
    """Create (or reset) the demo accounts: premium, reader, curator, admin; `premium`
    subscribes to the podcasts `subscribe_to` (the sample podcast), so its home page has episodes."""
    User = get_user_model()
    specs = [
        ("premium", Profile.Plan.PREMIUM, False, False),
        ("reader", Profile.Plan.FREE, False, False),
        ("curator", Profile.Plan.FREE, True, False),
        ("admin", Profile.Plan.PREMIUM, True, True),
    ]
    for username, plan, is_staff, is_superuser in specs:
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.is_staff = is_staff
        user.is_superuser = is_superuser
        user.set_password(DEMO_PASSWORD)
        user.save()
        Profile.objects.update_or_create(user=user, defaults={"plan": plan})
        if username == "curator":
            user.groups.add(curators_group_ensure())
        if username == "premium":
            for podcast_id in subscribe_to:
                Subscription.objects.get_or_create(user=user, podcast_id=podcast_id)
    return [spec[0] for spec in specs]


def demo_episode_replay(*, podcast_id: int) -> int | None:
    """Send the sample podcast's newest episode back to be transcribed again, held out of
    any queue, so the live status has something to show: scripts/demo.sh runs
    `manage.py process` in the background once the server is up, and the episode's page
    follows it (its current summary stays until the new transcript's replaces it).
    Returns the episode's id, or None when there is nothing to replay."""
    episode_id = (
        Episode.objects.filter(podcast_id=podcast_id)
        .exclude(audio_path="")
        .order_by(F("published_at").desc(nulls_last=True), "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if episode_id is None:
        return None
    with pipeline_held():
        moved = episode_retranscribe(episode_id=episode_id, actor=None)
    return episode_id if moved else None


# --- Feed ingestion ----------------------------------------------------------------------
# DESIGN.md "Rules for untrusted input"; decisions in docs/feeds.md.

logger = logging.getLogger("castnotes.feeds")

FEED_FAILURES_BEFORE_REVIEW = 3
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
BULK_BATCH = 500


class FeedIngestError(Exception):
    """A feed that could not be added; the message is one line for an operator."""


class PodcastNotPending(Exception):
    """Only a podcast awaiting approval can be approved."""


@dataclass
class IngestReport:
    podcast_id: int | None
    title: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    items_cut: int = 0
    fields_cut: int = 0
    total: int = 0
    not_modified: bool = False
    error: str = ""
    new_episode_ids: list[int] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.error

    def as_json(self) -> dict:
        data = {
            "podcast_id": self.podcast_id,
            "title": self.title,
            "episodes_created": self.created,
            "episodes_updated": self.updated,
            "episodes_total": self.total,
        }
        if self.items_cut or self.fields_cut:
            data["cut"] = {"items": self.items_cut, "fields": self.fields_cut}  # FEED_MAX_ITEMS / FEED_FIELD_MAX_BYTES
        if self.error:
            data["error"] = self.error
        return data


def _fetch_feed(*, url: str, etag: str = "", last_modified: str = "") -> fetch.FetchResult:
    return fetch.fetch_bytes(url, max_bytes=settings.FEED_MAX_BYTES, etag=etag, last_modified=last_modified, accept=FEED_ACCEPT)


def _parse(body: bytes, *, base_url: str) -> dict:
    return parse_feed(body, base_url=base_url, max_items=settings.FEED_MAX_ITEMS, max_field_bytes=settings.FEED_FIELD_MAX_BYTES)


def podcast_add(*, feed_url: str, actor=None) -> IngestReport:
    """Add a feed (or find it) and ingest it now.

    A new feed is fetched and parsed before anything is written, so a hostile or
    broken URL stores nothing and raises FeedIngestError. A known feed is refreshed.
    """
    feed_url = (feed_url or "").strip()
    if not feed_url:
        raise FeedIngestError("No feed URL given.")
    try:
        fetch.check_url(feed_url)  # before any query: a bare path or file:// never reaches the database
    except fetch.UnsafeURL as exc:
        raise FeedIngestError(str(exc)) from None
    # One spelling per feed (scheme/host case, default port, fragment): rows stored before
    # were rewritten by migration 0006_normalise_feed_urls.
    feed_url = normalize_feed_url(feed_url)
    existing = Podcast.objects.filter(feed_url=feed_url).first()
    if existing is not None:
        return podcast_refresh(podcast=existing)
    try:
        result = _fetch_feed(url=feed_url)
        parsed = _parse(result.body, base_url=feed_url)
    except (fetch.FetchError, FeedRefused) as exc:
        logger.debug("feed_add_refused", extra={"event": "feed_add_refused", "error": str(exc)[:300]})
        raise FeedIngestError(str(exc)) from None
    if len(feed_url) > Podcast._meta.get_field("feed_url").max_length:
        raise FeedIngestError("The feed URL is too long.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                podcast = Podcast.objects.create(feed_url=feed_url, submitted_by=actor if getattr(actor, "pk", None) else None)
        except IntegrityError:
            podcast = Podcast.objects.get(feed_url=feed_url)  # added concurrently: upsert into it
        report = _podcast_store(
            podcast=podcast, parsed=parsed, body=result.body, etag=result.etag, last_modified=result.last_modified
        )
    logger.info("feed_added", extra={"event": "feed_added", "podcast_id": podcast.pk, "actor_id": getattr(actor, "pk", None)})
    if report.ok:
        podcast_artwork_fetch(podcast_id=podcast.pk)
    return report


def podcast_refresh(*, podcast: Podcast) -> IngestReport:
    """Fetch a known feed with a conditional GET and ingest it; failures are recorded, never raised.

    A 304 (or a body identical to the last one) is not parsed at all.
    """
    try:
        result = _fetch_feed(url=podcast.feed_url, etag=podcast.etag, last_modified=podcast.last_modified)
    except fetch.FetchError as exc:
        return _podcast_record_failure(podcast=podcast, error=str(exc))
    if result.not_modified:
        return _podcast_record_unchanged(podcast=podcast, etag=result.etag, last_modified=result.last_modified)
    report = podcast_ingest_bytes(podcast=podcast, body=result.body, etag=result.etag, last_modified=result.last_modified)
    if report.ok:
        podcast_artwork_fetch(podcast_id=podcast.pk)
    return report


def podcast_ingest_bytes(*, podcast: Podcast, body: bytes, etag: str = "", last_modified: str = "") -> IngestReport:
    """Parse `body` as `podcast`'s feed and upsert its episodes (idempotent, bulk)."""
    if podcast.feed_sha256 and hashlib.sha256(body).hexdigest() == podcast.feed_sha256:
        return _podcast_record_unchanged(podcast=podcast, etag=etag, last_modified=last_modified)
    try:
        parsed = _parse(body, base_url=podcast.feed_url)
    except FeedRefused as exc:
        return _podcast_record_failure(podcast=podcast, error=str(exc))
    with transaction.atomic():
        return _podcast_store(podcast=podcast, parsed=parsed, body=body, etag=etag, last_modified=last_modified)


def _podcast_store(*, podcast: Podcast, parsed: dict, body: bytes, etag: str, last_modified: str) -> IngestReport:
    """Upsert inside the caller's transaction: one read of (guid, hash), bulk inserts, bulk updates.

    Only publisher fields are written; curator fields (hidden, curator_notes,
    status) and pipeline fields are never touched on an existing row.
    """
    now = timezone.now()
    # One ingest per podcast at a time (PostgreSQL row lock; SQLite already has one writer).
    Podcast.objects.select_for_update().filter(pk=podcast.pk).values_list("pk", flat=True).first()
    known = {
        guid: (pk, digest, enclosure_url)
        for guid, pk, digest, enclosure_url in Episode.objects.filter(podcast=podcast).values_list(
            "guid", "pk", "content_hash", "enclosure_url"
        )
    }
    cut = parsed.get("cut") or {}
    report = IngestReport(
        podcast_id=podcast.pk, skipped=parsed["skipped"], items_cut=cut.get("items", 0), fields_cut=cut.get("fields", 0)
    )
    to_create: list[Episode] = []
    to_update: list[Episode] = []
    gained_audio: list[int] = []
    for fields in parsed["episodes"]:
        row = known.get(fields["guid"])
        if row is None:
            status = Episode.PipelineStatus.NEW if fields["enclosure_url"] else Episode.PipelineStatus.SKIPPED
            to_create.append(Episode(podcast_id=podcast.pk, pipeline_status=status, status_changed_at=now, **fields))
        elif row[1] != fields["content_hash"]:
            episode = Episode(pk=row[0], podcast_id=podcast.pk, updated_at=now, **fields)
            to_update.append(episode)
            if fields["enclosure_url"] and not row[2]:
                gained_audio.append(row[0])
        else:
            report.unchanged += 1
    if not known:
        _backfill_limit(to_create, now=now)
    if to_create:
        Episode.objects.bulk_create(to_create, batch_size=BULK_BATCH)
    if to_update:
        Episode.objects.bulk_update(to_update, [*EPISODE_FIELDS, "content_hash", "updated_at"], batch_size=BULK_BATCH)
    new_ids = [e.pk for e in to_create if e.pipeline_status == Episode.PipelineStatus.NEW]
    if any(pk is None for pk in new_ids):  # a backend that cannot return ids from bulk inserts
        new_ids = list(
            Episode.objects.filter(
                podcast=podcast, guid__in=[e.guid for e in to_create], pipeline_status=Episode.PipelineStatus.NEW
            ).values_list("pk", flat=True)
        )
    if gained_audio:
        # An item that had no audio was skipped; now that it has some it enters the pipeline.
        revived = list(
            Episode.objects.filter(pk__in=gained_audio, pipeline_status=Episode.PipelineStatus.SKIPPED).values_list(
                "pk", flat=True
            )
        )
        Episode.objects.filter(pk__in=revived).update(pipeline_status=Episode.PipelineStatus.NEW, status_changed_at=now)
        new_ids.extend(revived)
    podcast_fields = {name: parsed["podcast"][name] for name in PODCAST_FIELDS}
    if not podcast_fields["title"]:
        podcast_fields.pop("title")  # keep a title an earlier ingest or the OPML import gave
    Podcast.objects.filter(pk=podcast.pk).update(
        **podcast_fields,
        etag=etag,
        last_modified=last_modified,
        feed_sha256=hashlib.sha256(body).hexdigest(),
        last_fetched_at=now,
        last_success_at=now,
        last_error="",
        consecutive_failures=0,
        updated_at=now,
    )
    report.created = len(to_create)
    report.updated = len(to_update)
    report.new_episode_ids = new_ids
    report.title = podcast_fields.get("title") or Podcast.objects.values_list("title", flat=True).get(pk=podcast.pk)
    report.total = Episode.objects.filter(podcast=podcast).count()
    if new_ids:
        transaction.on_commit(lambda: episodes_enqueue_new(episode_ids=new_ids))
    podcast.refresh_from_db()
    logger.info(
        "feed_ingested",
        extra={
            "event": "feed_ingested",
            "podcast_id": podcast.pk,
            "episodes_created": report.created,
            "episodes_updated": report.updated,
            "episodes_unchanged": report.unchanged,
            "items_skipped": report.skipped,
            "items_cut": report.items_cut,
            "fields_cut": report.fields_cut,
        },
    )
    if report.items_cut or report.fields_cut:
        logger.warning(
            "feed_cut",
            extra={
                "event": "feed_cut",
                "podcast_id": podcast.pk,
                "items_cut": report.items_cut,
                "fields_cut": report.fields_cut,
                "max_items": settings.FEED_MAX_ITEMS,
                "max_field_bytes": settings.FEED_FIELD_MAX_BYTES,
            },
        )
    return report


def _podcast_record_unchanged(*, podcast: Podcast, etag: str, last_modified: str) -> IngestReport:
    """A 304 or an identical body: a success that changes no episode."""
    now = timezone.now()
    updates = {"last_fetched_at": now, "last_success_at": now, "last_error": "", "consecutive_failures": 0, "updated_at": now}
    if etag:
        updates["etag"] = etag
    if last_modified:
        updates["last_modified"] = last_modified
    Podcast.objects.filter(pk=podcast.pk).update(**updates)
    podcast.refresh_from_db()
    total = podcast.episodes.count()
    logger.info("feed_unchanged", extra={"event": "feed_unchanged", "podcast_id": podcast.pk})
    return IngestReport(podcast_id=podcast.pk, title=podcast.title, unchanged=total, total=total, not_modified=True)


def _podcast_record_failure(*, podcast: Podcast, error: str) -> IngestReport:
    """Record a failed refresh; the podcast keeps every episode. The 3rd failure in a row flags it."""

    error = error[:2000]
    now = timezone.now()
    with transaction.atomic():
        Podcast.objects.filter(pk=podcast.pk).update(
            last_error=error, consecutive_failures=F("consecutive_failures") + 1, last_fetched_at=now, updated_at=now
        )
        podcast.refresh_from_db()
        total = podcast.episodes.count()
        if podcast.consecutive_failures >= FEED_FAILURES_BEFORE_REVIEW:
            enqueue_for_review(
                target=podcast,
                flag_class="feed_broken",
                severity="P1",
                proposed_by="feeds:refresh",
                evidence={
                    "podcast_id": podcast.pk,
                    "feed_url": podcast.feed_url,
                    "title": podcast.title,
                    "consecutive_failures": podcast.consecutive_failures,
                    "last_error": error,
                    "last_success_at": podcast.last_success_at.isoformat() if podcast.last_success_at else None,
                    "episodes": total,
                },
            )
    logger.warning(
        "feed_refresh_failed",
        extra={
            "event": "feed_refresh_failed",
            "podcast_id": podcast.pk,
            "failures": podcast.consecutive_failures,
            "error": error[:300],
        },
    )
    return IngestReport(podcast_id=podcast.pk, title=podcast.title, total=total, error=error)


def podcasts_refresh_active() -> list[IngestReport]:
    """Refresh every active feed, one after another (pollfeeds)."""
    reports = []
    for podcast in Podcast.objects.filter(status=Podcast.Status.ACTIVE).order_by("pk").iterator():
        try:
            reports.append(podcast_refresh(podcast=podcast))
        except Exception as exc:  # one broken feed must not stop the others; it is recorded on its podcast
            logger.exception("feed_refresh_crashed", extra={"event": "feed_refresh_crashed", "podcast_id": podcast.pk})
            reports.append(
                _podcast_record_failure(podcast=podcast, error=f"Internal error while ingesting: {type(exc).__name__}")
            )
    return reports


BACK_CATALOGUE_NOTE = (
    "Back catalogue: not processed automatically (BACKFILL_EPISODES); a curator or `process --episode` can run it."
)


def _backfill_limit(episodes: list[Episode], *, now) -> None:
    """On a feed's first ingest only the newest BACKFILL_EPISODES enter the pipeline.

    A new show with years of episodes would otherwise queue hours of whisper and
    LLM work nobody asked for; the older ones are stored as `skipped` with a note.
    """
    audio = [e for e in episodes if e.pipeline_status == Episode.PipelineStatus.NEW]
    if len(audio) <= settings.BACKFILL_EPISODES:
        return
    audio.sort(key=lambda e: (e.published_at is not None, e.published_at or now), reverse=True)
    for episode in audio[settings.BACKFILL_EPISODES :]:
        episode.pipeline_status = Episode.PipelineStatus.SKIPPED
        episode.last_error = BACK_CATALOGUE_NOTE


def episodes_enqueue_new(*, episode_ids: list[int]) -> int:
    """Hand new episodes to the first pipeline stage; returns how many were enqueued."""

    return sum(1 for episode_id in episode_ids if episode_enqueue(episode_id=episode_id))


def podcast_submit(*, feed_url: str, user) -> Podcast:
    """A subscriber suggests a feed: store it pending approval and flag it for a curator (no fetch yet)."""

    feed_url = (feed_url or "").strip()
    try:
        fetch.check_url(feed_url)
    except fetch.UnsafeURL as exc:
        raise FeedIngestError(str(exc)) from None
    feed_url = normalize_feed_url(feed_url)
    with transaction.atomic():
        podcast, created = Podcast.objects.get_or_create(
            feed_url=feed_url, defaults={"status": Podcast.Status.PENDING_APPROVAL, "submitted_by": user}
        )
        if created:
            enqueue_for_review(
                target=podcast,
                flag_class="feed_submission",
                severity="P2",
                proposed_action="ingest_feed",
                proposed_by=f"user:{user.pk}",
                evidence={"podcast_id": podcast.pk, "feed_url": feed_url, "submitted_by": user.pk},
            )
    return podcast


def podcast_approve_submission(*, podcast: Podcast, actor) -> IngestReport:
    """A curator approves a feed awaiting approval: it becomes active and is ingested now."""

    with transaction.atomic():
        moved = Podcast.objects.filter(pk=podcast.pk, status=Podcast.Status.PENDING_APPROVAL).update(
            status=Podcast.Status.ACTIVE, updated_at=timezone.now()
        )
        if moved != 1:
            raise PodcastNotPending(f"Podcast {podcast.pk} is not awaiting approval.")
        podcast.refresh_from_db()
        curator_action_record(
            actor=actor, target=podcast, action="feed_approved", from_state="pending_approval", to_state="active"
        )
    return podcast_refresh(podcast=podcast)


# --- OPML ----------------------------------------------------------------------------------


class OpmlError(Exception):
    """The file is not OPML Castnotes can read; one line for an operator."""


@dataclass
class OpmlImportReport:
    added: list[int] = field(default_factory=list)
    existing: int = 0
    invalid: list[str] = field(default_factory=list)


def opml_import(*, data: bytes) -> OpmlImportReport:
    """Add every feed of an OPML file; each new one is refreshed by a `feeds` job after commit."""
    try:
        root = defusedxml.ElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise OpmlError("Refused: the OPML declares a DOCTYPE or entities.") from None
    except ET.ParseError as exc:
        raise OpmlError(f"Not valid OPML (XML error: {exc}).") from None
    if root.tag.lower() != "opml":
        raise OpmlError(f"Not an OPML file (root element is <{root.tag}>).")
    report = OpmlImportReport()
    max_length = Podcast._meta.get_field("feed_url").max_length
    with transaction.atomic():
        for outline in root.iter("outline"):
            attrs = {key.lower(): value for key, value in outline.attrib.items()}
            url = (attrs.get("xmlurl") or "").strip()
            if not url:
                continue
            try:
                fetch.check_url(url)
            except fetch.UnsafeURL:
                report.invalid.append(url[:200])
                continue
            if len(url) > max_length:
                report.invalid.append(url[:200])
                continue
            title = plain_text(attrs.get("title") or attrs.get("text") or "", max_length=500)
            url = normalize_feed_url(url)
            podcast, created = Podcast.objects.get_or_create(feed_url=url, defaults={"title": title})
            if not created:
                report.existing += 1
                continue
            report.added.append(podcast.pk)
            enqueue_on_commit("feeds", "podcasts.feed_tasks.refresh_podcast", podcast.pk)
    logger.info(
        "opml_imported",
        extra={"event": "opml_imported", "added": len(report.added), "existing": report.existing, "invalid": len(report.invalid)},
    )
    return report


def opml_export() -> str:
    """Every active feed as OPML 2.0."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "Castnotes feeds"
    ET.SubElement(head, "dateCreated").text = timezone.now().strftime("%a, %d %b %Y %H:%M:%S GMT")
    body = ET.SubElement(root, "body")
    for podcast in Podcast.objects.filter(status=Podcast.Status.ACTIVE).order_by("title", "pk"):
        attrs = {
            "type": "rss",
            "text": podcast.title or podcast.feed_url,
            "title": podcast.title or podcast.feed_url,
            "xmlUrl": podcast.feed_url,
        }
        if podcast.link:
            attrs["htmlUrl"] = podcast.link
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- The bundled demo feed -------------------------------------------------------------------

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_TITLE = "Castnotes Sample Podcast"
DEMO_FEED_URL_PATTERN = r"^http://127\.0\.0\.1:[0-9]+/feed\.xml$"


@contextmanager
def demo_feed_serve() -> Iterator[str]:
    """Serve podcasts/demo/ on a loopback thread (a free port); yield the feed URL; stop the server after."""

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(DEMO_DIR)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()


def demo_feed_ingest(*, then: Callable[[IngestReport], None] | None = None) -> IngestReport:
    """Ingest the bundled sample feed for real, over loopback HTTP.

    Private-network fetching is allowed only for this call. `then` runs while
    the server is still up (e.g. to run the pipeline, which downloads the audio).
    A second run moves the existing sample podcast to this run's port, so it is
    refreshed rather than added twice.
    """
    with demo_feed_serve() as url, override_settings(FETCH_ALLOW_PRIVATE_NETWORKS=True):
        previous = Podcast.objects.filter(feed_url__regex=DEMO_FEED_URL_PATTERN, title=DEMO_TITLE).exclude(feed_url=url)
        # Enclosures are relative to the feed URL: forget the validators so the feed is parsed again.
        previous.update(feed_url=url, etag="", last_modified="", feed_sha256="", updated_at=timezone.now())
        report = podcast_add(feed_url=url)
        if then is not None:
            then(report)
    return report
