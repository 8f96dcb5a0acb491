"""Storage on SQLite and PostgreSQL: viewers, the event log, and schema upgrades.

Every test takes ``database_url`` and so runs twice: on a SQLite file and on a throw-away
PostgreSQL database (see tests/conftest.py).
"""

from __future__ import annotations

import asyncio

import pytest
from limelight.db import Database, DatabaseError
from limelight.events import ViewerRef
from limelight.models import EventRecord, Viewer, ViewerIdentity
from limelight.viewers import Viewers
from tortoise.exceptions import IntegrityError

from tests.fixtures.apps import migrapp
from tests.fixtures.apps.migrapp.models import Note


async def test_a_viewer_is_created_once_per_identity_and_keeps_the_name_fresh(db):
    viewers = Viewers()
    ann = await viewers.get_or_create(ViewerRef("twitch", "1", "Ann"))
    again = await viewers.get_or_create(ViewerRef("twitch", "1", "AnnTheGreat"))
    assert again.id == ann.id
    assert await viewers.identities(ann) == [ViewerRef("twitch", "1", "AnnTheGreat")]
    assert await Viewer.all().count() == 1


async def test_concurrent_first_sightings_make_one_viewer(db):
    viewers = Viewers()
    ref = ViewerRef("twitch", "42", "Racer")
    made = await asyncio.gather(*(viewers.get_or_create(ref) for _ in range(5)))
    assert len({v.id for v in made}) == 1
    assert await ViewerIdentity.filter(platform="twitch", platform_id="42").count() == 1


async def test_one_viewer_linked_to_several_platforms(db):
    viewers = Viewers()
    ann = await viewers.get_or_create(ViewerRef("twitch", "1", "Ann"))
    await viewers.link(ann, ViewerRef("stripe", "cus_9", "Ann B."))
    await viewers.link(ann, ViewerRef("youtube", "UC1", "Ann"))
    assert {r.platform for r in await viewers.identities(ann)} == {"twitch", "stripe", "youtube"}
    found = await viewers.find(ViewerRef("stripe", "cus_9"))
    assert found is not None and found.id == ann.id
    assert await viewers.find(ViewerRef("stripe", "nobody")) is None


async def test_linking_an_identity_of_another_viewer_merges_them(db):
    viewers = Viewers()
    ann = await viewers.get_or_create(ViewerRef("twitch", "1", "Ann"))
    other = await viewers.get_or_create(ViewerRef("kofi", "ann@example.org", "Ann"))
    await viewers.link(other, ViewerRef("discord", "77", "ann#1"))
    await viewers.link(ann, ViewerRef("kofi", "ann@example.org"))
    assert {r.platform for r in await viewers.identities(ann)} == {"twitch", "kofi", "discord"}
    assert await viewers.identities(other) == []
    merged = await viewers.find(ViewerRef("discord", "77"))
    assert merged is not None and merged.id == ann.id


async def test_an_identity_belongs_to_one_viewer_only(db):
    viewers = Viewers()
    ann = await viewers.get_or_create(ViewerRef("twitch", "1", "Ann"))
    bob = await Viewer.create(display_name="Bob")
    with pytest.raises(IntegrityError):
        await ViewerIdentity.create(viewer=bob, platform="twitch", platform_id="1")
    assert (await viewers.find(ViewerRef("twitch", "1"))).id == ann.id


def _record(source_id: str, *, test: bool = False, source: str = "kofi") -> EventRecord:
    from datetime import UTC, datetime

    return EventRecord(
        type="tip",
        source=source,
        source_id=source_id,
        dedupe_id=None if test else source_id,
        test=test,
        occurred_at=datetime.now(UTC),
        data={"amount": "1.00"},
    )


async def test_event_log_is_unique_on_source_and_source_id(db):
    await _record("pay-1").save()
    with pytest.raises(IntegrityError):
        await _record("pay-1").save()
    await _record("pay-1", source="stripe").save()  # another source may reuse the id
    assert await EventRecord.all().count() == 2


async def test_test_events_never_collide_with_each_other_or_real_ones(db):
    await _record("pay-1", test=True).save()
    await _record("pay-1", test=True).save()
    await _record("pay-1").save()
    assert await EventRecord.filter(source_id="pay-1").count() == 3


async def test_hook_register_models_upgrade_keeps_rows(database_url):
    """A plugin's table at schema 0001, filled, upgraded to 0002: rows intact, new column."""
    database = Database(database_url, [migrapp.MODELS])
    await database.open(migrate=False)
    try:
        await database.migrate(targets=[("limelight", "0001_initial"), ("migrapp", "0001_initial")])
        conn = database.connection
        for text in ("first", "second"):
            await conn.execute_query(f"INSERT INTO migrapp_note (text) VALUES ('{text}')")
        columns = await _columns(database, "migrapp_note")
        assert "pinned" not in columns
    finally:
        await database.close()

    # The next start applies the pending migration (as `limelight run` does).
    upgraded = Database(database_url, [migrapp.MODELS])
    await upgraded.open()
    try:
        assert "pinned" in await _columns(upgraded, "migrapp_note")
        notes = await Note.all().order_by("id")
        assert [(n.text, n.pinned) for n in notes] == [("first", False), ("second", False)]
        await Note.create(text="third", pinned=True)
        assert await Note.filter(pinned=True).count() == 1
    finally:
        await upgraded.close()

    # and opening an up-to-date database again changes nothing
    again = Database(database_url, [migrapp.MODELS])
    await again.open()
    try:
        assert await Note.all().count() == 3
    finally:
        await again.close()


async def _columns(database: Database, table: str) -> set[str]:
    if database.backend == "sqlite":
        _, rows = await database.connection.execute_query(f"PRAGMA table_info({table})")
        return {row["name"] for row in rows}
    _, rows = await database.connection.execute_query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1", [table]
    )
    return {row["column_name"] for row in rows}


async def test_sqlite_runs_in_wal_mode(tmp_path):
    database = Database(f"sqlite://{tmp_path / 'x.sqlite3'}")
    await database.open()
    try:
        _, rows = await database.connection.execute_query("PRAGMA journal_mode")
        assert str(rows[0][0]).lower() == "wal"
    finally:
        await database.close()


async def test_unreachable_database_is_a_one_line_error_without_password():
    database = Database("postgres://root:hunter2secret@127.0.0.1:1/nowhere")
    with pytest.raises(DatabaseError) as caught:
        await database.open()
    message = str(caught.value)
    assert "\n" not in message and "hunter2secret" not in message
    assert message.startswith("database postgres://127.0.0.1:1/nowhere")


async def test_hook_register_models_without_migrations_disables_the_plugin_alone(limelight):
    from limelight import Models, hookimpl

    class NoMigrations:
        @hookimpl
        def register_models(self, register):  # type: ignore[no-untyped-def]
            register(Models("nomig", "tests.fixtures.apps.reminders.models"))

    h = await limelight(plugins={"nomig": NoMigrations(), "migrapp": migrapp})
    info = h.host.info["nomig"]
    assert info.status == "failed" and "has no migrations module" in info.reason
    assert h.host.info["migrapp"].status == "enabled"
    await Note.create(text="the other plugin's tables exist")


async def test_a_second_app_in_the_same_process_gets_a_clear_error(limelight):
    await limelight()
    with pytest.raises(DatabaseError) as caught:
        await limelight()
    assert "another Limelight app is already running in this process" in str(caught.value)
