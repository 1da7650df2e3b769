"""The weekly digest to the förvaltningschef: what is late, what is coming, what got done."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from service import i18n, roles
from service.app import App
from service.calendar import Calendars
from service.deadlines import DeadlineKind
from service.directory import (
    Directory,
    load_directory,
    people_by_id,
    record_of,
    stored_roles,
)
from service.mail.compose import mail_items
from service.mail.context import (
    ContinuousRow,
    DeferredRow,
    DigestContext,
    DoneRow,
    FailedDelivery,
    MailItem,
    ProgressRow,
)
from service.models import Area, Item, Occurrence, OutboxMessage, Person, Plan
from service.occurrences import DONE, NOT_APPLICABLE, OPEN
from service.reminders import DIGEST_KIND, Policy
from service.report.model import (
    OccurrenceRow,
    administration_lines,
    municipality_figures,
    plan_trends,
)
from service.roles import RoleMatch, RoleVocabulary, canonical_roles
from service.web.urls import activities_url, dashboard_url, item_anchor

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKS_SV = ("noll", "en", "två", "tre", "fyra", "fem", "sex", "sju", "åtta")


@dataclass(frozen=True)
class Since:
    """How the digest names the time since the previous one the person actually got."""

    period: str  # "förra veckan", "de senaste tre veckorna", "sedan förra brevet 4 november 2024"
    change: str  # the trend's: "sedan förra veckan", "sedan förra brevet 4 november 2024"


def since_previous(start: date, today: date) -> Since:
    """Pure: the words for the period from `start` (the previous digest's day, or a week ago)
    up to `today`. After a calm week was left out the digest speaks of the whole period."""
    days = (today - start).days
    if days <= 7:
        return Since("förra veckan", "sedan förra veckan")
    since = f"sedan förra brevet {i18n.format_date_sv(start)}"
    weeks, rest = divmod(days, 7)
    if rest == 0 and weeks < len(_WEEKS_SV):
        return Since(f"de senaste {_WEEKS_SV[weeks]} veckorna", since)
    return Since(since, since)


@dataclass(frozen=True)
class DigestShared:
    """What every digest of one run reads alike, loaded once: the directory's roles and places
    (not its people). A run composes a digest per head, 1,740 of them on a national store,
    and loading the directory for each had cost more than the digests themselves."""

    places: Directory
    # The roles with the directory's places: built anew on every use of places.vocabulary,
    # which had cost a national run more than a second.
    vocabulary: RoleVocabulary

    @classmethod
    def load(cls, session: Session) -> DigestShared:
        places = load_directory(session, with_people=False)
        return cls(places, places.vocabulary)


def digest_context(
    app: App,
    session: Session,
    recipient: Person | None,
    *,
    now: datetime,
    today: date,
    shared: DigestShared | None = None,
) -> DigestContext:
    """The digest for `recipient` (None: an extra recipient, who sees everything)."""
    batch = DigestBatch(app, session, [recipient], now=now, today=today, shared=shared)
    return batch.context(recipient)


def digest_contexts(
    app: App,
    session: Session,
    recipients: Sequence[Person | None],
    *,
    now: datetime,
    today: date,
    chunk: int = 200,
) -> Iterator[DigestContext]:
    """The digests of `recipients` in their order, read `chunk` recipients at a time (as the
    dispatcher's batches do: a national store's 1,740 at once would hold it all in memory)."""
    shared = DigestShared.load(session)
    for start in range(0, len(recipients), chunk):
        part = recipients[start : start + chunk]
        batch = DigestBatch(app, session, part, now=now, today=today, shared=shared)
        yield from (batch.context(recipient) for recipient in part)


@dataclass(frozen=True)
class _ScopeRows:
    """What the digests of one administration (or, keyed None, of every plan) read from the
    store. The done and deferred rows reach back to the earliest period of the batch's
    recipients; each digest keeps its own period's."""

    open_rows: list[Row[Any]]  # open, due by the end of the fortnight
    done_rows: list[Occurrence]
    deferred_rows: list[Occurrence]
    active: _ActiveItems


class DigestBatch:
    """The digests of several recipients, their rows read in a few queries for all of them
    and grouped by administration here, not ten queries per digest: a national run composes
    1,740, one per head. Every query is narrowed to the recipients' administrations in SQL, so
    a batch costs what their own plans hold, not what the store holds."""

    def __init__(
        self,
        app: App,
        session: Session,
        recipients: Sequence[Person | None],
        *,
        now: datetime,
        today: date,
        shared: DigestShared | None = None,
    ) -> None:
        self.app, self.session, self.now, self.today = app, session, now, today
        self.shared = shared or DigestShared.load(session)
        self.soon_days = int(app.config.get("digest", "due_soon_days", 14))
        people = [r for r in recipients if r is not None]
        self.scope = {r.id: digest_administration(session, r, self.shared.places) for r in people}
        self.week_start = _week_starts(session, people, today)
        default_start = today - timedelta(days=7)
        earliest: dict[str | None, date] = {}
        for recipient in recipients:
            key = self.scope[recipient.id] if recipient is not None else None
            start = self.week_start.get(recipient.id, default_start) if recipient else default_start
            earliest[key] = min(earliest.get(key, start), start)
        codes = sorted(k for k in earliest if k is not None)
        self.rows: dict[str | None, _ScopeRows] = {}
        if codes:
            self.rows.update(self._read(codes, min(earliest[c] for c in codes)))
        if None in earliest:
            self.rows.update(self._read(None, earliest[None]))
        # The items of every digest in the batch, described in two queries.
        every = self.rows.values()
        self.items = mail_items(
            app,
            session,
            [r.id for rows in every for r in rows.open_rows],
            today=today,
            now=now,
            with_links=False,
        )
        self.described = mail_items(
            app,
            session,
            [o.id for rows in every for o in [*rows.done_rows, *rows.deferred_rows]],
            today=today,
            now=now,
            with_links=False,
            only_open=False,
        )
        # Only the people the rows name (who acted, and for whom): a national store holds
        # 50,000. Most of them hold the plans' occurrences too, and are read already.
        self.people: dict[int, Person] = {}
        for rows in every:
            self.people.update(rows.active.people)
        acted = [o for rows in every for o in [*rows.done_rows, *rows.deferred_rows]]
        named = [o.done_by_id for o in acted] + [o.deferred_by_id for o in acted]
        named += [o.person_id for o in acted]
        self.failed = _failed_rows(session, now)
        named += [row.person_id for row in self.failed]
        self.people |= people_by_id(session, [i for i in named if i not in self.people])

    def _read(self, codes: list[str] | None, since: date) -> dict[str | None, _ScopeRows]:
        """The rows of the administrations `codes` (None: of every plan) from `since` on,
        each under its administration."""
        session, now, today = self.session, self.now, self.today
        if codes is None:
            scope, administration_of = None, None
        else:
            items = (
                select(Item.id, Plan.administration)
                .join(Plan, Item.plan_id == Plan.id)
                .where(Plan.administration.in_(codes))
            )
            scope = items.with_only_columns(Item.id)
            administration_of = dict(session.execute(items).tuples().all())

        def part(item_id: int) -> str | None:
            return None if administration_of is None else administration_of[item_id]

        # Nothing later than the fortnight matters here (both dates empty: nothing to show).
        effective_due = func.coalesce(Occurrence.postponed_to, Occurrence.due)
        open_rows = session.execute(
            select(Occurrence.id, Occurrence.item_id, Occurrence.due, Occurrence.postponed_to)
            .where(
                Occurrence.status == OPEN,
                effective_due <= today + timedelta(days=self.soon_days),
                _in(Occurrence.item_id, scope),
            )
            .order_by(Occurrence.id)
        ).all()
        done_rows = session.scalars(
            select(Occurrence)
            .where(
                Occurrence.status == DONE,
                Occurrence.done_on >= since,
                Occurrence.done_on < today,
                _in(Occurrence.item_id, scope),
            )
            .order_by(Occurrence.id)
        ).all()
        deferred_rows = session.scalars(
            select(Occurrence)
            .where(
                Occurrence.deferred_at.is_not(None),
                Occurrence.deferred_at >= now - timedelta(days=(today - since).days),
                or_(Occurrence.status == NOT_APPLICABLE, Occurrence.postponed_to.is_not(None)),
                _in(Occurrence.item_id, scope),
            )
            .order_by(Occurrence.id)
        ).all()
        keys = [None] if codes is None else codes
        opened: dict[str | None, list[Row[Any]]] = {k: [] for k in keys}
        done: dict[str | None, list[Occurrence]] = {k: [] for k in keys}
        deferred: dict[str | None, list[Occurrence]] = {k: [] for k in keys}
        for r in open_rows:
            opened[part(r.item_id)].append(r)
        for o in done_rows:
            done[part(o.item_id)].append(o)
        for o in deferred_rows:
            deferred[part(o.item_id)].append(o)
        active = _ActiveItems.read(session, scope, part, keys)
        return {k: _ScopeRows(opened[k], done[k], deferred[k], active[k]) for k in keys}

    def context(self, recipient: Person | None) -> DigestContext:
        """The digest for `recipient`, one of the batch's."""
        app, today, now = self.app, self.today, self.now
        administration = self.scope[recipient.id] if recipient is not None else None
        rows = self.rows[administration]
        week_start = today - timedelta(days=7)
        if recipient is not None:
            week_start = self.week_start.get(recipient.id, week_start)
        dashboard = dashboard_url(app, recipient.id, now) if recipient else app.public_url

        def item_url(item_id: int) -> str:
            return f"{dashboard}#{item_anchor(item_id)}"

        soon = today + timedelta(days=self.soon_days)
        overdue_ids = [r.id for r in rows.open_rows if (r.postponed_to or r.due or soon) < today]
        soon_ids = [
            r.id for r in rows.open_rows if today <= (r.postponed_to or r.due or date.max) <= soon
        ]
        item_of = {r.id: r.item_id for r in rows.open_rows}

        def linked(ids: list[int]) -> list[MailItem]:
            return _per_item(
                [_with_url(self.items[i], item_url(item_of[i])) for i in ids if i in self.items],
                item_of,
            )

        overdue = sorted(linked(overdue_ids), key=lambda i: (-i.days_late, i.person_name))
        due_soon = sorted(linked(soon_ids), key=lambda i: (i.due or today, i.person_name))
        done_rows = [o for o in rows.done_rows if o.done_on and o.done_on >= week_start]
        deferred_since = now - timedelta(days=(today - week_start).days)
        deferred_rows = [
            o for o in rows.deferred_rows if o.deferred_at and o.deferred_at >= deferred_since
        ]
        described = {
            o.id: _with_url(self.described[o.id], item_url(o.item_id))
            for o in [*done_rows, *deferred_rows]
            if o.id in self.described
        }
        people = self.people
        done_last_week = tuple(
            DoneRow(
                item=described[o.id],
                done_on=o.done_on,
                done_by=_acted(people, o.done_by_id, o.person_id),
                comment=o.comment,
                result_note=o.result_note,
            )
            for o in sorted(done_rows, key=lambda o: (o.done_on or today, o.id))
            if o.id in described and o.done_on is not None
        )
        deferred = tuple(
            DeferredRow(
                item=described[o.id],
                kind="not_applicable" if o.status == NOT_APPLICABLE else "postponed",
                proposed_date=o.postponed_to if o.status != NOT_APPLICABLE else None,
                reason=o.deferral_reason,
                by=_acted(people, o.deferred_by_id, o.person_id),
            )
            for o in deferred_rows
            if o.id in described
        )
        failed = tuple(
            FailedDelivery(
                to=", ".join(row.to_addrs),
                subject=row.subject or row.kind,
                error=row.last_error,
                failed_at=row.created_at,
            )
            for row in _failed_in(self.failed, administration, self.shared.places, people)
        )
        active = rows.active
        continuous, progress = _progress(active, today, item_url, self.shared.vocabulary)
        since = since_previous(week_start, today)
        return DigestContext(
            recipient_name=recipient.name if recipient else "",
            today=today,
            week_start=week_start,
            week_end=today - timedelta(days=1),
            overdue=tuple(overdue),
            due_soon=tuple(due_soon),
            due_soon_days=self.soon_days,
            done_last_week=done_last_week,
            deferred=deferred,
            continuous=continuous,
            progress=progress,
            failed=failed,
            plan_lines=tuple(
                plan_trends(
                    [item for item, _, _ in active.items],
                    active.in_order,  # in the order of their ids, as the figures read them
                    today,
                    app.tz,
                    days=(today - week_start).days,
                    since=since.change,
                )
            ),
            administration_lines=_administration_lines(
                app,
                self.session,
                recipient,
                today,
                self.shared.places,
                days=(today - week_start).days,
                since=since.change,
            ),
            since=since.period,
            dashboard_url=dashboard,
            public_url=app.public_url,
            activities_url=activities_url(app, recipient.id, now) if recipient else "",
        )


def _week_starts(session: Session, recipients: Sequence[Person], today: date) -> dict[int, date]:
    """Per recipient, the first day their digest speaks of: a week ago, or the day of the
    previous digest they got when a calm week was left out (see is_calm) since: what got done
    then is told in this one."""
    week_start = today - timedelta(days=7)
    out = {r.id: week_start for r in recipients}
    ids = list(out)
    for start in range(0, len(ids), 500):
        previous = session.execute(
            select(OutboxMessage.person_id, func.max(OutboxMessage.local_date))
            .where(
                OutboxMessage.kind == DIGEST_KIND,
                OutboxMessage.person_id.in_(ids[start : start + 500]),
                OutboxMessage.local_date < today,
            )
            .group_by(OutboxMessage.person_id)
        ).tuples()
        for person_id, day in previous:
            # After a calm week left out: from the previous digest on (up to eight weeks).
            if person_id is not None and day and today - timedelta(days=56) <= day < week_start:
                out[person_id] = day
    return out


def _per_item(entries: list[MailItem], item_of: dict[int, int]) -> list[MailItem]:
    """One line per item and deadline, naming everyone it waits for: an item fanned out to
    fourteen enhetschefer is one line in the digest, not fourteen."""
    groups: dict[tuple[int, date | None], list[MailItem]] = defaultdict(list)
    for entry in entries:
        groups[(item_of[entry.occurrence_id], entry.due)].append(entry)
    out = []
    for group in groups.values():
        names = sorted(e.person_name for e in group)
        if len(names) > 5:
            who = f"{len(names)} personer: {', '.join(names[:4])} och {len(names) - 4} till"
        else:
            who = i18n.join_sv(names)
        out.append(replace(group[0], person_name=who))
    return out


def _with_url(item: MailItem, url: str) -> MailItem:
    return replace(item, item_url=url)


def _administration_lines(
    app: App,
    session: Session,
    recipient: Person | None,
    today: date,
    places: Directory,
    *,
    days: int,
    since: str,
) -> tuple[str, ...]:
    """Progress per administration, for a municipality-level role's digest (the
    kommundirektör) when the directory declares several administrations. `places`: the
    directory's roles and places, read once per run (not once per head)."""
    if recipient is None:
        return ()
    spec = places.roles.spec(recipient.role)
    if spec is None or spec.level != roles.MUNICIPALITY:
        return ()
    if len(places.organisation.administrations) < 2:
        return ()
    figures = municipality_figures(session, today, tz=app.tz, days=days)
    return tuple(administration_lines(figures, since))


def digest_administration(
    session: Session, recipient: Person | None, places: Directory | None = None
) -> str | None:
    """The administration a digest covers: a head gets her administration's plans; the
    kommundirektör, extra recipients and a directory of one administration get all (None).
    `places`: the directory's roles and places (its people are not needed)."""
    if recipient is None:
        return None
    places = places or load_directory(session, with_people=False)
    if not places.organisation.administrations:
        return None
    return places.administration_of(record_of(recipient))


def _failed_rows(session: Session, now: datetime) -> list[OutboxMessage]:
    """Mails that failed in the last fortnight, oldest first (a handful, or none)."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "failed",
                OutboxMessage.created_at >= now - timedelta(days=14),
            )
            .order_by(OutboxMessage.created_at)
        )
    )


def _failed_in(
    rows: Sequence[OutboxMessage],
    administration: str | None,
    places: Directory,
    people: Mapping[int, Person],
) -> list[OutboxMessage]:
    """The failed mails a digest of `administration` lists: those to its people (placed as
    `Directory.administration_of` places them), and mail to a digest's extra address, which
    belongs to every administration. `people`: at least the rows' recipients."""
    if administration is None:
        return list(rows)
    return [
        row
        for row in rows
        if row.person_id is None
        or (
            row.person_id in people
            and places.administration_of(record_of(people[row.person_id])) == administration
        )
    ]


def _in(
    column: ColumnElement[int] | InstrumentedAttribute[int], scope: Select[tuple[int]] | None
) -> ColumnElement[bool]:
    """`column` among the scope's items; always true without a scope."""
    return true() if scope is None else column.in_(scope)


@dataclass(frozen=True)
class _ActiveItems:
    """The active items of a digest's plans and all their occurrences, read once for both the
    progress lines and the plans' trends."""

    items: list[Row[tuple[Item, Area, Plan]]]  # in the order of plan, area and item
    occurrences: dict[int, list[OccurrenceRow]]  # per item id, in the order of their ids
    in_order: list[OccurrenceRow]  # all of them, in the order of their ids
    people: dict[int, Person]  # at least the people the occurrences name

    @classmethod
    def read(
        cls,
        session: Session,
        scope: Select[tuple[int]] | None,
        part: Callable[[int], str | None],
        keys: Sequence[str | None],
    ) -> dict[str | None, _ActiveItems]:
        """The scope's active items, under their part (`part` of an item id) of `keys`."""
        # One people mapping for all the parts: it is only looked up in.
        people: dict[int, Person] = {}
        out = {key: cls([], {}, [], people) for key in keys}
        for row in session.execute(
            select(Item, Area, Plan)
            .join(Area, Item.area_id == Area.id)
            .join(Plan, Item.plan_id == Plan.id)
            .where(Item.active.is_(True), _in(Item.id, scope))
            .order_by(Plan.title, Area.position, Item.position)
        ):
            active = out[part(row[0].id)]
            active.items.append(row)
            active.occurrences[row[0].id] = []
        # The occurrences as plain rows: ORM objects for the whole history of an
        # administration's plans had cost most of a digest.
        # Core, not the ORM's result machinery: it cost as much per row again for columns.
        occurrences = [
            OccurrenceRow(*row)
            for row in session.connection().execute(
                select(*OccurrenceRow.columns())
                .join(Item, Occurrence.item_id == Item.id)
                .where(Item.active.is_(True), _in(Occurrence.item_id, scope))
                .order_by(Occurrence.id)
            )
        ]
        for occ in occurrences:
            active = out[part(occ.item_id)]
            active.occurrences[occ.item_id].append(occ)
            active.in_order.append(occ)
        people.update(people_by_id(session, {o.person_id for o in occurrences}))
        return out


def _progress(
    active: _ActiveItems,
    today: date,
    item_url: Callable[[int], str],
    vocabulary: RoleVocabulary,
) -> tuple[tuple[ContinuousRow, ...], tuple[ProgressRow, ...]]:
    """Per item: how many of its people are done ("3 av 12 enhetschefer klara"), and for
    continuous items the latest check-in."""
    meta = {item.id: (item, area, plan) for item, area, plan in active.items}
    people = active.people
    progress = []
    continuous = []
    for item_id, occs in active.occurrences.items():
        if not occs:
            continue
        item, area, plan = meta[item_id]
        if item.deadline_kind == DeadlineKind.CONTINUOUS.value:
            done = [o for o in occs if o.status == DONE and o.done_on]
            holders = {o.person_id for o in occs}
            if len(holders) == 1:
                name = people[next(iter(holders))].name
            else:
                name = f"{len({o.person_id for o in done})} av {len(holders)} har stämt av"
            continuous.append(
                ContinuousRow(
                    plan_title=plan.title,
                    number=item.number,
                    title=item.title,
                    person_name=name,
                    last_checkin=max((o.done_on for o in done if o.done_on), default=None),
                    item_url=item_url(item_id),
                )
            )
            continue
        current = _current_window(occs, today)
        if len({o.person_id for o in current}) < 2:
            continue
        progress.append(
            ProgressRow(
                plan_title=plan.title,
                area_title=area.title,
                number=item.number,
                title=item.title,
                role=_progress_role(item, [people[o.person_id] for o in current], vocabulary),
                done=sum(1 for o in current if o.status == DONE),
                total=len(current),
            )
        )
    return tuple(continuous), tuple(progress)


def _progress_role(item: Item, holders: list[Person], vocabulary: RoleVocabulary) -> str:
    """The singular title a progress line counts in: the item's role when it names one
    ("Chefer" covers every kind of chef); with several, the holders' own role when they share
    one, else "ansvarig" — never the first role named, which miscounted a förvaltningschef
    and an HR-chef as "2 förvaltningschefer"."""
    named = {RoleMatch.from_key(k).role for k in canonical_roles(item.responsible, vocabulary)}
    if len(named) == 1:
        role: str | None = named.pop()
    else:
        held = {p.role for p in holders}
        role = held.pop() if len(held) == 1 else None
    return vocabulary.title(role, 1) if role else "ansvarig"


def _current_window(occs: list[OccurrenceRow], today: date) -> list[OccurrenceRow]:
    """The occurrences of the window that matters now: the earliest one still running, or the
    latest one that has ended."""
    keys: dict[str, date] = {}
    for o in occs:
        end = o.effective_due or o.window_end or date.max
        keys[o.window_key] = min(keys.get(o.window_key, end), end)
    running = [k for k, end in keys.items() if end >= today]
    chosen = min(running, key=lambda k: keys[k]) if running else max(keys, key=lambda k: keys[k])
    return [o for o in occs if o.window_key == chosen]


def digest_week(
    app: App,
    calendars: Calendars,
    now_local: datetime,
    policy: Policy,
    *,
    started: date | None,
    last_tick: datetime | None = None,
    at_time: bool = True,
) -> date | None:
    """The configured weekday of the digest week that is due now, or None.

    Due from the configured weekday and time on; when that day is closed (a Monday that is a
    holiday, say) or in a quiet period, from the next open day of the week on. Until the next
    such weekday a later tick catches up after downtime; the caller keeps it to one digest per
    week. A store that `started` after this week's digest day waits for next week's: the
    digest never arrives on a Thursday just because that is when Bevakning was set up.
    """
    d = app.config.section("digest")
    if not d.get("enabled", True):
        return None
    weekday = WEEKDAYS.index(str(d.get("day", "mon"))[:3].lower())
    hours, minutes = str(d.get("time", "07:00")).split(":")
    today = now_local.date()

    anchor = today - timedelta(days=(today.weekday() - weekday) % 7)
    first = digest_day(calendars, policy, anchor, today)
    if (
        not _open(calendars, policy, today)
        or today < first
        or (started is not None and started > first)
    ):
        return None
    if (
        at_time
        and today == first
        and (now_local.hour, now_local.minute) < (int(hours), int(minutes))
    ):
        return None
    return anchor


def _open(calendars: Calendars, policy: Policy, day: date) -> bool:
    return calendars.is_working_day(day) and not policy.quiet.contains(day)


def digest_day(calendars: Calendars, policy: Policy, week_of: date, today: date) -> date:
    """The day the digest of the week starting `week_of` is due: that day, or the next open
    one (not after `today`)."""
    first = week_of
    while not _open(calendars, policy, first) and first < today:
        first += timedelta(days=1)
    return first


def digest_recipients(app: App, session: Session) -> list[tuple[Person | None, str]]:
    # Each administration's head, and whoever heads the whole municipality (a kommundirektör).
    vocabulary = stored_roles(session)
    wanted = [vocabulary.head_role, *vocabulary.roles_at(roles.MUNICIPALITY)]
    heads = session.scalars(
        select(Person)
        .where(Person.role.in_([r for r in wanted if r]), Person.active.is_(True))
        .order_by(Person.id)
    ).all()
    out: list[tuple[Person | None, str]] = [(p, p.email) for p in heads]
    extra = str(app.config.get("digest", "extra_recipients", ""))
    out += [(None, a.strip()) for a in extra.split(",") if a.strip()]
    return out


def calm_scopes(
    session: Session,
    today: date,
    now: datetime,
    scopes: Iterable[str | None],
    places: Directory,
) -> set[str | None]:
    """The scopes (administrations; None: every plan, for the kommundirektör) with nothing for
    the digest to act on as of `now`: nothing overdue, no failed delivery, nothing put off. A
    calm week's digest (with nothing of the recipient's own in it) is left out. Three queries
    for all the scopes: a national store has 1,740 administrations to judge on the same day."""
    effective_due = func.coalesce(Occurrence.postponed_to, Occurrence.due)

    def administrations(*conditions: ColumnElement[bool]) -> set[str]:
        return set(
            session.scalars(
                select(Plan.administration)
                .distinct()
                .join(Item, Item.plan_id == Plan.id)
                .join(Occurrence, Occurrence.item_id == Item.id)
                .where(*conditions)
            )
        )

    overdue = administrations(
        Occurrence.status == OPEN, effective_due < today, Item.active.is_(True)
    )
    deferred = administrations(
        Occurrence.deferred_at >= now - timedelta(days=7), Occurrence.deferred_at <= now
    )
    failed = [row for row in _failed_rows(session, now) if row.created_at <= now]
    people = people_by_id(session, [row.person_id for row in failed])
    calm: set[str | None] = set()
    for scope in set(scopes):
        if scope is None:
            busy = bool(overdue or deferred or failed)
        else:
            busy = (
                scope in overdue
                or scope in deferred
                or bool(_failed_in(failed, scope, places, people))
            )
        if not busy:
            calm.add(scope)
    return calm


def _acted(people: Mapping[int, Person], by_id: int | None, owner_id: int) -> str:
    """Who acted, and for whom when a stand-in acted for the absent owner."""
    if by_id is None or by_id not in people:
        return ""
    owner = people[owner_id].name if owner_id in people else ""
    return i18n.acted_by_sv(people[by_id].name, owner)
