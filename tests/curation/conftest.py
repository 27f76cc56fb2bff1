import pytest
from django.contrib.auth.models import User
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from curation.services import curators_group_ensure
from podcasts.models import Episode, Podcast
from summaries.models import Summary
from tests.factories import make_episode, make_podcast, make_summary, make_user


@pytest.fixture
def curator(db) -> User:
    user = make_user("curator", email="", plan=None, is_staff=True)
    # Ensured, not just fetched: a transactional test's flush drops the migration's group.
    user.groups.add(curators_group_ensure())
    return user


@pytest.fixture
def plain_staff(db) -> User:
    return make_user("staff", email="", plan=None, is_staff=True)


@pytest.fixture
def superuser(db) -> User:
    return make_user("root", email="", plan=None, is_staff=True, is_superuser=True)


@pytest.fixture
def podcast(db) -> Podcast:
    return make_podcast("Example Show", feed_url="https://example.com/feed.xml")


@pytest.fixture
def episode(podcast) -> Episode:
    return make_episode(podcast, guid="ep-1", title="Episode One")


@pytest.fixture
def summary(episode) -> Summary:
    return make_summary(episode, editorial_status="candidate", prompt_version="v2")


class CsrfClient(Client):
    """A client that enforces CSRF and sends a valid token with every POST, like a browser form."""

    def __init__(self, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)
        self.csrf_token = _get_new_csrf_string()
        self.cookies["csrftoken"] = self.csrf_token

    def post(self, path, data=None, **kwargs):
        data = {**(data or {}), "csrfmiddlewaretoken": self.csrf_token}
        return super().post(path, data, **kwargs)


@pytest.fixture
def client_for():
    def make(user: User | None) -> CsrfClient:
        client = CsrfClient()
        if user is not None:
            client.force_login(user)
        return client

    return make
