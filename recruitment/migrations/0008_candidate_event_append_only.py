"""On PostgreSQL the candidate history is append-only in the database too: a trigger refuses UPDATE and
DELETE of CandidateEvent rows, whatever code (or person at a SQL prompt) tries. SQLite relies on the
service layer, which only ever inserts."""

from collections.abc import Callable

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

CREATE = """
CREATE FUNCTION recruitment_candidateevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'candidate history is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER recruitment_candidateevent_append_only
    BEFORE UPDATE OR DELETE ON recruitment_candidateevent
    FOR EACH ROW EXECUTE FUNCTION recruitment_candidateevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS recruitment_candidateevent_append_only ON recruitment_candidateevent;
DROP FUNCTION IF EXISTS recruitment_candidateevent_append_only();
"""


def _on_postgresql(sql: str) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
    def run(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("recruitment", "0007_match_alerts")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
