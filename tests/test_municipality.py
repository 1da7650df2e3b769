"""The bundled store is a small municipality: Socialförvaltningen, Barn- och
utbildningsförvaltningen and a kommundirektör above them."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from service.app import App
from service.digest import DigestBatch, digest_context
from service.directory import load_directory
from service.mail.transports.memory import MemoryTransport
from service.models import Item, Notice, Occurrence, OutboxMessage, Person, Plan
from service.pipeline import tick
from tests.cli_support import Cli
from tests.support import at, escalation_chain, reached_per_plan
from tests.test_pipeline_tick import RefusingTransport

SOC_HEAD = "eva.ekstrom@example.se"
BUF_HEAD = "ulrika.falk@example.se"
KOMMUNDIREKTOR = "magnus.lindahl@example.se"
SOC_PLANS = {"Handlingsplan tillitsfull dialog", "Plan för att stärka enhetschefer 2024–2027"}
BUF_PLANS = {"Handlingsplan tillitsfull dialog Barn- och utbildningsförvaltningen"}
BUF_STAFF = {
    BUF_HEAD,
    "nils.rydberg@example.se",  # utvecklingschef
    "malin.hagstrom@example.se",  # verksamhetschefer
    "tobias.lund@example.se",
    "rebecka.noren@example.se",
    "oskar.vikstrom@example.se",  # titled elevhälsochef
    "jenny.sandberg@example.se",  # förskolechefer
    "mohammed.ali@example.se",
    "therese.wikander@example.se",  # rektorer
    "erik.holmgren@example.se",
    "lina.carlsson@example.se",
    "hanna.berglund@example.se",  # enhetschef, centrala elevhälsan
}


def test_the_digest_day_brings_two_heads_digests_and_the_kommundirektors(sqlite_app: App) -> None:
    sqlite_app.init(at("2024-11-01"))
    monday = at("2025-01-13", "07:30")  # December's deadlines are overdue in both administrations

    mails = tick(sqlite_app, monday, transport=MemoryTransport()).mails

    digests = sorted(a for m in mails if m["kind"] == "digest" for a in m["to"])
    assert digests == sorted([SOC_HEAD, BUF_HEAD, KOMMUNDIREKTOR])
    with sqlite_app.sessions() as session:

        def plans_in_digest(email: str) -> set[str]:
            person = session.scalar(select(Person).where(Person.email == email))
            context = digest_context(sqlite_app, session, person, now=monday, today=monday.date())
            listed = {i.plan_title for i in (*context.overdue, *context.due_soon)}
            listed |= {p.plan_title for p in context.progress}
            listed |= {line.split(":")[0] for line in context.plan_lines}
            return listed

        assert plans_in_digest(SOC_HEAD) == SOC_PLANS
        assert plans_in_digest(BUF_HEAD) == BUF_PLANS
        assert plans_in_digest(KOMMUNDIREKTOR) == SOC_PLANS | BUF_PLANS


def test_bufs_plan_reaches_bufs_people_and_the_social_plans_only_socialforvaltningen(
    sqlite_app: App,
) -> None:
    sqlite_app.init(at("2024-11-01"))
    reached = reached_per_plan(sqlite_app)
    assert reached["utbildning-tillitsfull-dialog"] == BUF_STAFF  # "Medarbetare": the unit managers
    with sqlite_app.sessions() as session:
        directory = load_directory(session)
    for slug in ("tillitsfull-dialog", "starka-enhetschefer"):
        places = set()
        for email in reached[slug]:
            person = directory.by_email(email)
            assert person is not None
            places.add(directory.administration_of(person))
        assert places == {"SOC"}, slug
    # Socialförvaltningen's plan still reaches its förvaltningschef, utvecklingschef, 5
    # verksamhetschefer, 14 enhetschefer and SON's ordförande (the ledamöter's item waits for
    # its parent to be done).
    assert len(reached["tillitsfull-dialog"]) == 1 + 1 + 5 + 14 + 1


def test_a_dry_run_of_bufs_plan_counts_the_people_in_buf(cli_ready: Cli) -> None:
    code, out, err = cli_ready(
        "import", "plans/utbildning-tillitsfull-dialog.toml", "--dry-run", "--json"
    )
    assert code == 0, err
    reaches = {
        (e["number"], p["written"]): p["reaches"]
        for e in json.loads(out)["entries"]
        for p in e["parties"]
    }
    assert reaches[("1", "Förvaltningschef")] == 1  # not Eva as well
    assert reaches[("2", "Verksamhetschefer")] == 4
    assert reaches[("2", "Medarbetare")] == 6  # through 2 förskolechefer, 3 rektorer, 1 EC
    assert reaches[("3", "Elevhälsochef")] == 1


def test_escalation_in_buf_climbs_to_bufs_head_and_no_further(sqlite_app: App) -> None:
    sqlite_app.init(at("2024-11-01"))
    with sqlite_app.sessions() as session:
        directory = load_directory(session)

    assert escalation_chain(directory, "erik.holmgren@example.se") == [
        "erik.holmgren@example.se",
        "tobias.lund@example.se",
        BUF_HEAD,
    ]
    assert escalation_chain(directory, "hanna.berglund@example.se") == [
        "hanna.berglund@example.se",
        "oskar.vikstrom@example.se",
        BUF_HEAD,
    ]
    # A ledamot of Barn- och utbildningsnämnden answers to its ordförande, not to SON's.
    assert escalation_chain(directory, "amira.nasser@example.se") == [
        "amira.nasser@example.se",
        "per-olof.strid@example.se",
    ]
    assert escalation_chain(directory, KOMMUNDIREKTOR) == [KOMMUNDIREKTOR]

    # The verksamhetschefer's "December 2024" goes unanswered: the escalation after 14 days
    # reaches Ulrika Falk, never Eva Ekström or the kommundirektör.
    transport = MemoryTransport()
    day = at("2025-01-02", "07:30")
    while day <= at("2025-01-21", "07:30"):
        tick(sqlite_app, day, transport=transport)
        day += timedelta(days=1)
    with sqlite_app.sessions() as session:
        escalated = session.execute(
            select(Plan.slug, OutboxMessage.to_addrs)
            .join(Notice, Notice.outbox_id == OutboxMessage.id)
            .join(Occurrence, Notice.occurrence_id == Occurrence.id)
            .join(Item, Occurrence.item_id == Item.id)
            .join(Plan, Item.plan_id == Plan.id)
            .where(Notice.stage.startswith("escalation@"))
        ).all()
    to_buf = {a for slug, to in escalated if slug == "utbildning-tillitsfull-dialog" for a in to}
    assert to_buf == {BUF_HEAD}
    assert {a for slug, to in escalated if slug != "utbildning-tillitsfull-dialog" for a in to}
    assert not {
        a for slug, to in escalated if slug != "utbildning-tillitsfull-dialog" for a in to
    } & (BUF_STAFF | {KOMMUNDIREKTOR})


def test_a_calm_week_in_one_administration_leaves_out_only_its_heads_digest(
    sqlite_app: App,
) -> None:
    sqlite_app.init(at("2024-11-01"))
    transport = MemoryTransport()
    # Until December nothing of BUF's is overdue, failed or put off; Socialförvaltningen has
    # June's deadlines still open. On 18 November Ulrika Falk's digest carries her own item
    # (the ledarforum due 20 December: 30 days before); the week after has nothing of hers.
    days = [at("2024-11-18", "07:30") + timedelta(days=n) for n in range(12)]
    mails = [m for day in days for m in tick(sqlite_app, day, transport=transport).mails]
    digests = sorted((m["at"][:10], a) for m in mails if m["kind"] == "digest" for a in m["to"])
    assert digests == [
        ("2024-11-18", SOC_HEAD),
        ("2024-11-18", KOMMUNDIREKTOR),
        ("2024-11-18", BUF_HEAD),
        ("2024-11-25", SOC_HEAD),
        ("2024-11-25", KOMMUNDIREKTOR),
    ]
    (own,) = [m for m in mails if m["kind"] == "digest" and BUF_HEAD in m["to"]]
    assert own["items"]


def test_a_failed_delivery_is_listed_for_its_own_administration_and_the_kommundirektor(
    sqlite_app: App,
) -> None:
    sqlite_app.init(at("2024-11-01"))
    refused = "linnea.forsberg@example.se"  # an enhetschef in Socialförvaltningen
    tick(sqlite_app, at("2024-11-25", "07:30"), transport=RefusingTransport(refused))
    monday = at("2024-12-02", "07:00")
    with sqlite_app.sessions() as session:

        def failed_in_digest(email: str) -> list[str]:
            person = session.scalar(select(Person).where(Person.email == email))
            context = digest_context(sqlite_app, session, person, now=monday, today=monday.date())
            return [f.to for f in context.failed]

        assert failed_in_digest(SOC_HEAD) == [refused]
        assert failed_in_digest(KOMMUNDIREKTOR) == [refused]
        assert failed_in_digest(BUF_HEAD) == []


def test_a_batch_of_digests_tells_each_head_what_her_digest_alone_would(sqlite_app: App) -> None:
    # A national run composes the digests of a batch of heads together: each must still read
    # as her own alone, with her administration's rows and her own period (BUF's week of
    # 25 November was calm and left out, so Ulrika Falk's digest reaches back to the 18th).
    sqlite_app.init(at("2024-11-01"))
    transport = RefusingTransport("linnea.forsberg@example.se")  # Socialförvaltningen's
    for n in range(12):
        tick(sqlite_app, at("2024-11-18", "07:30") + timedelta(days=n), transport=transport)
    monday = at("2024-12-02", "07:00")
    with sqlite_app.sessions() as session:
        heads: list[Person | None] = [
            session.scalar(select(Person).where(Person.email == e))
            for e in (SOC_HEAD, BUF_HEAD, KOMMUNDIREKTOR)
        ]
        recipients = [*heads, None]  # None: an extra address, who sees every plan
        batch = DigestBatch(sqlite_app, session, recipients, now=monday, today=monday.date())
        together = [batch.context(r) for r in recipients]
        alone = [
            digest_context(sqlite_app, session, r, now=monday, today=monday.date())
            for r in recipients
        ]

    assert together == alone
    soc, buf, kd, extra = together
    assert (soc.week_start, buf.week_start) == (date(2024, 11, 25), date(2024, 11, 18))
    assert [len(c.failed) for c in together] == [2, 0, 2, 2]  # two reminders to her
    assert {i.plan_title for i in buf.overdue + buf.due_soon} <= BUF_PLANS
    assert {i.plan_title for i in kd.overdue} == {i.plan_title for i in extra.overdue}
