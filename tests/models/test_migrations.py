"""The migrations build exactly the schema the models describe, on this run's database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from anagen.extensions import db


def test_models_and_migrations_do_not_drift(app_ctx):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_downgrade_then_upgrade_round_trips(app, tmp_path):
    """Every migration can be undone and redone (on a scratch SQLite database)."""
    from flask_migrate import downgrade, upgrade

    from anagen import create_app

    scratch = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'scratch.sqlite3'}",
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "x" * 32,
        }
    )
    with scratch.app_context():
        upgrade()
        downgrade(revision="base")
        upgrade()
        tables = set(db.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert {"clinic", "patient", "course", "planned_application", "reminder_occurrence"} <= tables
