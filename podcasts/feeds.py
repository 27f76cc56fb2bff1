"""Safe feed parsing: bytes in, plain dicts out. No I/O and no database here.

feedparser only ever gets `io.BytesIO(bytes)` (given a string it would open a
local path or follow a URL), and only after `check_xml` has refused DOCTYPE and
ENTITY declarations. Everything a page may show is either plain text (titles)
or HTML sanitized by nh3 with an allowlist (descriptions).
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import mimetypes
import re
import xml.sax
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import defusedxml.expatreader
import feedparser
import nh3
from defusedxml import DefusedXmlException
from feedparser.mixin import _FeedParserMixin as XMLParserMixin

PODCAST_NAMESPACE = "https://podcastindex.org/namespace/1.0"

# feedparser keeps only the last attribute-only element of an unknown namespace, so
# several podcast:transcript links would collapse into one. Teach it the Podcasting 2.0
# namespace and collect every transcript link instead.
XMLParserMixin.namespaces.setdefault(PODCAST_NAMESPACE, "podcast")
if XMLParserMixin._matchnamespaces:
    XMLParserMixin._matchnamespaces.setdefault(PODCAST_NAMESPACE.lower(), "podcast")


def _start_podcast_transcript(self, attrs_d):
    self._get_context().setdefault("podcast_transcripts", []).append(dict(attrs_d))


def _end_podcast_transcript(self):
    pass


XMLParserMixin._start_podcast_transcript = _start_podcast_transcript
XMLParserMixin._end_podcast_transcript = _end_podcast_transcript


class FeedRefused(Exception):
    """The body is not a feed Castnotes will ingest; the message says why, in one line."""


# --- HTML -------------------------------------------------------------------------------

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "dd", "del", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "q", "s",
    "small", "strong", "sub", "sup", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "q": {"cite"}, "blockquote": {"cite"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# Dropped with everything inside them, not just unwrapped.
CLEAN_CONTENT_TAGS = {"script", "style", "iframe", "object", "embed", "svg", "math", "noscript", "template", "title"}


def sanitize_html(value: str, *, base_url: str = "") -> str:
    """Feed HTML → allowlisted HTML; relative links resolved against `base_url`; links get rel="noopener noreferrer"."""
    if not value:
        return ""
    return nh3.clean(
        value.replace("\x00", ""),
        tags=ALLOWED_TAGS,
        clean_content_tags=CLEAN_CONTENT_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        url_relative=("rewrite_with_base", base_url) if base_url.startswith(("http://", "https://")) else "pass_through",
    ).strip()


_WHITESPACE = re.compile(r"\s+")
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: any of them in a
# guid or a title reaches email headers (the subject falls back to the guid), file names and logs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def single_line(value: Any, *, max_length: int | None = None) -> str:
    """Feed text that is not markup (guids, types, languages) → one line with no control characters."""
    text = _CONTROL.sub(" ", value if isinstance(value, str) else "")
    text = _WHITESPACE.sub(" ", text).strip()
    return text[:max_length] if max_length else text


def plain_text(value: str, *, max_length: int | None = None) -> str:
    """Any feed text (maybe HTML, maybe entity-escaped) → one line of plain text with no markup."""
    text = (value or "").replace("\x00", "")  # PostgreSQL text cannot hold NUL
    for _ in range(3):  # escaped markup ("&lt;b&gt;") unescapes into markup: strip until stable
        stripped = html.unescape(nh3.clean(text, tags=set(), clean_content_tags=CLEAN_CONTENT_TAGS))
        if stripped == text:
            break
        text = stripped
    if "<" in text and nh3.clean(text, tags=set()) != html.escape(text, quote=False):
        text = text.replace("<", "‹").replace(">", "›")  # leftovers that still parse as tags
    return single_line(text, max_length=max_length)


# --- XML safety ---------------------------------------------------------------------------

_UTF8_BOM = b"\xef\xbb\xbf"
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_HTML_START = re.compile(rb"(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)
_ROOT_START = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_ROOT_END = re.compile(rb"</\s*([A-Za-z_][\w.:-]*)\s*>\s*(?:<!--.*?-->\s*)*\Z", re.DOTALL)


def _root_is_closed(body: bytes, root_at: int) -> bool:
    """True when the body ends with the root element's end tag (or the root is an empty element)."""
    start = _ROOT_START.match(body, root_at)
    end = _ROOT_END.search(body[-4096:])
    if start is None:
        return False
    if end is None:
        return body.rstrip().endswith(b"/>") and body.count(b"<", root_at) == 1
    return end.group(1) == start.group(1)


def normalize_body(body: bytes) -> bytes:
    """Drop a BOM and whitespace before `<?xml` (a harmless real-world quirk) for UTF-8/ASCII bodies."""
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    if body[:1].isspace():
        body = body.lstrip()
    return body


class _NullHandler(xml.sax.ContentHandler):
    pass


def check_xml(body: bytes) -> bytes:
    """Refuse DOCTYPE/ENTITY declarations and truncated documents; return the normalized body.

    defusedxml's expat reader (DTDs, entities and external references forbidden)
    does the judging; ordinary well-formedness errors (an undeclared `itunes:`
    prefix, a stray `&`) are left to feedparser's lenient parser, because real
    feeds are messy. The regex is a second line for bodies expat gave up on
    before reaching the prolog's end.
    """
    body = normalize_body(body)
    if not body.strip():
        raise FeedRefused("The response is empty, not a feed.")
    if _HTML_START.match(body):
        raise FeedRefused("Refused: this is an HTML page, not an RSS or Atom feed.")
    if not body.startswith(b"<") and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FeedRefused("Refused: the response is not XML, so not an RSS or Atom feed.")
    reader = defusedxml.expatreader.create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    reader.setContentHandler(_NullHandler())
    reader.setFeature(xml.sax.handler.feature_namespaces, False)
    well_formed = True
    try:
        reader.parse(io.BytesIO(body))
    except DefusedXmlException as exc:
        raise FeedRefused(f"Refused: the feed declares a DOCTYPE or entities ({type(exc).__name__}).") from None
    except (xml.sax.SAXException, LookupError, ValueError):  # LookupError: an encoding expat does not know
        well_formed = False
    first_element = re.search(rb"<[A-Za-z_]", body)
    prolog = body[: first_element.start()] if first_element else body
    if _DECLARATION.search(prolog):
        raise FeedRefused("Refused: the feed declares a DOCTYPE or entities.")
    if not well_formed and not _root_is_closed(body, first_element.start() if first_element else 0):
        raise FeedRefused("Refused: the XML is truncated (the root element is never closed).")
    return body


# --- mapping -------------------------------------------------------------------------------

AUDIO_EXTENSIONS = {".mp3", ".m4a", ".m4b", ".aac", ".ogg", ".oga", ".opus", ".flac", ".wav", ".mp2", ".mpga", ".weba", ".spx"}
# Formats whisper decodes best (PyAV inside the wheel decodes them all); lower is preferred.
AUDIO_PREFERENCE = ["audio/mpeg", "audio/mp4", "audio/x-m4a", "audio/aac", "audio/ogg", "audio/opus", "audio/flac"]
EPISODE_TYPES = {"full", "trailer", "bonus"}
ITUNES_TYPES = {"episodic", "serial"}
MAX_INT = 2_147_483_647

# Publisher fields of an Episode, in the order they are hashed.
EPISODE_FIELDS = (
    "title", "description", "link", "published_at", "enclosure_url", "enclosure_type",
    "enclosure_length", "duration_seconds", "image_url", "explicit", "episode_number",
    "season_number", "episode_type", "transcript_url", "transcript_type", "transcript_links",
    "chapters", "chapters_url",
)  # fmt: skip
PODCAST_FIELDS = ("title", "description", "link", "image_url", "author", "language", "explicit", "itunes_type", "categories")


def _http_url(value: Any, base: str = "", max_length: int = 2000) -> str:
    """An absolute http(s) URL, resolved against `base`, or "" (file:, javascript:, data: … are dropped)."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if not value:
        return ""
    if base:
        try:
            value = urljoin(base, value)
        except ValueError:
            return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(value) > max_length:
        return ""
    if any(ch in value for ch in "\x00\r\n\t <>\"'"):
        return ""
    return value


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_feed_url(url: str) -> str:
    """The one spelling of a feed URL stored and looked up: scheme and host lower-case,
    no default port, no fragment, "/" for an empty path. Path and query keep their case
    (servers may tell them apart). `url` has passed fetch.check_url (no credentials)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def parse_duration(value: Any) -> int | None:
    """iTunes duration: "3600", "60:00", "01:00:00", "1:02:03.5" → whole seconds."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value:
        return None
    parts = value.split(":")
    if len(parts) > 3:
        return None
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        return None
    if any(n < 0 or n != n for n in numbers):
        return None
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return int(seconds) if seconds < MAX_INT else None


def _positive_int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < MAX_INT else None


def _datetime(struct) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime(*struct[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _explicit(value: Any) -> bool | None:
    # feedparser maps "yes"/"explicit"/"true" to True, "clean" to False and anything else to None.
    return value if isinstance(value, bool) else None


_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


def _is_audio(mime: str, url: str) -> tuple[bool, str]:
    """(is audio, the type to store): a declared audio/* type, or no useful type and an audio extension."""
    mime = single_line(mime).split(";", 1)[0].strip().lower()
    if mime.startswith("audio/"):
        # The stored type becomes the audio view's Content-Type: only a plain type/subtype.
        return True, mime if _MIME_TYPE.fullmatch(mime) else ""
    if mime in ("", "application/octet-stream", "binary/octet-stream"):
        path = urlsplit(url).path.lower()
        ext = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ""
        if ext in AUDIO_EXTENSIONS:
            guessed = mimetypes.guess_type(path)[0] or ""
            return True, guessed if guessed.startswith("audio/") else ""
    return False, mime


def pick_audio_enclosure(entry: dict, base: str) -> dict | None:
    """The best audio enclosure of an item: declared audio types first, then by format preference, then order."""
    candidates: list[tuple[str, str, Any, bool]] = []
    for link in entry.get("links") or ():
        if link.get("rel") == "enclosure":
            candidates.append((link.get("href"), link.get("type", ""), link.get("length"), bool(link.get("type"))))
    for media in entry.get("media_content") or ():
        candidates.append((media.get("url"), media.get("type", ""), media.get("filesize"), bool(media.get("type"))))
    best = None
    seen: set[str] = set()
    for order, (href, mime, length, declared) in enumerate(candidates):
        url = _http_url(href, base)
        if not url or url in seen:
            continue
        seen.add(url)
        audio, stored_type = _is_audio(mime, url)
        if not audio:
            continue
        declared = declared and mime.lower().startswith("audio/")
        preference = AUDIO_PREFERENCE.index(stored_type) if stored_type in AUDIO_PREFERENCE else len(AUDIO_PREFERENCE)
        rank = (0 if declared else 1, preference, order)
        if best is None or rank < best[0]:
            size = _positive_int(length)
            best = (rank, {"enclosure_url": url, "enclosure_type": stored_type[:100], "enclosure_length": size or None})
    return best[1] if best else None


def _npt_seconds(value: Any) -> float | None:
    """Podlove chapter start (normal play time): "0", "01", "01:02", "01:02:03.400"."""
    seconds = parse_duration(value) if isinstance(value, str) else None
    if seconds is None:
        return None
    try:
        exact = 0.0
        for part in value.strip().split(":"):
            exact = exact * 60 + float(part)
    except ValueError:
        return float(seconds)
    return round(exact, 3)


def _chapters(entry: dict, base: str) -> list[dict]:
    chapters = []
    psc = entry.get("psc_chapters") or {}
    for chapter in (psc.get("chapters") or [])[:500]:
        start = _npt_seconds(chapter.get("start"))
        if start is None:
            continue
        item: dict[str, Any] = {
            "start": int(start) if start == int(start) else start,
            "title": plain_text(chapter.get("title", ""), max_length=500),
        }
        href = _http_url(chapter.get("href"), base)
        if href:
            item["href"] = href
        image = _http_url(chapter.get("image"), base)
        if image:
            item["image"] = image
        chapters.append(item)
    return chapters


def _transcripts(entry: dict, base: str) -> list[dict]:
    links = []
    seen = set()
    for attrs in entry.get("podcast_transcripts") or []:
        url = _http_url(attrs.get("url"), base)
        if not url or url in seen:
            continue
        seen.add(url)
        links.append(
            {
                "url": url,
                "type": single_line(attrs.get("type"), max_length=100).lower(),
                "language": single_line(attrs.get("language"), max_length=35),
                "rel": single_line(attrs.get("rel"), max_length=50),
            }
        )
    # A feed that never declared the namespace still reaches feedparser's generic handler.
    generic = entry.get("podcast_transcript")
    if isinstance(generic, dict) and not links:
        url = _http_url(generic.get("url"), base)
        if url:
            links.append(
                {
                    "url": url,
                    "type": single_line(generic.get("type"), max_length=100).lower(),
                    "language": single_line(generic.get("language"), max_length=35),
                    "rel": single_line(generic.get("rel"), max_length=50),
                }
            )
    return links


# Publisher transcript formats the pipeline can use, best first (DESIGN: VTT, SRT, JSON).
TRANSCRIPT_PREFERENCE = ["text/vtt", "application/x-subrip", "application/srt", "text/srt", "application/json"]


def _best_transcript(links: list[dict]) -> dict | None:
    if not links:
        return None
    return min(
        enumerate(links),
        key=lambda pair: (
            TRANSCRIPT_PREFERENCE.index(pair[1]["type"])
            if pair[1]["type"] in TRANSCRIPT_PREFERENCE
            else len(TRANSCRIPT_PREFERENCE),
            pair[0],
        ),
    )[1]


def _description(entry: dict) -> str:
    # The richest HTML the item carries: content:encoded, else description/summary.
    for content in entry.get("content") or ():
        value = content.get("value") or ""
        if value.strip():
            return value
    return entry.get("summary") or entry.get("subtitle") or ""


def _guid(entry: dict, enclosure: dict | None, link: str, title: str) -> str:
    guid = single_line(entry.get("id"), max_length=1000)
    if guid:
        return guid
    if enclosure:
        return enclosure["enclosure_url"][:1000]
    if link or title:
        return "sha256:" + hashlib.sha256(f"{link}\n{title}".encode()).hexdigest()
    return ""


def content_hash(fields: dict) -> str:
    """Hash of the publisher fields: equal hashes mean nothing to write."""
    payload = json.dumps([fields.get(name) for name in EPISODE_FIELDS], default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def cap_bytes(text: str, max_bytes: int | None) -> tuple[str, bool]:
    """`text` cut to at most `max_bytes` of UTF-8 (never mid-character); (text, was it cut)."""
    if not max_bytes or len(text) * 4 <= max_bytes:
        return text, False
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text, False
    return encoded[:max_bytes].decode(errors="ignore"), True


def map_entry(entry: dict, base: str, *, max_field_bytes: int | None = None) -> dict | None:
    """One feedparser entry → the Episode's publisher fields plus guid and content_hash (None: unidentifiable).

    Show notes over `max_field_bytes` are cut before sanitizing (nh3 closes what the cut
    left open); `fields["_cut"]` says so (popped by parse_feed, never stored)."""
    enclosure = pick_audio_enclosure(entry, base)
    link = _http_url(entry.get("link"), base)
    title = plain_text(entry.get("title", ""), max_length=1000)
    guid = _guid(entry, enclosure, link, title)
    if not guid:
        return None
    transcript_links = _transcripts(entry, base)
    best_transcript = _best_transcript(transcript_links)
    image = entry.get("image") or {}
    image_url = _http_url(image.get("href") if isinstance(image, dict) else "", base)
    if not image_url:
        for thumb in entry.get("media_thumbnail") or ():
            image_url = _http_url(thumb.get("url"), base)
            if image_url:
                break
    chapters_link = entry.get("podcast_chapters")
    episode_type = (entry.get("itunes_episodetype") or "").strip().lower()
    description, cut = cap_bytes(_description(entry), max_field_bytes)
    fields = {
        "title": title,
        "description": sanitize_html(description, base_url=base),
        "link": link,
        "published_at": _datetime(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")),
        "enclosure_url": enclosure["enclosure_url"] if enclosure else "",
        "enclosure_type": enclosure["enclosure_type"] if enclosure else "",
        "enclosure_length": enclosure["enclosure_length"] if enclosure else None,
        "duration_seconds": parse_duration(entry.get("itunes_duration")),
        "image_url": image_url,
        "explicit": _explicit(entry.get("itunes_explicit")),
        "episode_number": _positive_int(entry.get("itunes_episode")),
        "season_number": _positive_int(entry.get("itunes_season")),
        "episode_type": episode_type if episode_type in EPISODE_TYPES else "full",
        "transcript_url": best_transcript["url"] if best_transcript else "",
        "transcript_type": best_transcript["type"] if best_transcript else "",
        "transcript_links": transcript_links,
        "chapters": _chapters(entry, base),
        "chapters_url": _http_url(chapters_link.get("url"), base) if isinstance(chapters_link, dict) else "",
    }
    fields["guid"] = guid
    fields["content_hash"] = content_hash(fields)
    fields["_cut"] = cut
    return fields


def _categories(feed: dict) -> list[str]:
    found = []
    for tag in feed.get("tags") or ():
        term = plain_text(tag.get("term") or "", max_length=200)
        if term and term not in found:
            found.append(term)
    return found[:50]


def map_feed(feed: dict, base: str, *, max_field_bytes: int | None = None) -> dict:
    image = feed.get("image") or {}
    description, _cut = cap_bytes(feed.get("summary") or feed.get("subtitle") or "", max_field_bytes)
    itunes_type = (feed.get("itunes_type") or "").strip().lower()
    author = feed.get("author") or (feed.get("author_detail") or {}).get("name") or ""
    return {
        "title": plain_text(feed.get("title", ""), max_length=500),
        "description": sanitize_html(description, base_url=base),
        "link": _http_url(feed.get("link"), base),
        "image_url": _http_url(image.get("href") or image.get("url") if isinstance(image, dict) else "", base)
        or _http_url(feed.get("icon"), base),
        "author": plain_text(author, max_length=500),
        "language": plain_text(feed.get("language") or "", max_length=35),
        "explicit": _explicit(feed.get("itunes_explicit")),
        "itunes_type": itunes_type if itunes_type in ITUNES_TYPES else "",
        "categories": _categories(feed),
    }


def parse_feed(body: bytes, *, base_url: str, max_items: int | None = None, max_field_bytes: int | None = None) -> dict:
    """Check and parse a feed body; return {"podcast": {...}, "episodes": [...], "skipped": n, "cut": {...}}.

    Raises FeedRefused with a one-line reason for hostile or non-feed input.
    Duplicate guids inside one feed collapse into one episode (the first wins).
    Only the first `max_items` items (feeds list newest first) are mapped, and show notes
    are cut at `max_field_bytes`: "cut" counts the items left out and the fields cut.
    """
    body = check_xml(body)
    # content-location sets the base for relative links; no content-type, so feedparser sniffs the encoding.
    # feedparser's own HTML sanitizing and link rewriting are switched off: nh3 does both (and faster) above.
    parsed = feedparser.parse(
        io.BytesIO(body), response_headers={"content-location": base_url}, sanitize_html=False, resolve_relative_uris=False
    )
    if not parsed.get("version"):
        reason = parsed.get("bozo_exception")
        looks_html = re.search(rb"<\s*html[\s>]", body[:2048], re.IGNORECASE) is not None
        if looks_html:
            raise FeedRefused("Refused: this is an HTML page, not an RSS or Atom feed.")
        raise FeedRefused(f"Refused: not an RSS or Atom feed ({str(reason)[:200] if reason else 'unrecognised format'}).")
    episodes: list[dict] = []
    seen: set[str] = set()
    skipped = 0
    cut = {"items": 0, "fields": 0}
    for index, entry in enumerate(parsed.entries):
        if max_items is not None and len(episodes) >= max_items:
            cut["items"] = len(parsed.entries) - index
            break
        fields = map_entry(entry, base_url, max_field_bytes=max_field_bytes)
        if fields is None or fields["guid"] in seen:
            skipped += 1
            continue
        cut["fields"] += fields.pop("_cut")
        seen.add(fields["guid"])
        episodes.append(fields)
    podcast = map_feed(parsed.feed, base_url, max_field_bytes=max_field_bytes)
    return {"podcast": podcast, "episodes": episodes, "skipped": skipped, "cut": cut}
