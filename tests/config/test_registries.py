"""What each app registers into the lower layers' registries from its AppConfig.ready()."""

from config.queues import periodic_jobs
from curation.services import proposed_action_handlers
from podcasts import actions as podcast_actions
from podcasts.stages import stages, sweepers
from summaries import actions as summary_actions
from summaries.deliveries import deliveries_sweep


def test_curation_handlers_are_registered_by_the_apps_that_own_them():
    assert proposed_action_handlers() == {
        "retry_job": podcast_actions.retry_job,
        "retranscribe": podcast_actions.retranscribe,
        "ingest_feed": podcast_actions.ingest_feed,
        "hide_summary": summary_actions.hide_summary,
        "resummarize": summary_actions.resummarize,
    }


def test_stage_table_holds_download_transcribe_summarize_in_pipeline_order():
    table = [(s.name, s.ready, s.working, s.queue, s.job, s.run) for s in stages()]

    assert table == [
        ("download", "new", "downloading", "downloads", "podcasts.tasks.download_episode", "podcasts.download.episode_download"),
        (
            "transcribe",
            "downloaded",
            "transcribing",
            "transcription",
            "podcasts.tasks.transcribe_episode",
            "podcasts.pipeline.episode_transcribe",
        ),
        (
            "summarize",
            "transcribed",
            "summarizing",
            "summaries",
            "summaries.tasks.summarize_episode",
            "summaries.services.episode_summarize",
        ),
    ]
    for stage in stages():
        assert callable(stage.run_function())


def test_sweep_and_scheduler_registries():
    assert sweepers() == {"deliveries": deliveries_sweep}
    assert periodic_jobs() == [("deliveries", "summaries.tasks_deliveries.poll_regeneration_batches")]
