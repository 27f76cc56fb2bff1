"""Reject UPDATE and DELETE on the editorial log in the database itself (PostgreSQL).

The one UPDATE allowed is Django's ON DELETE SET NULL when the acting user is
deleted: only `actor_id` changes, to NULL, and `actor_label` keeps the name.
TRUNCATE (test database flushes) fires no row trigger. SQLite gets no trigger:
its test flush deletes rows one statement at a time, which a trigger would block;
there the model and its queryset refuse instead.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION curation_curatoraction_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
       AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'curation_curatoraction is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER curation_curatoraction_append_only
    BEFORE UPDATE OR DELETE ON curation_curatoraction
    FOR EACH ROW EXECUTE FUNCTION curation_curatoraction_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS curation_curatoraction_append_only ON curation_curatoraction;
DROP FUNCTION IF EXISTS curation_curatoraction_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("curation", "0002_curatoraction_item_open_inbox_indexes")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
