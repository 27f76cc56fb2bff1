from django.apps import AppConfig


class SummariesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "summaries"

    def ready(self) -> None:
        # The lower apps' registries are filled here, once the models are loaded.
        from config.queues import periodic_job_register
        from curation.models import CurationItem
        from curation.services import proposed_action_register
        from podcasts.stages import Stage, Status, stage_register, sweeper_register
        from summaries import actions

        stage_register(
            Stage(
                name="summarize",
                ready=Status.TRANSCRIBED,
                working=Status.SUMMARIZING,
                queue="summaries",
                job="summaries.tasks.summarize_episode",
                run="summaries.services.episode_summarize",
                label="Summarizing",
            )
        )
        sweeper_register("deliveries", "summaries.deliveries.deliveries_sweep")
        periodic_job_register("deliveries", "summaries.tasks_deliveries.poll_regeneration_batches")
        Action = CurationItem.ProposedAction
        proposed_action_register(Action.HIDE_SUMMARY, actions.hide_summary)
        proposed_action_register(Action.RESUMMARIZE, actions.resummarize)
