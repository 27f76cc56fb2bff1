import pytest
from django.contrib.auth.models import User
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from curation.services import curators_group_ensure
from podcasts.models import Episode, Podcast
from summaries.models import Summary

PASSWORD = "castnotes-test-pw"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's full work factor costs ~1 s per user on this machine; tests need no strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def curator(db) -> User:
    user = User.objects.create_user("curator", password=PASSWORD, is_staff=True)
    # Ensured, not just fetched: a transactional test's flush drops the migration's group.
    user.groups.add(curators_group_ensure())
    return user


@pytest.fixture
def plain_staff(db) -> User:
    return User.objects.create_user("staff", password=PASSWORD, is_staff=True)


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root", password=PASSWORD)


@pytest.fixture
def podcast(db) -> Podcast:
    return Podcast.objects.create(feed_url="https://example.com/feed.xml", title="Example Show")


@pytest.fixture
def episode(podcast) -> Episode:
    return Episode.objects.create(podcast=podcast, guid="ep-1", title="Episode One")


def make_summary(episode: Episode, status: str = "candidate") -> Summary:
    return Summary.objects.create(
        episode=episode,
        content={"tldr": "A short summary.", "key_points": ["a", "b", "c"], "quotes": [], "chapters": [], "topics": []},
        prompt_version="v2",
        provider="extractive",
        model="extractive",
        source_hash="0" * 64,
        editorial_status=status,
    )


@pytest.fixture
def summary(episode) -> Summary:
    return make_summary(episode)


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
