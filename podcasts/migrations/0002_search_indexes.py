"""GIN indexes for full-text search on PostgreSQL (SQLite searches with icontains).

The expressions match podcasts.selectors.episode_search exactly, so the planner
uses them. Raw SQL because they are expression indexes on PostgreSQL only.
"""

from django.db import migrations

INDEXES = [
    (
        "episode_title_fts",
        "CREATE INDEX IF NOT EXISTS episode_title_fts ON podcasts_episode "
        "USING gin (to_tsvector('english'::regconfig, COALESCE(title, '')))",
    ),
    (
        "transcript_text_fts",
        "CREATE INDEX IF NOT EXISTS transcript_text_fts ON podcasts_transcript "
        "USING gin (to_tsvector('english'::regconfig, COALESCE(text, '')))",
    ),
    (
        "summary_content_fts",
        "CREATE INDEX IF NOT EXISTS summary_content_fts ON summaries_summary "
        "USING gin (jsonb_to_tsvector('english'::regconfig, content, '[\"string\"]'::jsonb))",
    ),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _name, sql in INDEXES:
        schema_editor.execute(sql)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _sql in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("podcasts", "0001_initial"),
        ("summaries", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
