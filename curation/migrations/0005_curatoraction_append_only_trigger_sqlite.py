"""The SQLite twin of 0003: reject UPDATE and DELETE on the editorial log in the database.

As on PostgreSQL, the one UPDATE allowed is Django's ON DELETE SET NULL when the acting
user is deleted (only `actor_id` changes, to NULL). The triggers call
`castnotes_append_only_enforced()`, a function each Castnotes connection registers
(curation/apps.py); it answers 0 only while `manage.py flush` runs (PostgreSQL's flush
is a TRUNCATE, which fires no row trigger either). Any other client (the sqlite3 shell)
has no such function, so its UPDATE or DELETE fails too.
"""

from django.db import migrations

OTHER_COLUMNS = [
    "id", "actor_label", "content_type_id", "object_id", "target_repr", "action",
    "from_state", "to_state", "reason", "curation_item_id", "created_at",
]  # fmt: skip
UNCHANGED = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in OTHER_COLUMNS)

CREATE = [
    f"""
    CREATE TRIGGER curation_curatoraction_append_only_update
    BEFORE UPDATE ON curation_curatoraction
    FOR EACH ROW
    WHEN castnotes_append_only_enforced()
     AND NOT (OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL AND {UNCHANGED})
    BEGIN
        SELECT RAISE(ABORT, 'curation_curatoraction is append-only: UPDATE refused');
    END;
    """,
    """
    CREATE TRIGGER curation_curatoraction_append_only_delete
    BEFORE DELETE ON curation_curatoraction
    FOR EACH ROW
    WHEN castnotes_append_only_enforced()
    BEGIN
        SELECT RAISE(ABORT, 'curation_curatoraction is append-only: DELETE refused');
    END;
    """,
]
DROP = [
    "DROP TRIGGER IF EXISTS curation_curatoraction_append_only_update;",
    "DROP TRIGGER IF EXISTS curation_curatoraction_append_only_delete;",
]


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in CREATE:
            schema_editor.execute(statement, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("curation", "0004_curators_group")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
