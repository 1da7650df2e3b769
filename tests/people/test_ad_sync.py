"""`bevakning directory sync` from Active Directory: ldap3 against a real slapd of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from ldap3 import AUTO_BIND_TLS_BEFORE_BIND, Connection, Server, Tls
from sqlalchemy import select

from service.app import App
from service.models import Person
from service.people.active_directory import ActiveDirectory
from service.people.sources import SourceError
from service.people.sync import sync_people
from tests.fakes.slapd import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, LdapPerson, Slapd
from tests.people.exports import (
    HEAD,
    NEW_HEAD,
    assert_the_new_head_follows_buf,
    bundled_directory,
)
from tests.support import at

START = at("2024-11-01")
DISABLED = "linnea.forsberg@example.se"  # enhetschef of Hemtjänst norr, account disabled
STAFF = 280


def ldap_people() -> list[LdapPerson]:
    """The bundled directory as AD has it (one account disabled), and the staff around it."""
    directory = bundled_directory()
    uid = {p.email: p.email.split("@")[0] for p in directory.people}
    people = []
    for p in directory.people:
        unit = directory.units.get(p.unit or "")
        manager = directory.manager_of(p)
        people.append(
            LdapPerson(
                uid=uid[p.email],
                name=p.name,
                mail=p.email,
                title=p.role_title,
                department=directory.divisions.get(p.division or "", ""),
                office=unit.name if unit else "",
                manager_uid=uid[manager.email] if manager else "",
                disabled=p.email == DISABLED,
            )
        )
    for n in range(STAFF):
        people.append(
            LdapPerson(
                uid=f"personal{n}",
                name=f"Medarbetare Nummer{n}",
                mail=f"personal{n}@example.se",
                title="Undersköterska",
                department="Äldreomsorg",
                office="Hemtjänst söder",
            )
        )
    return people


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with Slapd(tmp_path_factory.mktemp("slapd"), ldap_people(), size_limit=100) as server:
        yield server


def test_the_server_limits_a_plain_search_so_only_paging_gets_everyone(slapd: Slapd) -> None:
    tls = Tls(ca_certs_file=str(slapd.certificates.ca_file))
    plain = Connection(
        Server(slapd.url, tls=tls),
        SERVICE_DN,
        SERVICE_PASSWORD,
        auto_bind=AUTO_BIND_TLS_BEFORE_BIND,
        raise_exceptions=True,
    )
    plain.search(PEOPLE, "(mail=*)", attributes=["mail"])
    assert plain.result["description"] == "sizeLimitExceeded"
    assert len(plain.entries) == 100
    plain.unbind()

    entries = ActiveDirectory(slapd.settings()).entries()

    assert len(entries) == len(bundled_directory().people) + STAFF
    by_mail = {e.email: e for e in entries}
    assert by_mail[DISABLED].enabled is False
    head = by_mail["anna.bergstrom@example.se"]  # verksamhetschef ÄO
    assert (head.title, head.department, head.manager_email) == (
        "Verksamhetschef",
        "Äldreomsorg",
        "eva.ekstrom@example.se",
    )
    assert by_mail["mikael.sundberg@example.se"].unit == "Hemtjänst söder"


def test_a_sync_deactivates_disabled_accounts_and_reports_people_no_rule_places(
    app: App, slapd: Slapd
) -> None:
    synced = App(
        app.config.with_overrides(
            {"directory": {"source": "ldap"}, "directory.ldap": slapd.settings()}
        )
    )
    synced.init(START)

    summary = sync_people(synced, at("2024-11-04"))

    assert summary["deactivated"] == [DISABLED]
    assert summary["added"] == []
    assert len(summary["unmatched"]) == STAFF
    assert summary["unmatched"][0]["reason"].startswith("befattningen 'Undersköterska'")
    with synced.sessions() as session:
        stored = {p.email: p for p in session.scalars(select(Person))}
    assert stored[DISABLED].active is False
    assert not any(e.startswith("personal") for e in stored)
    ek = stored["mikael.sundberg@example.se"]
    assert ek.reports_to_id == stored["anna.bergstrom@example.se"].id


def test_a_wrong_password_is_a_swedish_error(slapd: Slapd) -> None:
    with pytest.raises(SourceError, match="lösenordet"):
        ActiveDirectory(slapd.settings(password="fel")).entries()


def test_starttls_checks_the_servers_certificate(slapd: Slapd, tmp_path: Path) -> None:
    from tests.fakes.tls import make_certificates

    other_ca = make_certificates(tmp_path / "other").ca_file
    with pytest.raises(SourceError):
        ActiveDirectory(slapd.settings(ca_file=str(other_ca))).entries()


def test_a_new_head_is_placed_by_a_configured_attribute_and_the_administrations_rules(
    app: App, tmp_path: Path
) -> None:
    # AD names her administration in `company` (her department is "Ledning"), and
    # administration_attribute says so; the rules map its value to BUF.
    # Ulrika Falk's account is disabled as Sara Lind arrives (and no other).
    people = [replace(p, disabled=p.mail == HEAD) for p in ldap_people()[:-STAFF]]
    new_head = LdapPerson(
        uid="sara.lind",
        name="Sara Lind",
        mail=NEW_HEAD,
        title="Förvaltningschef",
        department="Ledning",
        company="BUF Förvaltning",
    )
    rules = [
        {"values": ["SOC Förvaltning"], "administration": "SOC"},
        {"values": ["buf förvaltning"], "administration": "BUF"},
    ]
    with Slapd(tmp_path / "slapd", [*people, new_head]) as server:
        ldap = {**server.settings(), "administration_attribute": "company"}
        synced = App(
            app.config.with_overrides(
                {
                    "directory": {"source": "ldap"},
                    "directory.ldap": ldap,
                    "directory.mapping": {
                        **app.config.section("directory.mapping"),
                        "administrations": rules,
                    },
                }
            )
        )
        synced.init(START)

        summary = sync_people(synced, at("2024-11-04"))

    assert_the_new_head_follows_buf(synced, summary)
