"""POST /episodes/<id>/regenerate/ and the Regenerate button (DESIGN.md "Regeneration")."""

from http import HTTPStatus

import pytest
from django.test import Client

from podcasts.models import Episode, Profile
from summaries.models import Delivery
from summaries.regeneration import regeneration_request
from tests.factories import csrf_client, csrf_post, make_podcast, make_summarized_episode, make_summary, make_user

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def premium(db):
    return make_user("prem", plan=Profile.Plan.PREMIUM)


@pytest.fixture
def outdated_episode(db):
    return make_summarized_episode(make_podcast(), summary_version="v1")  # the setting is v2


def url(episode_or_id) -> str:
    pk = getattr(episode_or_id, "pk", episode_or_id)
    return f"/episodes/{pk}/regenerate/"


def test_premium_user_sees_outdated_and_the_regenerate_button(premium, outdated_episode):
    body = csrf_client(premium).get(outdated_episode.get_absolute_url()).content.decode()

    assert 'data-testid="outdated"' in body
    assert 'data-testid="regenerate"' in body
    assert f'action="{url(outdated_episode)}"' in body


def test_staff_on_the_free_plan_may_regenerate(outdated_episode):
    staff = make_user(is_staff=True)

    response = csrf_post(csrf_client(staff), url(outdated_episode), **JSON)

    assert response.status_code == HTTPStatus.ACCEPTED


@pytest.mark.parametrize("who", ["anonymous", "free"])
def test_no_button_for_visitors_and_free_users(who, outdated_episode):
    client = csrf_client(make_user() if who == "free" else None)

    body = client.get(outdated_episode.get_absolute_url()).content.decode()

    assert 'data-testid="outdated"' in body
    assert 'data-testid="regenerate"' not in body


def test_no_button_when_the_summary_is_current(premium, settings):
    episode = make_summarized_episode(make_podcast(), summary_version=settings.SUMMARY_PROMPT_VERSION)

    body = csrf_client(premium).get(episode.get_absolute_url()).content.decode()

    assert 'data-testid="outdated"' not in body and 'data-testid="regenerate"' not in body


def test_outdated_is_computed_on_the_server_from_the_setting(premium, outdated_episode, settings):
    settings.SUMMARY_PROMPT_VERSION = "v1"

    body = csrf_client(premium).get(outdated_episode.get_absolute_url()).content.decode()
    refused = csrf_post(csrf_client(premium), url(outdated_episode), {"outdated": "1", "prompt_version": "v0"}, **JSON)

    assert 'data-testid="regenerate"' not in body
    assert refused.status_code == HTTPStatus.BAD_REQUEST


def test_featured_summary_is_never_offered_for_regeneration(premium):
    episode = make_summarized_episode(make_podcast(), summary_version="v1", summary_status="featured")

    body = csrf_client(premium).get(episode.get_absolute_url()).content.decode()
    response = csrf_post(csrf_client(premium), url(episode), **JSON)

    assert 'data-testid="regenerate"' not in body
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_html_post_redirects_back_303_and_the_page_shows_pending_after_reload(premium, outdated_episode):
    client = csrf_client(premium)

    response = csrf_post(client, url(outdated_episode))

    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response["Location"] == outdated_episode.get_absolute_url()
    reloaded = csrf_client(premium).get(outdated_episode.get_absolute_url()).content.decode()
    assert "Regeneration pending" in reloaded
    assert 'data-testid="regenerate"' not in reloaded


def test_json_post_gets_202_with_delivery_id_and_status(premium, outdated_episode, settings):
    response = csrf_post(csrf_client(premium), url(outdated_episode), **JSON)

    assert response.status_code == HTTPStatus.ACCEPTED
    delivery = Delivery.objects.get()
    assert response.json() == {"delivery_id": delivery.pk, "status": "pending"}
    assert (delivery.kind, delivery.user, delivery.episode) == ("regeneration", premium, outdated_episode)
    assert delivery.target_prompt_version == settings.SUMMARY_PROMPT_VERSION


def test_target_prompt_version_is_captured_at_request_time(premium, outdated_episode, settings):
    settings.SUMMARY_PROMPT_VERSION = "v2"
    csrf_post(csrf_client(premium), url(outdated_episode), **JSON)

    settings.SUMMARY_PROMPT_VERSION = "v3"

    assert Delivery.objects.get().target_prompt_version == "v2"


def test_repeated_posts_return_the_same_pending_delivery(premium, outdated_episode):
    client = csrf_client(premium)

    first = csrf_post(client, url(outdated_episode), **JSON).json()
    second = csrf_post(client, url(outdated_episode), **JSON).json()
    third = csrf_post(client, url(outdated_episode))

    assert first == second
    assert third.status_code == HTTPStatus.SEE_OTHER
    assert Delivery.objects.count() == 1


def test_the_job_is_enqueued_on_commit_once(premium, outdated_episode, django_capture_on_commit_callbacks):
    client = csrf_client(premium)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        csrf_post(client, url(outdated_episode), **JSON)
        csrf_post(client, url(outdated_episode), **JSON)

    assert len(callbacks) == 1


def test_post_without_csrf_token_is_refused(premium, outdated_episode):
    client = Client(enforce_csrf_checks=True)
    client.force_login(premium)

    response = client.post(url(outdated_episode), **JSON)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not Delivery.objects.exists()


def test_get_is_not_allowed(premium, outdated_episode):
    assert csrf_client(premium).get(url(outdated_episode)).status_code == HTTPStatus.METHOD_NOT_ALLOWED


# --- refusals, in order: login → 403 → 404 → 400 → 429 -----------------------------


def test_anonymous_is_sent_to_log_in_first(outdated_episode):
    client = csrf_client()

    html = csrf_post(client, url(999999))
    json = csrf_post(client, url(999999), **JSON)

    assert html.status_code == HTTPStatus.FOUND and html["Location"].startswith("/accounts/login/")
    assert json.status_code == HTTPStatus.UNAUTHORIZED
    assert not Delivery.objects.exists()


def test_free_user_gets_403_even_for_a_missing_episode():
    response = csrf_post(csrf_client(make_user()), url(999999), **JSON)

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_missing_or_hidden_episode_is_404_before_the_outdated_check(premium, settings):
    current = make_summarized_episode(make_podcast(), summary_version=settings.SUMMARY_PROMPT_VERSION)
    Episode.objects.filter(pk=current.pk).update(hidden=True)
    client = csrf_client(premium)

    assert csrf_post(client, url(999999), **JSON).status_code == HTTPStatus.NOT_FOUND
    assert csrf_post(client, url(current), **JSON).status_code == HTTPStatus.NOT_FOUND


def test_current_summary_is_400_before_the_daily_limit(premium, settings):
    settings.REGENERATIONS_PER_DAY = 0
    current = make_summarized_episode(make_podcast(), summary_version=settings.SUMMARY_PROMPT_VERSION)
    no_summary = make_summarized_episode(make_podcast(), summary_version=None)
    client = csrf_client(premium)

    assert csrf_post(client, url(current), **JSON).status_code == HTTPStatus.BAD_REQUEST
    assert csrf_post(client, url(no_summary), **JSON).status_code == HTTPStatus.BAD_REQUEST


def test_over_the_daily_limit_is_429(premium, settings):
    settings.REGENERATIONS_PER_DAY = 2
    episodes = [make_summarized_episode(make_podcast(), summary_version="v1") for _ in range(3)]
    client = csrf_client(premium)

    statuses = [csrf_post(client, url(episode), **JSON).status_code for episode in episodes]
    html = csrf_post(client, url(episodes[2]))

    assert statuses == [HTTPStatus.ACCEPTED, HTTPStatus.ACCEPTED, HTTPStatus.TOO_MANY_REQUESTS]
    assert html.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "regenerations for today" in html.content.decode()
    assert Delivery.objects.count() == 2


def test_repeating_the_last_allowed_request_is_not_429(premium, outdated_episode, settings):
    """A double-click on the request that used the last regeneration returns it, not 429."""
    settings.REGENERATIONS_PER_DAY = 1
    client = csrf_client(premium)

    first = csrf_post(client, url(outdated_episode), **JSON)
    again = csrf_post(client, url(outdated_episode), **JSON)

    assert (first.status_code, again.status_code) == (HTTPStatus.ACCEPTED, HTTPStatus.ACCEPTED)
    assert first.json() == again.json()


def test_finished_regenerations_still_count_toward_the_limit(premium, settings):
    settings.REGENERATIONS_PER_DAY = 1
    done = make_summarized_episode(make_podcast(), summary_version="v1")
    other = make_summarized_episode(make_podcast(), summary_version="v1")
    delivery = regeneration_request(episode_id=done.pk, user=premium)
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENT)

    response = csrf_post(csrf_client(premium), url(other), **JSON)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_a_failed_regeneration_can_be_asked_again(premium, outdated_episode):
    delivery = regeneration_request(episode_id=outdated_episode.pk, user=premium)
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED)

    again = regeneration_request(episode_id=outdated_episode.pk, user=premium)

    assert again.pk != delivery.pk and again.created


def test_summary_of_an_in_flight_regeneration_is_not_shown_yet(premium, outdated_episode, settings):
    delivery = regeneration_request(episode_id=outdated_episode.pk, user=premium)
    fresh = make_summary(outdated_episode, prompt_version=settings.SUMMARY_PROMPT_VERSION, tldr="Fresh but unsent.")
    Delivery.objects.filter(pk=delivery.pk).update(summary=fresh, status=Delivery.Status.PROCESSING)

    body = Client().get(outdated_episode.get_absolute_url()).content.decode()

    assert "Fresh but unsent." not in body and "Tidal turbines are coming of age." in body
