"""The JSON API at /api/v1/, through a real HTTP client (requests) against the live test server."""

from datetime import timedelta
from http import HTTPStatus

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from curation.models import CurationItem
from podcasts.models import Episode, Podcast, Profile, Subscription
from summaries.models import ApiToken, Delivery
from summaries.tokens import api_token_create, api_token_revoke
from tests.factories import csrf_client, csrf_post, make_podcast, make_subscription, make_summarized_episode, make_user

pytestmark = pytest.mark.django_db(transaction=True)


class Api:
    """requests against the live server, with a Bearer token unless told otherwise."""

    def __init__(self, base: str, token: str | None):
        self.base = base.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.base + path, timeout=30, **kwargs)


@pytest.fixture
def site(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return live_server


@pytest.fixture
def api_for(site):
    def make(user, *, read_only: bool = False) -> Api:
        return Api(site.url, api_token_create(user=user, name="test", read_only=read_only).plaintext)

    return make


@pytest.fixture
def reader():
    return make_user("reader")


@pytest.fixture
def library():
    """Two active podcasts with episodes, and one awaiting approval."""
    sea = make_podcast("Sea Power")
    garden = make_podcast("Garden Talk")
    pending = make_podcast("Awaiting", status=Podcast.Status.PENDING_APPROVAL)
    tides = make_summarized_episode(sea, title="Tides", tldr="Tides turn turbines.", days_ago=1)
    compost = make_summarized_episode(garden, title="Compost", tldr="Worms do the work.", days_ago=5)
    hidden = make_summarized_episode(sea, title="Hidden one")
    Episode.objects.filter(pk=hidden.pk).update(hidden=True)
    make_summarized_episode(pending, title="From a pending feed")
    return {"sea": sea, "garden": garden, "pending": pending, "tides": tides, "compost": compost, "hidden": hidden}


ENDPOINTS = [
    ("get", "/podcasts/"),
    ("get", "/podcasts/{podcast}/"),
    ("post", "/podcasts/{podcast}/subscribe/"),
    ("post", "/podcasts/{podcast}/unsubscribe/"),
    ("get", "/episodes/"),
    ("get", "/episodes/{episode}/"),
    ("get", "/episodes/{episode}/transcript/"),
    ("post", "/episodes/{episode}/regenerate/"),
    ("get", "/search/?q=tides"),
    ("post", "/feeds/"),
]
WRITES = [(method, path) for method, path in ENDPOINTS if method == "post"]


def _path(path: str, library) -> str:
    return path.format(podcast=library["sea"].pk, episode=library["tides"].pk)


# --- Authentication and refusals --------------------------------------------------------


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_every_endpoint_refuses_a_missing_wrong_or_revoked_token_with_401(site, reader, library, method, path):
    created = api_token_create(user=reader, name="soon revoked")
    api_token_revoke(user=reader, token_id=created.token.pk)
    wrong = created.plaintext[:-1] + ("0" if created.plaintext[-1] != "0" else "1")
    clients = [Api(site.url, None), Api(site.url, wrong), Api(site.url, created.plaintext), Api(site.url, "not-a-token")]

    responses = [getattr(client, method)(_path(path, library)) for client in clients]

    assert [r.status_code for r in responses] == [HTTPStatus.UNAUTHORIZED] * 4
    assert all(r.headers["WWW-Authenticate"].startswith("Bearer") for r in responses)
    assert Subscription.objects.count() == 0 and Delivery.objects.count() == 0


def test_a_basic_or_malformed_authorization_header_is_not_a_login(site, reader, library):
    for header in ("Basic cmVhZGVyOnB3", "Bearer", "Bearer a b"):
        response = requests.get(f"{site.url}/api/v1/podcasts/", headers={"Authorization": header}, timeout=30)
        assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("method,path", WRITES)
def test_read_only_tokens_are_refused_on_every_write_with_403(api_for, reader, library, method, path):
    api = api_for(reader, read_only=True)

    response = api.post(_path(path, library), json={"feed_url": "https://feeds.example.org/new.xml"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"detail": "This API token is read-only."}
    assert Subscription.objects.count() == 0 and Delivery.objects.count() == 0
    assert not Podcast.objects.filter(feed_url="https://feeds.example.org/new.xml").exists()


def test_read_only_tokens_read(api_for, reader, library):
    assert api_for(reader, read_only=True).get("/podcasts/").status_code == HTTPStatus.OK


def test_an_inactive_users_token_is_401(api_for, reader, library):
    api = api_for(reader)
    reader.is_active = False
    reader.save(update_fields=["is_active"])

    assert api.get("/podcasts/").status_code == HTTPStatus.UNAUTHORIZED


def test_the_last_use_of_a_token_is_recorded(api_for, reader, library):
    api = api_for(reader)
    token = ApiToken.objects.get(user=reader)
    assert token.last_used_at is None

    api.get("/podcasts/")

    token.refresh_from_db()
    assert token.last_used_at is not None and timezone.now() - token.last_used_at < timedelta(minutes=1)


# --- Podcasts ----------------------------------------------------------------------


def test_podcast_list_is_the_directory_with_only_my_subscriptions_marked(api_for, reader, library):
    someone = make_user()
    make_subscription(someone, library["garden"])
    make_subscription(reader, library["sea"])

    body = api_for(reader).get("/podcasts/").json()

    assert body["count"] == 2
    by_title = {p["title"]: p for p in body["results"]}
    assert set(by_title) == {"Sea Power", "Garden Talk"}  # not the pending feed
    assert by_title["Sea Power"]["subscribed"] is True
    assert by_title["Garden Talk"]["subscribed"] is False  # someone else's subscription is not mine
    mine = api_for(reader).get("/podcasts/?subscribed=true").json()
    assert [p["title"] for p in mine["results"]] == ["Sea Power"]


def test_podcast_detail_and_404_for_a_pending_or_missing_podcast(api_for, reader, library):
    api = api_for(reader)

    found = api.get(f"/podcasts/{library['sea'].pk}/")

    assert found.status_code == HTTPStatus.OK and found.json()["title"] == "Sea Power"
    assert api.get(f"/podcasts/{library['pending'].pk}/").status_code == HTTPStatus.NOT_FOUND
    assert api.get("/podcasts/999999/").status_code == HTTPStatus.NOT_FOUND


def test_subscribe_and_unsubscribe_go_through_the_subscription_services(api_for, reader, library):
    api = api_for(reader)
    sea = library["sea"]

    subscribed = api.post(f"/podcasts/{sea.pk}/subscribe/", json={"notify_new_episodes": True})
    again = api.post(f"/podcasts/{sea.pk}/subscribe/", json={"notify_new_episodes": False})

    assert subscribed.status_code == HTTPStatus.OK
    assert subscribed.json() == {"podcast_id": sea.pk, "subscribed": True, "notify_new_episodes": True}
    assert again.json()["notify_new_episodes"] is False
    assert Subscription.objects.filter(user=reader, podcast=sea).count() == 1

    gone = api.post(f"/podcasts/{sea.pk}/unsubscribe/")

    assert gone.json() == {"podcast_id": sea.pk, "subscribed": False, "notify_new_episodes": None}
    assert not Subscription.objects.filter(user=reader).exists()


def test_subscribing_to_a_pending_podcast_is_a_404_and_a_bad_body_a_400(api_for, reader, library):
    api = api_for(reader)

    assert api.post(f"/podcasts/{library['pending'].pk}/subscribe/").status_code == HTTPStatus.NOT_FOUND
    assert api.post(f"/podcasts/{library['pending'].pk}/unsubscribe/").status_code == HTTPStatus.NOT_FOUND
    bad = api.post(f"/podcasts/{library['sea'].pk}/subscribe/", json={"notify_new_episodes": "perhaps"})
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert not Subscription.objects.exists()


# --- Episodes ----------------------------------------------------------------------


def test_episode_list_is_visible_episodes_newest_first_with_their_tldr(api_for, reader, library):
    body = api_for(reader).get("/episodes/").json()

    assert [e["title"] for e in body["results"]] == ["Tides", "Compost"]
    first = body["results"][0]
    assert first["tldr"] == "Tides turn turbines."
    assert first["podcast"] == {"id": library["sea"].pk, "title": "Sea Power"}
    assert first["pipeline_status"] == "summarized"


def test_episode_list_filters_by_podcast_since_and_status(api_for, reader, library):
    api = api_for(reader)
    Episode.objects.filter(pk=library["compost"].pk).update(pipeline_status="transcribing")
    since = (timezone.now() - timedelta(days=3)).isoformat()
    make_subscription(reader, library["garden"])

    by_podcast = api.get("/episodes/", params={"podcast": library["garden"].pk}).json()
    by_since = api.get("/episodes/", params={"since": since}).json()
    by_status = api.get("/episodes/", params={"status": "transcribing"}).json()
    mine = api.get("/episodes/", params={"subscribed": "true"}).json()

    assert [e["title"] for e in by_podcast["results"]] == ["Compost"]
    assert [e["title"] for e in by_since["results"]] == ["Tides"]
    assert [e["title"] for e in by_status["results"]] == ["Compost"]
    assert [e["title"] for e in mine["results"]] == ["Compost"]


@pytest.mark.parametrize("params", [{"status": "bogus"}, {"since": "yesterday"}, {"podcast": "x"}])
def test_episode_list_refuses_invalid_filters_with_400(api_for, reader, library, params):
    response = api_for(reader).get("/episodes/", params=params)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == set(params)


def test_episode_detail_has_summary_chapters_sponsor_spans_and_pipeline(api_for, reader, library, site):
    tides = library["tides"]

    body = api_for(reader).get(f"/episodes/{tides.pk}/").json()

    assert body["title"] == "Tides" and body["podcast"]["title"] == "Sea Power"
    assert body["summary"]["tldr"] == "Tides turn turbines."
    assert body["summary"]["key_points"][0] == "Turbines sit on the sea bed."
    assert body["summary"]["outdated"] is True  # made with v1; the setting is v2
    assert body["chapters"] == [{"startTime": 0.0, "title": "Intro"}, {"startTime": 75.0, "title": "Bearings"}]
    assert body["chapters_url"] == f"{site.url}/episodes/{tides.pk}/chapters.json"
    assert body["sponsor_spans"] == []  # none detected or marked
    assert body["pipeline"]["status"] == "summarized" and body["pipeline"]["attempts"] == 0
    live = body["pipeline"]["live"]  # the same object as GET /episodes/<id>/status
    assert set(live) == {"stage", "progress", "detail", "updated_at", "summary_ready", "regeneration_pending"}
    assert live["summary_ready"] is True and live["regeneration_pending"] is False
    assert body["transcript_available"] is True
    assert body["regeneration"] == {"may_regenerate": False, "pending_delivery_id": None}  # a free user


def test_episode_detail_and_transcript_of_hidden_or_pending_episodes_are_404(api_for, reader, library):
    api = api_for(reader)
    pending_episode = Episode.objects.get(podcast=library["pending"])

    for episode in (library["hidden"], pending_episode):
        assert api.get(f"/episodes/{episode.pk}/").status_code == HTTPStatus.NOT_FOUND
        assert api.get(f"/episodes/{episode.pk}/transcript/").status_code == HTTPStatus.NOT_FOUND


def test_transcript_is_the_stored_segments_and_404_without_one(api_for, reader, library):
    api = api_for(reader)
    untranscribed = make_summarized_episode(library["sea"], transcript=False, summary_version=None)

    body = api.get(f"/episodes/{library['tides'].pk}/transcript/").json()

    assert body["source"] == "whisper"
    assert [s["text"] for s in body["segments"]][2] == "Salt water is hard on the bearings."
    assert api.get(f"/episodes/{untranscribed.pk}/transcript/").status_code == HTTPStatus.NOT_FOUND


# --- Search ------------------------------------------------------------------------


def test_search_finds_episodes_with_a_snippet_in_marked_pieces(api_for, reader, library):
    body = api_for(reader).get("/search/", params={"q": "turbines"}).json()

    assert body["count"] >= 1
    hit = body["results"][0]
    assert hit["title"] == "Tides"
    assert any(piece["marked"] and piece["text"].lower() == "turbines" for piece in hit["snippet"])
    assert "turbines" in "".join(piece["text"] for piece in hit["snippet"]).lower()


def test_search_without_a_query_is_400(api_for, reader, library):
    api = api_for(reader)

    assert api.get("/search/").status_code == HTTPStatus.BAD_REQUEST
    assert api.get("/search/", params={"q": "x" * 201}).status_code == HTTPStatus.BAD_REQUEST


# --- Pagination --------------------------------------------------------------------


def test_pages_are_capped_and_out_of_range_pages_are_404(api_for, reader, library):
    Podcast.objects.bulk_create(
        [Podcast(feed_url=f"https://bulk.example.com/{n}.xml", title=f"Bulk {n:03d}") for n in range(110)]
    )
    api = api_for(reader)

    default = api.get("/podcasts/").json()
    capped = api.get("/podcasts/", params={"page_size": 1000}).json()
    small = api.get("/podcasts/", params={"page_size": 5, "page": 2}).json()
    last = api.get("/podcasts/", params={"page_size": 100, "page": 2}).json()

    assert default["count"] == 112 and len(default["results"]) == 20
    assert len(capped["results"]) == 100
    assert len(small["results"]) == 5 and small["previous"] and small["next"]
    assert len(last["results"]) == 12 and last["next"] is None
    assert api.get("/podcasts/", params={"page": 99}).status_code == HTTPStatus.NOT_FOUND
    assert api.get("/podcasts/", params={"page": 0}).status_code == HTTPStatus.NOT_FOUND


# --- Feed submission ---------------------------------------------------------------


def test_feed_submission_makes_a_pending_podcast_and_a_curation_item(api_for, reader, library):
    response = api_for(reader).post("/feeds/", json={"feed_url": "https://feeds.example.org/new.xml"})

    assert response.status_code == HTTPStatus.CREATED
    assert response.json() == {"status": "pending_approval", "podcast_id": None}
    podcast = Podcast.objects.get(feed_url="https://feeds.example.org/new.xml")
    assert podcast.status == Podcast.Status.PENDING_APPROVAL and podcast.submitted_by == reader
    assert CurationItem.objects.filter(flag_class="feed_submission", object_id=podcast.pk).count() == 1


def test_submitting_a_listed_feed_answers_with_the_podcast(api_for, reader, library):
    response = api_for(reader).post("/feeds/", json={"feed_url": library["sea"].feed_url})

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "active", "podcast_id": library["sea"].pk}


@pytest.mark.parametrize("url", ["ftp://example.org/feed.xml", "https://user:pw@feeds.example.org/feed.xml", "", "not a url"])
def test_feed_submission_refuses_what_the_web_form_refuses_with_400(api_for, reader, library, url):
    before = Podcast.objects.count()

    response = api_for(reader).post("/feeds/", json={"feed_url": url})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "feed_url" in response.json()
    assert Podcast.objects.count() == before


def test_feed_submission_shares_the_web_forms_rate_limit(api_for, reader, library, settings):
    settings.RATELIMIT_FEED_SUBMIT = "2/h"
    api = api_for(reader)
    web = csrf_client(reader)

    first = api.post("/feeds/", json={"feed_url": "https://feeds.example.org/a.xml"})
    second = csrf_post(web, "/podcasts/submit/", {"feed_url": "https://feeds.example.org/b.xml"})
    third = api.post("/feeds/", json={"feed_url": "https://feeds.example.org/c.xml"})

    assert first.status_code == HTTPStatus.CREATED and second.status_code == HTTPStatus.SEE_OTHER
    assert third.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert third.headers["Retry-After"] == "60"
    assert not Podcast.objects.filter(feed_url="https://feeds.example.org/c.xml").exists()


# --- Regeneration ------------------------------------------------------------------


@pytest.fixture
def premium():
    return make_user("premium", plan=Profile.Plan.PREMIUM)


def test_regeneration_creates_one_delivery_and_answers_202(api_for, premium, library, redis_queues):
    api = api_for(premium)
    path = f"/episodes/{library['tides'].pk}/regenerate/"

    first = api.post(path)
    second = api.post(path)

    assert first.status_code == HTTPStatus.ACCEPTED
    delivery = Delivery.objects.get()
    assert first.json() == {"delivery_id": delivery.pk, "status": "pending"}
    assert second.json() == first.json()  # idempotent, like the button
    assert (delivery.user, delivery.kind) == (premium, "regeneration")
    detail = api.get(f"/episodes/{library['tides'].pk}/").json()
    assert detail["regeneration"] == {"may_regenerate": False, "pending_delivery_id": delivery.pk}


def test_regeneration_refusals_match_the_button(api_for, reader, premium, library, settings, redis_queues):
    current = make_summarized_episode(library["sea"], summary_version=settings.SUMMARY_PROMPT_VERSION)
    free, paid = api_for(reader), api_for(premium)

    assert free.post(f"/episodes/{library['tides'].pk}/regenerate/").status_code == HTTPStatus.FORBIDDEN
    assert paid.post(f"/episodes/{library['hidden'].pk}/regenerate/").status_code == HTTPStatus.NOT_FOUND
    assert paid.post("/episodes/999999/regenerate/").status_code == HTTPStatus.NOT_FOUND
    not_outdated = paid.post(f"/episodes/{current.pk}/regenerate/")
    assert not_outdated.status_code == HTTPStatus.BAD_REQUEST
    assert not_outdated.json() == {"detail": "This summary already uses the current prompt version."}
    settings.REGENERATIONS_PER_DAY = 0
    over = paid.post(f"/episodes/{library['tides'].pk}/regenerate/")
    assert over.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "regenerations for today" in over.json()["detail"]
    assert not Delivery.objects.exists()


def test_regeneration_over_the_rate_limit_is_429(api_for, premium, library, settings, redis_queues):
    settings.RATELIMIT_REGENERATE = "1/h"  # an hour window: a press never straddles its boundary
    api = api_for(premium)
    path = f"/episodes/{library['tides'].pk}/regenerate/"

    assert api.post(path).status_code == HTTPStatus.ACCEPTED
    assert api.post(path).status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_no_endpoint_shows_another_users_regeneration(api_for, premium, library, redis_queues):
    other = make_user("other", plan=Profile.Plan.PREMIUM)
    api_for(other).post(f"/episodes/{library['tides'].pk}/regenerate/")
    assert Delivery.objects.filter(user=other).count() == 1

    detail = api_for(premium).get(f"/episodes/{library['tides'].pk}/").json()

    assert detail["regeneration"] == {"may_regenerate": True, "pending_delivery_id": None}


# --- Schema and docs ---------------------------------------------------------------


def test_the_openapi_schema_loads_and_lists_every_endpoint(site):
    response = requests.get(f"{site.url}/api/v1/schema/", params={"format": "json"}, timeout=60)

    assert response.status_code == HTTPStatus.OK
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    expected = {
        "/api/v1/podcasts/",
        "/api/v1/podcasts/{id}/",
        "/api/v1/podcasts/{id}/subscribe/",
        "/api/v1/podcasts/{id}/unsubscribe/",
        "/api/v1/episodes/",
        "/api/v1/episodes/{id}/",
        "/api/v1/episodes/{id}/transcript/",
        "/api/v1/episodes/{id}/regenerate/",
        "/api/v1/search/",
        "/api/v1/feeds/",
    }
    assert expected <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token from the account page or `manage.py api_token create`.",
    }


def test_the_api_docs_page_loads_with_local_assets(site):
    page = requests.get(f"{site.url}/api/v1/docs/", timeout=30)

    assert page.status_code == HTTPStatus.OK
    assert "swagger-ui" in page.text
    assert "cdn.jsdelivr" not in page.text  # assets come from drf-spectacular-sidecar, not a CDN
    script = requests.get(f"{site.url}/api/v1/docs/", params={"script": ""}, timeout=30)
    assert script.status_code == HTTPStatus.OK and "/api/v1/schema/" in script.text


def test_the_schema_generates_and_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert "/api/v1/episodes/{id}/regenerate/" in (tmp_path / "schema.yml").read_text()
