from django.apps import AppConfig


class PodcastsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "podcasts"

    def ready(self) -> None:
        # Registries of the lower layers are filled here, once the models are loaded.
        from curation.models import CurationItem
        from curation.services import proposed_action_register
        from podcasts import actions
        from podcasts.pipeline import download_job_timeout, transcription_job_timeout, transcription_stuck_seconds
        from podcasts.stages import Stage, Status, stage_register

        stage_register(
            Stage(
                name="download",
                ready=Status.NEW,
                working=Status.DOWNLOADING,
                queue="downloads",
                job="podcasts.tasks.download_episode",
                run="podcasts.download.episode_download",
                label="Downloading",
                timeout=download_job_timeout,
            )
        )
        stage_register(
            Stage(
                name="transcribe",
                ready=Status.DOWNLOADED,
                working=Status.TRANSCRIBING,
                queue="transcription",
                job="podcasts.tasks.transcribe_episode",
                run="podcasts.pipeline.episode_transcribe",
                label="Transcribing",
                timeout=transcription_job_timeout,
                stuck_after=transcription_stuck_seconds,
            )
        )
        Action = CurationItem.ProposedAction
        proposed_action_register(Action.RETRY_JOB, actions.retry_job)
        proposed_action_register(Action.RETRANSCRIBE, actions.retranscribe)
        proposed_action_register(Action.INGEST_FEED, actions.ingest_feed)
