"""Upgrades keep every record: the first release's store is adopted, later revisions apply, a
failed upgrade leaves the store as it was, and stores this code must not touch are refused."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from service import (
    models,  # noqa: F401  (registers the tables)
    schema,
)
from service.app import App
from service.backup import backup_sqlite, restore_sqlite, sqlite_path
from service.db import Base, make_engine
from tests.cli_support import Cli
from tests.support import make_config
from tests.upgrades import columns_of, load_release_0_1, snapshot

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def revision_of(engine: Engine) -> str | None:
    return schema.current(engine).revision if _versioned(engine) else None


def _versioned(engine: Engine) -> bool:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() is not None


def test_a_first_release_store_is_adopted_and_keeps_every_row(engine: Engine) -> None:
    load_release_0_1(engine)
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)
    assert all(before[name] for name in legacy), "every table of the fixture holds rows"
    assert schema.current(engine).standing is schema.Standing.UNVERSIONED

    result = schema.upgrade(engine, now=NOW)

    assert result.adopts and result.after == schema.head()
    assert revision_of(engine) == schema.head()
    assert snapshot(engine, legacy) == before


def test_the_adopted_store_keeps_its_done_records_and_outbox(engine: Engine) -> None:
    load_release_0_1(engine)
    schema.upgrade(engine, now=NOW)
    with engine.connect() as connection:
        done = connection.execute(
            text("SELECT count(*) FROM occurrences WHERE status = 'done' AND result_note <> ''")
        ).scalar()
        failed = connection.execute(
            text("SELECT last_error FROM outbox WHERE status = 'failed'")
        ).scalar()
    assert done == 10
    assert failed == "550 5.1.1 Okänd mottagare"


def test_the_models_and_the_migrations_agree(engine: Engine) -> None:
    schema.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_an_up_to_date_store_is_left_as_it_is(engine: Engine) -> None:
    schema.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO state (key, value) VALUES ('k', 'v')"))

    again = schema.upgrade(engine)

    assert not again.changes and again.backup is None
    assert again.before.standing is schema.Standing.CURRENT
    assert snapshot(engine, {"state": ["key", "value"]}) == {"state": [("k", "v")]}


def test_a_store_newer_than_the_code_is_refused_and_untouched(engine: Engine) -> None:
    load_release_0_1(engine)
    schema.upgrade(engine, now=NOW)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)

    with pytest.raises(schema.SchemaError, match="nyare än den här versionen"):
        schema.upgrade(engine)

    assert snapshot(engine, legacy) == before


def test_tables_that_match_no_revision_are_refused_and_untouched(engine: Engine) -> None:
    load_release_0_1(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)

    with pytest.raises(schema.SchemaError, match="okänd tabell invoices"):
        schema.upgrade(engine)

    assert snapshot(engine, legacy) == before
    assert not _versioned(engine)


FAILING = '''"""A revision that fails halfway (for the test)."""

import sqlalchemy as sa
from alembic import op

revision = "9999_fails"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("doomed", sa.Text(), nullable=True))
    op.execute("UPDATE plans SET doomed = 'x'")
    op.execute("DELETE FROM audit_log")
    raise RuntimeError("revision made to fail")


def downgrade() -> None:
    pass
'''


@pytest.fixture
def failing_scripts(tmp_path: Path) -> str:
    """The real revisions plus one more that fails after changing things."""
    folder = tmp_path / "migrations"
    shutil.copytree(Path(schema.__file__).parent / "migrations", folder)
    (folder / "versions" / "9999_fails.py").write_text(
        FAILING.replace("{down}", schema.head()), encoding="utf-8"
    )
    return str(folder)


def test_an_upgrade_that_fails_halfway_leaves_the_store_as_it_was(
    engine: Engine, failing_scripts: str
) -> None:
    load_release_0_1(engine)
    schema.upgrade(engine, now=NOW)
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)

    with pytest.raises(schema.SchemaError, match="Databasen är som före uppgraderingen"):
        schema.upgrade(engine, now=NOW, script_location=failing_scripts)

    engine.dispose()
    assert columns_of(engine) == legacy  # the column the revision added is gone again
    assert snapshot(engine, legacy) == before
    assert revision_of(engine) == schema.head()


def test_sqlite_upgrades_take_a_backup_beside_the_database(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    load_release_0_1(engine)

    result = schema.upgrade(engine, now=NOW)

    database = sqlite_path(engine)
    assert database is not None and result.backup is not None
    assert result.backup.parent == database.parent
    copy = make_engine(f"sqlite:///{result.backup}")
    legacy = columns_of(copy)
    assert snapshot(copy, legacy) == snapshot(engine, legacy)
    assert not _versioned(copy)  # the copy is the store as it was before


def test_a_backup_restores_the_same_rows(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    load_release_0_1(engine)
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)
    copy = backup_sqlite(engine, tmp_path / "copy.db")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM notices"))
        connection.execute(text("UPDATE occurrences SET comment = 'ändrad'"))

    restore_sqlite(copy, sqlite_path(engine))

    assert snapshot(engine, legacy) == before


def test_the_service_upgrades_the_embedded_sqlite_store_on_start(
    sqlite_url: str, tmp_path: Path
) -> None:
    app = App(make_config(sqlite_url, tmp_path))
    load_release_0_1(app.engine)
    legacy = columns_of(app.engine)
    before = snapshot(app.engine, legacy)

    assert app.init(NOW) == []  # the store already holds plans: nothing is imported again

    assert revision_of(app.engine) == schema.head()
    assert snapshot(app.engine, {"plans": legacy["plans"]}) == {"plans": before["plans"]}


@pytest.mark.postgres
def test_the_service_refuses_a_postgres_store_behind_the_code(
    postgres_url: str, tmp_path: Path
) -> None:
    app = App(make_config(postgres_url, tmp_path))
    load_release_0_1(app.engine)

    with pytest.raises(schema.SchemaError, match="bevakning migrate"):
        app.init(NOW)

    assert not _versioned(app.engine)
    schema.upgrade(app.engine)
    assert app.init(NOW) == []


def test_a_policy_of_never_asks_for_migrate_on_sqlite_too(sqlite_url: str, tmp_path: Path) -> None:
    config = make_config(sqlite_url, tmp_path).with_overrides(
        {"database": {"migrate_on_start": "never"}}
    )
    app = App(config)
    load_release_0_1(app.engine)

    with pytest.raises(schema.SchemaError, match="bevakning migrate"):
        app.init(NOW)
    assert not _versioned(app.engine)


def test_a_new_store_is_built_through_the_migrations(app: App) -> None:
    app.init(NOW)
    assert revision_of(app.engine) == schema.head()


def test_migrate_says_in_swedish_what_it_did_and_then_that_nothing_was_needed(cli: Cli) -> None:
    load_release_0_1(make_engine(f"sqlite:///{cli.db}"))

    code, out, _ = cli("migrate", "--dry-run")
    assert code == 0 and "Inget ändrades (--dry-run)" in out
    code, out, _ = cli("migrate")
    assert code == 0
    assert "första versionen av Bevakning" in out and f"nu har den {schema.head()}" in out
    assert "Säkerhetskopia före uppgraderingen" in out
    code, out, _ = cli("migrate")
    assert code == 0 and "inget ändrades" in out


def test_migrate_refuses_a_newer_store_with_a_clear_message(cli: Cli) -> None:
    assert cli("init")[0] == 0
    engine = make_engine(f"sqlite:///{cli.db}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_newer'"))

    code, _, err = cli("migrate")

    assert code == 1 and "9999_newer" in err and "nyare" in err


def test_the_backup_command_copies_a_running_store(cli: Cli, tmp_path: Path) -> None:
    assert cli("init")[0] == 0
    target = tmp_path / "kopia.db"

    code, out, _ = cli("backup", str(target))

    assert code == 0 and str(target) in out
    original, copy = make_engine(f"sqlite:///{cli.db}"), make_engine(f"sqlite:///{target}")
    columns = columns_of(original)
    assert snapshot(copy, columns) == snapshot(original, columns)
    assert cli("backup", str(target))[0] == 2  # never over an existing file


def test_the_revisions_form_one_line_from_the_first_release() -> None:
    directory = schema.scripts()
    assert len(directory.get_heads()) == 1
    assert schema._pending(directory, None, schema.head())[0] == schema.FIRST
