"""Full-text search on PostgreSQL (SQLite searches with icontains instead).

Transcripts and summaries get a stored generated `search_vector` column, so a
search never runs to_tsvector over long texts at query time (ranking thousands
of matches stays fast); titles are short and use an expression index. Raw SQL
because these are PostgreSQL-only; the models do not declare the columns (no
ORM write touches them, PostgreSQL keeps them current). podcasts.selectors.
episode_search uses exactly these expressions.
"""

from django.db import migrations

CREATE = [
    "CREATE INDEX IF NOT EXISTS episode_title_fts ON podcasts_episode "
    "USING gin (to_tsvector('english'::regconfig, COALESCE(title, '')))",
    "ALTER TABLE podcasts_transcript ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, COALESCE(text, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS transcript_search_vector ON podcasts_transcript USING gin (search_vector)",
    "ALTER TABLE summaries_summary ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (jsonb_to_tsvector('english'::regconfig, content, '[\"string\"]'::jsonb)) STORED",
    "CREATE INDEX IF NOT EXISTS summary_search_vector ON summaries_summary USING gin (search_vector)",
]
DROP = [
    "DROP INDEX IF EXISTS summary_search_vector",
    "ALTER TABLE summaries_summary DROP COLUMN IF EXISTS search_vector",
    "DROP INDEX IF EXISTS transcript_search_vector",
    "ALTER TABLE podcasts_transcript DROP COLUMN IF EXISTS search_vector",
    "DROP INDEX IF EXISTS episode_title_fts",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("podcasts", "0002_podcast_feed_sha256"),
        ("summaries", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
