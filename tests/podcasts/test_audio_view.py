"""The cached audio copy is served with Range support so the player can seek."""

from http import HTTPStatus

import pytest

from podcasts.models import Episode, Podcast

AUDIO = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def episode(db, media_root):
    (media_root / "audio").mkdir()
    (media_root / "audio" / "1.mp3").write_bytes(AUDIO)
    podcast = Podcast.objects.create(feed_url="https://example.com/feed.xml", title="Show")
    return Episode.objects.create(
        podcast=podcast,
        guid="g1",
        title="One",
        enclosure_url="https://cdn.example.com/1.mp3",
        enclosure_type="audio/mpeg",
        audio_path="audio/1.mp3",
    )


def test_whole_file_is_served_and_advertises_ranges(client, episode):
    response = client.get(f"/episodes/{episode.pk}/audio")

    assert response.status_code == HTTPStatus.OK
    assert b"".join(response.streaming_content) == AUDIO
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/mpeg"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=10-19", 10, 19),
        ("bytes=10240-", None, None),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-40", 10200, 10239),
        ("bytes=0-999999", 0, 10239),
    ],
)
def test_range_requests_get_the_exact_bytes(client, episode, header, first, last):
    response = client.get(f"/episodes/{episode.pk}/audio", HTTP_RANGE=header)

    if first is None:
        assert response.status_code == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE
        assert response["Content-Range"] == "bytes */10240"
        return
    assert response.status_code == HTTPStatus.PARTIAL_CONTENT
    assert b"".join(response.streaming_content) == AUDIO[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/10240"
    assert response["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=-", "items=0-5", "bytes=20-10"])
def test_malformed_or_backward_ranges_are_refused(client, episode, header):
    response = client.get(f"/episodes/{episode.pk}/audio", HTTP_RANGE=header)

    assert response.status_code == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE


def test_hidden_episode_and_missing_audio_are_404(client, episode):
    no_audio = Episode.objects.create(podcast=episode.podcast, guid="g2", title="Two")
    hidden = Episode.objects.create(podcast=episode.podcast, guid="g3", title="Three", audio_path="audio/1.mp3", hidden=True)

    assert client.get(f"/episodes/{no_audio.pk}/audio").status_code == HTTPStatus.NOT_FOUND
    assert client.get(f"/episodes/{hidden.pk}/audio").status_code == HTTPStatus.NOT_FOUND


def test_audio_path_escaping_media_root_is_404(client, episode, tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    Episode.objects.filter(pk=episode.pk).update(audio_path="../secret.txt")

    assert client.get(f"/episodes/{episode.pk}/audio").status_code == HTTPStatus.NOT_FOUND


def test_episode_page_plays_the_cached_copy_and_timestamps_seek_it(client, episode):
    response = client.get(f"/episodes/{episode.pk}/")

    html = response.content.decode()
    assert f'src="/episodes/{episode.pk}/audio"' in html
    assert "cdn.example.com" not in html.split("<audio", 1)[1].split("</audio>", 1)[0]
