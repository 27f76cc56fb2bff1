"""The OpenAI-compatible provider against a real inference server: llama-cpp-python's
`llama_cpp.server` with Gemma 3 270M, in a 2,048-token context.

The model is tiny: these tests prove the protocol, the structured-output fallback, the
context accounting and the chunking on a real server, not summary quality. They need the
server (CI builds it) and fail without it; they are kept few because the model is slow.
"""

import json
from pathlib import Path

import pytest
from django.test import Client
from django.utils.html import escape

from podcasts.models import Episode, Profile
from summaries.deliveries import delivery_run
from summaries.llm import transcript_input, transcript_summarize
from summaries.llm.openai import accepted_mode
from summaries.models import Summary
from summaries.regeneration import regeneration_request
from summaries.services import episode_summarize
from tests.factories import make_transcribed_episode
from tests.summaries.conftest import LLAMA_CONTEXT_TOKENS
from tests.support.llama_server import MODEL_NAME
from tests.support.recording_proxy import transcript_coverage

pytestmark = pytest.mark.llama_server

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "corpus" / "ai_cloud_essentials_5min.json"


def test_real_server_summarizes_a_real_transcript_in_parts_and_reads_every_word(llama_openai):
    segments = json.loads(FIXTURE.read_text())["segments"]

    result = transcript_summarize(segments, provider="openai", prompt_version="v2")

    # llama-cpp-python refuses json_schema (a 500) and takes json_object with the schema.
    first = llama_openai.exchanges[0]
    assert (first[0]["response_format"]["type"], first[1]) == ("json_schema", 500)
    assert accepted_mode(llama_openai.url, MODEL_NAME) == "json_object"
    answered = llama_openai.answered
    assert len(answered) == result.usage.requests - 1 >= 3  # parts, then a merge
    assert any("parts and merged" in w for w in result.warnings)
    # Every word of the transcript reached the model, and the server read every prompt whole.
    # Every word of the prepared transcript (ads and repeated filler out, by design) reached the model.
    assert transcript_coverage(llama_openai, transcript_input(segments).prepared) == 1.0
    for request, response in answered:
        assert response["usage"]["prompt_tokens"] + request["max_tokens"] <= LLAMA_CONTEXT_TOKENS
        assert response["usage"]["prompt_tokens"] >= len("".join(m["content"] for m in request["messages"])) / 6
    assert result.content["tldr"] and len(result.content["key_points"]) >= 3
    assert result.usage.input_tokens == sum(r["usage"]["prompt_tokens"] for _, r in answered)


@pytest.mark.django_db
def test_pipeline_stores_the_real_servers_summary_the_page_shows_it_and_regenerate_replaces_it(
    llama_openai, django_user_model, settings
):
    episode = make_transcribed_episode(title="Compost with a local model")

    first = episode_summarize(episode_id=episode.pk, prompt_version="v1")

    episode.refresh_from_db()
    assert episode.pipeline_status == Episode.PipelineStatus.SUMMARIZED
    assert (first.provider, first.model, first.editorial_status, first.cost_usd) == ("openai", MODEL_NAME, "published", 0)
    page = Client().get(episode.get_absolute_url()).content.decode()
    assert escape(first.content["tldr"]) in page

    premium = django_user_model.objects.create_user(username="prem", email="prem@example.com", password="pw-castnotes-123")
    Profile.objects.create(user=premium, plan=Profile.Plan.PREMIUM)
    delivery = regeneration_request(episode_id=episode.pk, user=premium)
    assert delivery_run(delivery_id=delivery.pk) == "sent"

    delivery.refresh_from_db()
    second = delivery.summary
    first.refresh_from_db()
    assert (second.provider, second.prompt_version, second.editorial_status) == (
        "openai",
        settings.SUMMARY_PROMPT_VERSION,
        "published",
    )
    assert first.editorial_status == "retired"
    # v3 asks the real server for ad spans too: its grammar took the schema (the server did not die
    # on it) and every answer carries an `ads` list, checked like Claude's.
    v3_answers = [r for q, r in llama_openai.answered if "ads" in q["response_format"]["schema"]["required"]]
    assert v3_answers
    assert all(isinstance(json.loads(r["choices"][0]["message"]["content"], strict=False)["ads"], list) for r in v3_answers)
    page = Client().get(episode.get_absolute_url()).content.decode()
    assert escape(second.content["tldr"]) in page
    assert Summary.objects.filter(episode=episode).count() == 2
