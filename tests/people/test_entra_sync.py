"""`bevakning directory sync` from Entra ID: the real Graph client code against a local Graph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from service.app import App
from service.config import ConfigError
from service.directory import load_directory
from service.models import Occurrence, Person
from service.occurrences import OPEN
from service.people.roster import SyncRefused
from service.people.sources import SourceError
from service.people.sync import sync_people
from tests.cli_support import Cli
from tests.fakes.graph_server import FakeGraphServer
from tests.people.exports import HEAD, NEW_HEAD, assert_the_new_head_follows_buf, bundled_directory
from tests.support import at, make_config

START = at("2024-11-01")
LEAVER = "linnea.forsberg@example.se"  # enhetschef of Hemtjänst norr


def graph_users() -> list[dict[str, object]]:
    """The bundled directory as Entra ID has it, plus staff Bevakning does not follow."""
    directory = bundled_directory()
    ids = {p.email: f"id-{n}" for n, p in enumerate(directory.people)}
    users: list[dict[str, object]] = []
    for p in directory.people:
        unit = directory.units.get(p.unit or "")
        manager = directory.manager_of(p)
        users.append(
            {
                "id": ids[p.email],
                "displayName": p.name,
                "mail": p.email,
                "userPrincipalName": p.email,
                "jobTitle": p.role_title,
                "department": directory.divisions.get(p.division or "", ""),
                "officeLocation": unit.name if unit else None,
                "accountEnabled": True,
                "manager": ids[manager.email] if manager else None,
            }
        )
    users.append(
        {
            "id": "id-staff",
            "displayName": "Ulla Undersköterska",
            "mail": "ulla@example.se",
            "jobTitle": "Undersköterska",
            "department": "Äldreomsorg",
            "officeLocation": "Hemtjänst norr",
            "accountEnabled": True,
            "manager": ids[LEAVER],
        }
    )
    users.append({"id": "id-service", "displayName": "Skrivare plan 2", "mail": None})
    return users


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[FakeGraphServer]:
    with FakeGraphServer(tmp_path / "tls") as server:
        server.users = graph_users()
        yield server


def synced_app(app: App, graph: FakeGraphServer, **entra: object) -> App:
    """`app` with [directory] source = "entra", credentials from [mail.graph] as configured."""
    return App(
        app.config.with_overrides(
            {
                "directory": {"source": "entra"},
                "mail.graph": graph.settings(),
                "directory.entra": {"page_size": 7, **entra},
                "directory.mapping": {
                    "roles": [{"pattern": "^enhetschef\\b", "role": "Enhetschef"}],
                },
            }
        )
    )


def people(app: App) -> dict[str, Person]:
    with app.sessions() as session:
        return {p.email: p for p in session.scalars(select(Person))}


def test_a_sync_pages_through_graph_waits_out_throttling_and_reports_the_unplaced(
    app: App, graph: FakeGraphServer
) -> None:
    synced = synced_app(app, graph)
    synced.init(START)
    graph.script_read(429, headers={"Retry-After": "7"})
    waits: list[float] = []

    summary = sync_people(synced, at("2024-11-04"), sleep=waits.append)

    assert waits == [7.0]
    pages = [r for r in graph.requests if r.path.startswith("/v1.0/users?")]
    assert len(pages) == 1 + -(-len(graph.users) // 7)  # the throttled one, then every page
    assert "%24expand=manager" in pages[-1].path or "$expand=manager" in pages[-1].path
    assert summary["added"] == summary["deactivated"] == summary["changed"] == []
    assert summary["unmatched"] == [
        {
            "who": "ulla@example.se",
            "reason": "befattningen 'Undersköterska' matchar ingen regel i "
            "[directory.mapping] roles.",
        },
        {"who": "Skrivare plan 2", "reason": "saknar e-postadress."},
    ]
    assert "ulla@example.se" not in people(synced)


def test_a_disabled_account_is_deactivated_and_its_successor_takes_over(
    app: App, graph: FakeGraphServer
) -> None:
    synced = synced_app(app, graph)
    synced.init(START)
    with synced.sessions() as session:
        leaver_id = people(synced)[LEAVER].id
        open_ids = set(
            session.scalars(
                select(Occurrence.id).where(
                    Occurrence.person_id == leaver_id, Occurrence.status == OPEN
                )
            )
        )
    assert open_ids
    for user in graph.users:
        if user["mail"] == LEAVER:
            user["accountEnabled"] = False
            graph.users.append(
                {**user, "id": "id-new", "mail": "nora@example.se", "displayName": "Nora N",
                 "jobTitle": "Enhetschef hemtjänst", "accountEnabled": True}
            )  # fmt: skip
            break

    summary = sync_people(synced, at("2024-11-04"), sleep=lambda _s: None)

    assert summary["deactivated"] == [LEAVER]
    assert summary["added"] == [
        {"email": "nora@example.se", "name": "Nora N", "role": "enhetschef"}
    ]
    stored = people(synced)
    assert stored[LEAVER].active is False
    assert stored["nora@example.se"].unit_code == "ao-hemtjanst-norr"
    with synced.sessions() as session:
        holders = set(
            session.scalars(select(Occurrence.person_id).where(Occurrence.id.in_(open_ids)))
        )
    assert holders == {stored["nora@example.se"].id}


def test_a_group_filter_that_would_empty_the_directory_is_refused(
    sqlite_app: App, graph: FakeGraphServer
) -> None:
    graph.groups["grp-1"] = ["id-0", "id-1"]
    synced = synced_app(sqlite_app, graph, group_id="grp-1")
    synced.init(START)
    with pytest.raises(SyncRefused, match="avaktivera"):
        sync_people(synced, at("2024-11-04"), sleep=lambda _s: None)
    assert all(p.active for p in people(synced).values())
    assert any("/transitiveMembers/" in r.path for r in graph.requests)


def test_graph_refusing_the_read_is_a_swedish_error_that_changes_nothing(
    sqlite_app: App, graph: FakeGraphServer
) -> None:
    synced = synced_app(sqlite_app, graph, max_retries=1)
    synced.init(START)
    graph.script_read(403)
    with pytest.raises(SourceError, match=r"User\.Read\.All"):
        sync_people(synced, at("2024-11-04"), sleep=lambda _s: None)
    graph.script_read(429, times=2, headers={"Retry-After": "1"})
    with pytest.raises(SourceError, match="svarade 429"):
        sync_people(synced, at("2024-11-04"), sleep=lambda _s: None)


def test_a_mapping_rule_naming_an_unknown_role_is_a_configuration_error(
    sqlite_app: App, tmp_path: Path
) -> None:
    config = make_config(
        sqlite_app.config.database_url,
        tmp_path,
        directory={"source": "entra"},
        directory__mapping={"roles": [{"pattern": "rektor", "role": "Trollkarl"}]},
    )
    with pytest.raises(ConfigError, match="Trollkarl"):
        sync_people(App(config), START)


def test_the_sync_command_shows_the_diff_and_a_dry_run_changes_nothing(
    cli_ready: Cli, graph: FakeGraphServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = graph.settings()
    monkeypatch.setenv("BEVAKNING_DIRECTORY_SOURCE", "entra")
    for key in ("tenant_id", "client_id", "client_secret", "authority_host", "api_base"):
        monkeypatch.setenv(f"BEVAKNING_DIRECTORY_ENTRA_{key.upper()}", str(settings[key]))
    monkeypatch.setenv("BEVAKNING_DIRECTORY_ENTRA_CA_BUNDLE", str(settings["ca_bundle"]))
    for user in graph.users:
        if user["mail"] == LEAVER:
            user["accountEnabled"] = False
    before = cli_ready.counts()

    code, out, err = cli_ready("directory", "sync", "--dry-run")

    assert code == 0, err
    assert f"  avaktiverad: {LEAVER}" in out
    assert "  inte placerad: ulla@example.se: befattningen 'Undersköterska'" in out
    assert "Inget ändrades (--dry-run)." in out
    assert cli_ready.counts() == before
    result = cli_ready.json("directory", "sync")
    assert result["deactivated"] == [LEAVER] and result["dry_run"] is False

    monkeypatch.setenv("BEVAKNING_DIRECTORY_ENTRA_CLIENT_SECRET", "fel")
    code, _, err = cli_ready("directory", "sync")
    assert code == 1
    assert err.startswith("Katalogen gick inte att läsa; inget ändrades: Entra ID gav ingen token")


def a_new_head_of_buf(users: list[dict[str, object]], **fields: object) -> list[dict[str, object]]:
    """Entra's users with Ulrika Falk's account disabled and Sara Lind's new one."""
    users = [{**u, "accountEnabled": False} if u.get("mail") == HEAD else u for u in users]
    head = {
        "id": "id-new-head",
        "displayName": "Sara Lind",
        "mail": NEW_HEAD,
        "jobTitle": "Förvaltningschef",
        "accountEnabled": True,
        **fields,
    }
    return [*users, head]


def mapped_app(
    app: App, graph: FakeGraphServer, rules: list[dict[str, object]], **entra: object
) -> App:
    synced = synced_app(app, graph, **entra)
    mapping = {**synced.config.section("directory.mapping"), "administrations": rules}
    return App(synced.config.with_overrides({"directory.mapping": mapping}))


@pytest.mark.parametrize(
    ("fields", "rules", "entra"),
    [
        (
            {"department": "Barn- och utbildningsförvaltningen"},
            [{"pattern": "^barn- och utbildning", "administration": "BUF"}],
            {},
        ),
        (
            {"department": "Ledning", "companyName": "BUF Förvaltning"},
            [
                {"values": ["SOC Förvaltning"], "administration": "SOC"},
                {"values": ["buf förvaltning"], "administration": "BUF"},
            ],
            {"administration_attribute": "companyName"},
        ),
    ],
    ids=["department", "attribute"],
)
def test_a_new_head_arriving_by_a_sync_is_placed_by_the_administrations_rules(
    app: App,
    graph: FakeGraphServer,
    fields: dict[str, object],
    rules: list[dict[str, object]],
    entra: dict[str, object],
) -> None:
    synced = mapped_app(app, graph, rules, **entra)
    synced.init(START)
    graph.users = a_new_head_of_buf(graph.users, **fields)

    summary = sync_people(synced, at("2024-11-04"))

    assert_the_new_head_follows_buf(synced, summary)


def test_an_administrations_rule_naming_an_undeclared_one_is_refused_and_changes_nothing(
    app: App, graph: FakeGraphServer
) -> None:
    rules = [{"values": ["Kultur"], "administration": "KUF"}]
    synced = mapped_app(app, graph, rules)
    synced.init(START)
    graph.users = a_new_head_of_buf(graph.users, department="Kultur")

    with pytest.raises(ConfigError) as refused:
        sync_people(synced, at("2024-11-04"))

    assert str(refused.value) == (
        "[directory.mapping] administrations, regel 1: förvaltningen 'KUF' finns inte i "
        "katalogen; ange koden för en av SOC (Socialförvaltningen), "
        "BUF (Barn- och utbildningsförvaltningen)."
    )
    assert NEW_HEAD not in people(synced)
    assert people(synced)[HEAD].active


MOVER = "mikael.sundberg@example.se"  # enhetschef of Hemtjänst söder (Socialförvaltningen)


def test_someone_moved_to_another_administrations_unit_follows_it_when_the_source_names_none(
    app: App, graph: FakeGraphServer
) -> None:
    rules = [
        {"values": ["SOC Förvaltning"], "administration": "SOC"},
        {"values": ["BUF Förvaltning"], "administration": "BUF"},
    ]
    synced = mapped_app(app, graph, rules, administration_attribute="companyName")
    synced.init(START)
    mover = next(u for u in graph.users if u["mail"] == MOVER)
    mover["companyName"] = "SOC Förvaltning"
    sync_people(synced, at("2024-11-04"))
    with synced.sessions() as session:
        assert load_directory(session).plans_of(MOVER) == "SOC"

    # She takes over a preschool; the account's company field is left empty by the move.
    del mover["companyName"]
    mover.update(department="Förskola", officeLocation="Ekorrens förskola")
    summary = sync_people(synced, at("2024-11-11"))

    assert [c["email"] for c in summary["changed"]] == [MOVER]
    assert summary["changed"][0]["changes"]["administration"] == ["SOC", "BUF"]
    with synced.sessions() as session:
        directory = load_directory(session)
        assert directory.plans_of(MOVER) == "BUF"
        # Her former administration's staff without an area keep theirs.
        assert directory.plans_of("nils.rydberg@example.se") == "BUF"


def newcomer(mail: str, title: str, department: str, office: str) -> dict[str, object]:
    """A new, enabled Entra ID account."""
    return {
        "id": f"id-{mail}",
        "displayName": mail.split("@")[0],
        "mail": mail,
        "jobTitle": title,
        "department": department,
        "officeLocation": office,
        "accountEnabled": True,
    }


def test_a_rektor_whose_school_is_unknown_is_reported_not_placed_without_it(
    app: App, graph: FakeGraphServer
) -> None:
    # The school is "Centrumskolan F–6" in the directory; the account says "Centrumskolan".
    synced = synced_app(app, graph)
    synced.init(START)
    graph.users.append(newcomer("rut.rektor@example.se", "Rektor", "", "Centrumskolan"))

    summary = sync_people(synced, at("2024-11-04"))

    assert {"who": "rut.rektor@example.se", "reason": "enheten 'Centrumskolan' är okänd; lägg "
            "till en regel i [directory.mapping] units."} in summary["unmatched"]  # fmt: skip
    assert "rut.rektor@example.se" not in people(synced)


def test_a_title_longer_than_the_store_keeps_is_reported_and_the_rest_synced(
    app: App, graph: FakeGraphServer
) -> None:
    # PostgreSQL refuses a value longer than its column: the whole sync had failed every day.
    synced = synced_app(app, graph)
    synced.init(START)
    title = "Enhetschef" + " för hemtjänst, hemsjukvård och rehabilitering" * 3
    graph.users.append(newcomer("lena.lang@example.se", title, "Äldreomsorg", "Hemtjänst norr"))
    for user in graph.users:
        if user["mail"] == LEAVER:
            user["accountEnabled"] = False

    summary = sync_people(synced, at("2024-11-04"))

    assert {
        "who": "lena.lang@example.se",
        "reason": f"befattningen har {len(title)} tecken; Bevakning sparar högst 100. Korta det "
        "i källan.",
    } in summary["unmatched"]
    assert summary["deactivated"] == [LEAVER]  # the rest of the run went through
    assert "lena.lang@example.se" not in people(synced)
