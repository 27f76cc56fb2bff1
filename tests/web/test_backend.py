"""The authentication backend loads the signed-in user and their plan in one query."""

import pytest
from django.contrib.auth import get_user_model

from podcasts.backends import AccountBackend
from podcasts.models import Profile
from podcasts.subscribers import user_is_premium
from tests.factories import csrf_client, make_podcast, make_summarized_episode, make_user

pytestmark = pytest.mark.django_db


def test_user_and_plan_come_in_one_query(django_assert_num_queries):
    user = make_user(plan=Profile.Plan.PREMIUM)

    with django_assert_num_queries(1):
        loaded = AccountBackend().get_user(user.pk)
        assert loaded == user and loaded.username == user.username
        assert user_is_premium(user=loaded) is True
        assert loaded.profile.user is loaded

    assert loaded.profile.created_at == Profile.objects.get(user=user).created_at  # deferred, still right


def test_inactive_missing_and_malformed_users_are_nobody():
    inactive = make_user()
    get_user_model().objects.filter(pk=inactive.pk).update(is_active=False)

    assert AccountBackend().get_user(inactive.pk) is None
    assert AccountBackend().get_user(987654) is None
    assert AccountBackend().get_user("not-a-number") is None


def test_a_user_without_a_profile_gets_a_free_one_when_the_plan_is_read(db):
    user = get_user_model().objects.create_user(username="made-by-admin", password="pw-castnotes-123")

    loaded = AccountBackend().get_user(user.pk)

    assert user_is_premium(user=loaded) is False
    assert Profile.objects.get(user=user).plan == Profile.Plan.FREE


def test_a_signed_in_page_reads_the_user_once(django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = make_user(plan=Profile.Plan.PREMIUM)
    episode = make_summarized_episode(make_podcast(), summary_version="v1")  # outdated: the page reads the plan
    client = csrf_client(user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(episode.get_absolute_url())

    assert response.status_code == 200 and b'data-testid="regenerate"' in response.content
    assert not [q for q in queries.captured_queries if "podcasts_profile" in q["sql"] and "auth_user" not in q["sql"]]
