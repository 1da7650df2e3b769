"""Replies to reminders, read from a Maildir on SQLite and PostgreSQL: each command recorded as
the click it stands for, answered once, never by a loop, and forged or automatic mail ignored."""

from __future__ import annotations

import mailbox
import re
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.app import App
from service.completion import mark_done
from service.db import transaction
from service.digest import digest_context
from service.inbox.process import VIA, handle
from service.inbox.reader import read_inbox
from service.mail.message import OutgoingMail
from service.mail.transports.memory import MemoryTransport
from service.models import AuditEntry, InboxMessage, Occurrence, OutboxMessage, Person
from service.occurrences import DONE, NOT_APPLICABLE, OPEN
from service.pipeline import dispatch_outbox, tick
from tests.fakes import replies
from tests.support import at

MONDAY = at("2024-11-25", "07:30")
LATER = at("2024-11-25", "10:00")


class Sent:
    """The reminders of one tick, by recipient."""

    def __init__(self, app: App) -> None:
        app.init(at("2024-11-25", "06:00"))
        self.transport = MemoryTransport()
        tick(app, MONDAY, transport=self.transport)
        self.app = app

    def to(self, address: str) -> OutgoingMail:
        (mail,) = [m for m in self.transport.sent if address in m.recipients]
        return mail

    def with_items(self, wanted: Callable[[int], bool]) -> OutgoingMail:
        for mail in self.transport.sent:
            if mail.headers[0][1] in ("reminder", "checkin") and wanted(len(numbers(mail))):
                return mail
        raise AssertionError("no reminder with such a number of items")


def numbers(mail: OutgoingMail) -> list[int]:
    return [int(n) for n in re.findall(r"Svarsnummer: (\d+)", mail.text)]


def occurrences_of(app: App, mail: OutgoingMail) -> dict[int, Occurrence]:
    """Answer number → occurrence, as the mail's own outbox row numbers them."""
    from service.inbox.numbering import reply_numbers

    with app.sessions() as session:
        row = session.scalar(
            select(OutboxMessage).where(OutboxMessage.message_id == mail.message_id)
        )
        assert row is not None
        found = {}
        for number, occ_id in reply_numbers(row.payload).items():
            occ = session.get(Occurrence, occ_id)
            assert occ is not None
            session.expunge(occ)
            found[number] = occ
        return found


def deliver(app: App, raw: bytes) -> None:
    """Into the inbox Maildir, as the mail server would."""
    folder = app.config.path("mail.inbox", "folder")
    mailbox.Maildir(folder, create=True).add(raw)


def inbox_keys(app: App, sub: str = "") -> list[str]:
    box = mailbox.Maildir(app.config.path("mail.inbox", "folder"), create=True)
    return list((box.get_folder(sub) if sub else box).iterkeys())


def answers(app: App) -> list[OutboxMessage]:
    with app.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "answer")
                .order_by(OutboxMessage.id)
            )
        )


def sent_answers(app: App) -> list[OutgoingMail]:
    transport = MemoryTransport()
    dispatch_outbox(app, LATER, transport=transport)
    return [m for m in transport.sent if dict(m.headers).get("X-Bevakning-Kind") == "answer"]


def sender_of(mail: OutgoingMail) -> str:
    return mail.to[0].email


@pytest.fixture
def sent(app: App) -> Sent:
    return Sent(app)


def test_a_reminder_asks_for_replies_to_the_inbox_and_numbers_its_items(sent: Sent) -> None:
    mail = sent.with_items(lambda n: n > 2)
    assert dict(mail.headers)["Reply-To"] == "bevakning-svar@example.se"
    assert numbers(mail) == list(range(1, len(numbers(mail)) + 1))
    assert "Svarsnummer:" in mail.html and "klar 1 3" in mail.text


def test_an_outlook_reply_marks_the_numbered_items_done_as_a_click_would(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 3)
    who = sender_of(mail)
    deliver(app, replies.outlook(mail, "klar 1 3", who))

    run = read_inbox(app, LATER)

    (handled,) = run.handled
    assert handled.outcome == "applied" and [c["number"] for c in handled.changes] == [1, 3]
    occ = occurrences_of(app, mail)
    assert occ[1].status == DONE and occ[3].status == DONE and occ[2].status == OPEN
    assert occ[1].done_via == VIA and occ[1].done_on == date(2024, 11, 25)
    with app.sessions() as session:
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.occurrence_id.in_([occ[1].id, occ[3].id]))
        ).all()
        assert {(a.action, a.actor, a.detail["via"]) for a in audit} == {
            ("occurrence.done", who, VIA)
        }
    # Moved to the processed folder, after the commit.
    assert inbox_keys(app) == [] and len(inbox_keys(app, "Behandlade")) == 1
    (answer,) = sent_answers(app)
    assert answer.to[0].email == who
    assert dict(answer.headers)["In-Reply-To"].strip("<>") == handled.message_id
    assert answer.subject.startswith("SV: Bevakning")
    assert "markerad som klar" in answer.text and answer.text.count("Ångra: ") == 2


def test_klar_alla_from_a_gmail_reply_marks_every_item(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 2)
    deliver(app, replies.gmail(mail, "Klar alla\n\nHälsningar\nAnna", sender_of(mail)))

    read_inbox(app, LATER)

    assert {o.status for o in occurrences_of(app, mail).values()} == {DONE}


def test_skjut_upp_written_below_the_quote_in_english_apple_mail(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 2)
    deliver(app, replies.apple_mail_below(mail, "skjut upp 2 till 15 januari", sender_of(mail)))

    read_inbox(app, LATER)

    occ = occurrences_of(app, mail)
    assert occ[2].status == OPEN and occ[2].postponed_to == date(2025, 1, 15)
    assert occ[1].postponed_to is None
    (answer,) = sent_answers(app)
    assert "nytt datum 15 januari 2025" in answer.text


def test_inte_aktuell_with_a_reason_from_an_html_only_reply(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 2)
    deliver(
        app,
        replies.html_only(mail, "inte aktuell 2 eftersom enheten har stängt", sender_of(mail)),
    )

    read_inbox(app, LATER)

    occ = occurrences_of(app, mail)
    assert occ[2].status == NOT_APPLICABLE and occ[2].deferral_reason == "enheten har stängt"
    assert occ[1].status == OPEN


def test_a_result_note_after_a_colon_is_kept_with_the_done_record(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    body = "klar 1: vi höll workshopen med alla enheter"
    deliver(app, replies.outlook(mail, body, sender_of(mail), swedish=False))

    read_inbox(app, LATER)

    assert occurrences_of(app, mail)[1].result_note == "vi höll workshopen med alla enheter"


def test_a_bare_klar_marks_the_only_item_of_a_one_item_mail(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n == 1)
    deliver(app, replies.gmail(mail, "Klart!", sender_of(mail), swedish=False))

    read_inbox(app, LATER)

    assert occurrences_of(app, mail)[1].status == DONE


def test_a_bare_klar_on_a_mail_of_several_items_asks_which_and_changes_nothing(
    sent: Sent,
) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 2)
    deliver(app, replies.outlook(mail, "klar", sender_of(mail)))

    (handled,) = read_inbox(app, LATER).handled

    assert handled.outcome == "asked"
    assert {o.status for o in occurrences_of(app, mail).values()} == {OPEN}
    (answer,) = sent_answers(app)
    assert "vilken du menar" in answer.text and "2: " in answer.text


def test_a_reply_not_understood_gets_one_polite_answer_per_thread_and_day(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 2)
    who = sender_of(mail)
    deliver(app, replies.outlook(mail, "skjut upp 2", who))
    deliver(app, replies.outlook(mail, "Vad menas med detta?", who))

    run = read_inbox(app, LATER)

    assert [h.outcome for h in run.handled] == ["asked", "asked"]
    (answer,) = sent_answers(app)
    assert "inte läsa ditt svar" in answer.text and "skjut upp 2 till 15 januari" in answer.text
    assert {o.status for o in occurrences_of(app, mail).values()} == {OPEN}


def test_a_forged_sender_changes_nothing_and_is_not_answered(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    deliver(app, replies.outlook(mail, "klar alla", "someone.else@example.se"))

    (handled,) = read_inbox(app, LATER).handled

    assert handled.outcome == "refused"
    assert {o.status for o in occurrences_of(app, mail).values()} == {OPEN}
    assert answers(app) == []


def test_a_reply_whose_authentication_failed_changes_nothing(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    results = "mx.example.se; spf=fail smtp.mailfrom=example.se; dmarc=fail header.from=example.se"
    deliver(
        app,
        replies.outlook(mail, "klar alla", sender_of(mail), **{"Authentication-Results": results}),
    )

    (handled,) = read_inbox(app, LATER).handled

    assert handled.outcome == "refused"
    assert {o.status for o in occurrences_of(app, mail).values()} == {OPEN}


def test_a_reply_that_passed_authentication_is_applied(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    results = "mx.example.se; dkim=pass header.d=example.se; dmarc=pass header.from=example.se"
    deliver(
        app,
        replies.outlook(mail, "klar 1", sender_of(mail), **{"Authentication-Results": results}),
    )

    (handled,) = read_inbox(app, LATER).handled

    assert handled.outcome == "applied"


def test_an_out_of_office_reply_is_never_answered(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    deliver(app, replies.out_of_office(mail, sender_of(mail)))

    (handled,) = read_inbox(app, LATER).handled

    assert handled.outcome == "automatic"
    assert {o.status for o in occurrences_of(app, mail).values()} == {OPEN}
    assert answers(app) == []


def test_a_reply_to_an_old_mail_whose_items_are_done_says_so(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    first = occurrences_of(app, mail)[1]
    with transaction(app.sessions) as session:
        person = session.get(Person, first.person_id)
        assert person is not None
        mark_done(session, first.id, by=person, on=date(2024, 11, 25), via="link", now=MONDAY)
    deliver(app, replies.gmail(mail, "klar 1", sender_of(mail)))

    (handled,) = read_inbox(app, LATER).handled

    assert [c["what"] for c in handled.changes] == ["already_done"]
    with app.sessions() as session:
        occ = session.get(Occurrence, first.id)
        assert occ is not None and occ.done_via == "link"  # the first record stays
    (answer,) = sent_answers(app)
    assert "var redan markerad som klar" in answer.text


def test_a_bounce_marks_our_mail_failed_with_the_servers_reason(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    deliver(app, replies.bounce(mail, sender_of(mail)))

    (handled,) = read_inbox(app, LATER).handled

    assert handled.outcome == "bounce"
    with app.sessions() as session:
        row = session.scalar(
            select(OutboxMessage).where(OutboxMessage.message_id == mail.message_id)
        )
        assert row is not None and row.status == "failed"
        assert "5.1.1" in row.last_error and "User unknown" in row.last_error
        digest = digest_context(app, session, None, now=LATER, today=date(2024, 11, 25))
        assert [f.error for f in digest.failed] == [row.last_error]
    assert answers(app) == []


def test_a_mail_read_twice_is_applied_once(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    raw = replies.outlook(mail, "klar 1: bra möte", sender_of(mail))
    results: list[object] = []
    barrier = threading.Barrier(2)

    def reader() -> None:
        barrier.wait()
        results.append(handle(app, raw, LATER, worker=threading.current_thread().name))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r is None for r in results) == [False, True]
    occ = occurrences_of(app, mail)[1]
    with app.sessions() as session:
        done_audits = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.occurrence_id == occ.id, AuditEntry.action == "occurrence.done")
        )
        assert done_audits == 1
        assert session.scalar(select(func.count()).select_from(InboxMessage)) == 1
    assert len(answers(app)) == 1


def test_a_mail_handled_before_is_only_tidied_away(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    raw = replies.outlook(mail, "klar 1", sender_of(mail))
    handle(app, raw, LATER)  # another instance, which crashed before moving it
    deliver(app, raw)

    run = read_inbox(app, LATER)

    assert run.handled == [] and run.skipped == 1 and inbox_keys(app) == []


def test_without_a_processed_folder_handled_mails_are_flagged_and_not_read_again(
    sent: Sent,
) -> None:
    app = App(sent.app.config.with_overrides({"mail.inbox": {"processed_folder": ""}}))
    mail = sent.with_items(lambda n: n >= 1)
    deliver(app, replies.outlook(mail, "klar 1", sender_of(mail)))

    assert len(read_inbox(app, LATER).handled) == 1
    assert read_inbox(app, LATER).handled == []
    box = mailbox.Maildir(app.config.path("mail.inbox", "folder"))
    (key,) = box.iterkeys()
    assert "F" in box.get_message(key).get_flags()
    app.engine.dispose()


def test_a_mail_that_answers_nothing_of_ours_is_left_unanswered(app: App, tmp_path: Path) -> None:
    app.init(at("2024-11-25", "06:00"))
    raw = (
        b"From: a@example.se\r\nTo: bevakning-svar@example.se\r\nSubject: Hej\r\n"
        b"Message-ID: <x1@example.se>\r\n\r\nklar alla\r\n"
    )
    deliver(app, raw)

    (handled,) = read_inbox(app, LATER).handled

    assert handled.outcome == "unmatched" and answers(app) == []


def test_an_item_passed_to_someone_else_since_is_left_to_them(sent: Sent) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    first = occurrences_of(app, mail)[1]
    with transaction(app.sessions) as session:
        successor = session.scalar(select(Person.id).where(Person.id != first.person_id))
        occ = session.get(Occurrence, first.id)
        assert occ is not None and successor is not None
        occ.person_id, occ.version = successor, occ.version + 1  # as a reassignment does
    deliver(app, replies.outlook(mail, "klar 1", sender_of(mail)))

    (handled,) = read_inbox(app, LATER).handled

    assert [c["what"] for c in handled.changes] == ["not_yours"]
    assert occurrences_of(app, mail)[1].status == OPEN
    (answer,) = sent_answers(app)
    assert "har gått över till någon annan" in answer.text


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("inte aktuell 1", "Skriv kort varför aktiviteten inte är aktuell."),
        ("skjut upp 1 till 2030-01-01", "högst två år fram i tiden"),
        ("klar 99", "mejlet hade inget nummer 99"),
    ],
)
def test_what_the_item_page_would_refuse_is_refused_and_explained(
    sent: Sent, body: str, says: str
) -> None:
    app = sent.app
    mail = sent.with_items(lambda n: n >= 1)
    deliver(app, replies.outlook(mail, body, sender_of(mail)))

    (handled,) = read_inbox(app, LATER).handled

    assert handled.outcome == "asked"
    assert {o.status for o in occurrences_of(app, mail).values()} == {OPEN}
    assert all(o.postponed_to is None for o in occurrences_of(app, mail).values())
    (answer,) = sent_answers(app)
    assert says in answer.text and f"”{body}”" in answer.text


def test_a_stand_ins_reply_is_recorded_as_theirs_for_the_absent_colleague(app: App) -> None:
    from service.models import Absence
    from service.pipeline import coming_mails

    app.init(at("2024-11-25", "06:00"))
    today = date(2024, 11, 25)
    with transaction(app.sessions) as session:
        owner = next(
            p
            for p in session.scalars(select(Person).order_by(Person.id))
            if any(m.kind == "reminder" for m in coming_mails(app, session, p.id, today, days=0))
        )
        # Someone whose Monday mail is a reminder, not the digest (which takes no replies).
        stand_in = session.scalars(
            select(Person).where(Person.id != owner.id).order_by(Person.id.desc())
        ).first()
        assert stand_in is not None
        session.add(
            Absence(
                person_id=owner.id,
                starts=today,
                ends=date(2024, 11, 29),
                stand_in_id=stand_in.id,
                created_at=MONDAY,
            )
        )
        owner_id, owner_email, stand_in_id, stand_in_email = (
            owner.id,
            owner.email,
            stand_in.id,
            stand_in.email,
        )
    transport = MemoryTransport()
    tick(app, MONDAY, transport=transport)
    (mail,) = [m for m in transport.sent if stand_in_email in m.recipients]
    number, occ = next(
        (n, o) for n, o in occurrences_of(app, mail).items() if o.person_id == owner_id
    )
    deliver(app, replies.outlook(mail, f"klar {number}", stand_in_email))

    (handled,) = read_inbox(app, LATER).handled

    assert [c["what"] for c in handled.changes] == ["done"], (handled.outcome, handled.detail)
    done = occurrences_of(app, mail)[number]
    assert (done.status, done.person_id, done.done_by_id) == (DONE, owner_id, stand_in_id)
    with app.sessions() as session:
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.occurrence_id == occ.id)
        ).all()
        assert (entry.actor, entry.detail["stand_in_for"]) == (stand_in_email, owner_email)


@pytest.mark.parametrize(
    ("header", "outcome"),
    [
        ("Message-ID: <>", "automatic"),  # unreadable: moved away, not answered
        ("Content-Type: text/plain; charset=x-mac-sv", "unmatched"),  # read as Latin-1
    ],
    ids=["empty-message-id", "unknown-charset"],
)
def test_a_mail_the_parser_cannot_read_is_moved_away_and_the_reply_behind_it_applied(
    sent: Sent, header: str, outcome: str
) -> None:
    # Such mails had stayed in the inbox, failing on every run; fifty of them, read first,
    # kept every reply behind them waiting.
    app = sent.app
    mail = sent.with_items(lambda n: n >= 2)
    deliver(app, f"From: x@example.org\r\n{header}\r\nSubject: ?\r\n\r\nklar 1\r\n".encode())
    deliver(app, replies.outlook(mail, "klar 1", sender_of(mail)))

    run = read_inbox(app, LATER)

    assert run.errors == []
    assert sorted(h.outcome for h in run.handled) == sorted(["applied", outcome])
    assert inbox_keys(app) == [] and len(inbox_keys(app, "Behandlade")) == 2
    assert occurrences_of(app, mail)[1].status == DONE
