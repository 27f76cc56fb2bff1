"""The player's "Skip sponsor" in headless Chromium (Debian's package) against live_server:
the bundled demo episode 2, its sponsor read stored as an ad span, played from the cached copy."""

import shutil

import pytest
from django.utils import timezone

from podcasts.models import AdSpan, Episode
from tests.factories import make_podcast, make_summary, make_transcript
from tests.support.pipeline import DEMO_AUDIO

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Where the demo's espeak-ng read of "Hillside Coffee" lies in episode-2.mp3 (the detector's span).
READ_START, READ_END = 16.88, 35.26
WAIT_MS = 20_000


@pytest.fixture
def episode(media_root):
    shutil.copy(DEMO_AUDIO / "episode-2.mp3", media_root / "episode-2.mp3")
    episode = Episode.objects.create(
        podcast=make_podcast("Field Notes"),
        guid="skip-1",
        title="Episode 2: A short history of the bicycle",
        enclosure_url="https://media.example.com/episode-2.mp3",
        enclosure_type="audio/mpeg",
        audio_path="episode-2.mp3",
        published_at=timezone.now(),
        pipeline_status=Episode.PipelineStatus.SUMMARIZED,
    )
    transcript = make_transcript(episode, duration=55.1)
    AdSpan.objects.create(
        transcript=transcript, start=READ_START, end=READ_END, label="Hillside Coffee", origin=AdSpan.Origin.DETECTOR
    )
    make_summary(episode, prompt_version="v3")
    return episode


def _current_time(page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def test_skip_sponsor_shows_inside_the_span_and_jumps_to_its_end(browser, live_server, episode):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}{episode.get_absolute_url()}")
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=WAIT_MS)
    skip = page.locator("#skip-ad")
    assert skip.is_hidden()  # the playhead starts outside the read

    # Into the read, and playing (muted: headless Chromium's autoplay policy allows that).
    page.evaluate(
        f"""() => {{ const p = document.getElementById('player'); p.muted = true; p.currentTime = {READ_START + 2};
        return p.play(); }}"""
    )
    skip.wait_for(state="visible", timeout=WAIT_MS)
    assert skip.inner_text() == "Skip sponsor (Hillside Coffee)"
    assert READ_START <= _current_time(page) < READ_END
    skip.click()

    page.wait_for_function(f"document.getElementById('player').currentTime >= {READ_END}", timeout=WAIT_MS)
    assert READ_END <= _current_time(page) < READ_END + 5
    skip.wait_for(state="hidden", timeout=WAIT_MS)
    assert errors == []
    page.close()
