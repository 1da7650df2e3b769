"""The weekly digest to the förvaltningschef: what is late, what is coming, what got done."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, exists, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from service import i18n, roles
from service.app import App
from service.calendar import Calendars
from service.deadlines import DeadlineKind
from service.directory import (
    Directory,
    load_directory,
    people_by_id,
    people_in,
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
from service.report.model import administration_lines, municipality_figures, plan_trends
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
    """The digest for `recipient` (None: an extra recipient, who sees everything). Every query
    is narrowed to the recipient's administration in SQL, so a head's digest costs what their
    own plans hold, not what the store holds."""
    shared = shared or DigestShared.load(session)
    soon_days = int(app.config.get("digest", "due_soon_days", 14))
    week_start = today - timedelta(days=7)
    if recipient is not None:
        # A calm week's digest is left out (see is_calm): what got done then is told in this one.
        previous = session.scalar(
            select(func.max(OutboxMessage.local_date)).where(
                OutboxMessage.kind == DIGEST_KIND,
                OutboxMessage.person_id == recipient.id,
                OutboxMessage.local_date < today,
            )
        )
        if previous is not None and today - timedelta(days=56) <= previous < week_start:
            week_start = previous
    dashboard = dashboard_url(app, recipient.id, now) if recipient else app.public_url

    def item_url(item_id: int) -> str:
        return f"{dashboard}#{item_anchor(item_id)}"

    administration = digest_administration(session, recipient, shared.places)
    scope = _items_of(administration)
    # Nothing later than the fortnight matters here (both dates empty: nothing to show either).
    effective_due = func.coalesce(Occurrence.postponed_to, Occurrence.due)
    open_rows = session.execute(
        select(Occurrence.id, Occurrence.item_id, Occurrence.due, Occurrence.postponed_to).where(
            Occurrence.status == OPEN,
            effective_due <= today + timedelta(days=soon_days),
            _in(Occurrence.item_id, scope),
        )
    ).all()
    overdue_ids = [
        r.id for r in open_rows if (r.postponed_to or r.due) and (r.postponed_to or r.due) < today
    ]
    soon_ids = [
        r.id
        for r in open_rows
        if (r.postponed_to or r.due)
        and today <= (r.postponed_to or r.due) <= today + timedelta(days=soon_days)
    ]
    items = mail_items(app, session, overdue_ids + soon_ids, today=today, now=now, with_links=False)
    item_of = {r.id: r.item_id for r in open_rows}

    def linked(ids: list[int]) -> list[MailItem]:
        return _per_item(
            [_with_url(items[i], item_url(item_of[i])) for i in ids if i in items], item_of
        )

    overdue = sorted(linked(overdue_ids), key=lambda i: (-i.days_late, i.person_name))
    due_soon = sorted(linked(soon_ids), key=lambda i: (i.due or today, i.person_name))

    done_rows = session.scalars(
        select(Occurrence).where(
            Occurrence.status == DONE,
            Occurrence.done_on >= week_start,
            Occurrence.done_on < today,
            _in(Occurrence.item_id, scope),
        )
    ).all()

    def described(rows: Sequence[Occurrence]) -> dict[int, MailItem]:
        """The rows as linked MailItems, whatever their status."""
        loaded = mail_items(
            app,
            session,
            [o.id for o in rows],
            today=today,
            now=now,
            with_links=False,
            only_open=False,
        )
        return {o.id: _with_url(loaded[o.id], item_url(o.item_id)) for o in rows if o.id in loaded}

    deferred_rows = session.scalars(
        select(Occurrence).where(
            Occurrence.deferred_at.is_not(None),
            Occurrence.deferred_at >= now - timedelta(days=(today - week_start).days),
            or_(Occurrence.status == NOT_APPLICABLE, Occurrence.postponed_to.is_not(None)),
            _in(Occurrence.item_id, scope),
        )
    ).all()
    # One query for both lists' items (an occurrence in both is described alike).
    described_items = described([*done_rows, *deferred_rows])
    active = _ActiveItems.read(session, scope)
    # Only the people these rows name (who acted, and for whom): a national store holds 50,000.
    # Most of them hold the plans' occurrences too, and are read already.
    named = [o.done_by_id for o in done_rows] + [o.deferred_by_id for o in deferred_rows]
    named += [o.person_id for o in [*done_rows, *deferred_rows]]
    people = active.people | people_by_id(session, [i for i in named if i not in active.people])
    done_last_week = tuple(
        DoneRow(
            item=described_items[o.id],
            done_on=o.done_on,
            done_by=_acted(people, o.done_by_id, o.person_id),
            comment=o.comment,
            result_note=o.result_note,
        )
        for o in sorted(done_rows, key=lambda o: (o.done_on or today, o.id))
        if o.id in described_items and o.done_on is not None
    )
    deferred = tuple(
        DeferredRow(
            item=described_items[o.id],
            kind="not_applicable" if o.status == NOT_APPLICABLE else "postponed",
            proposed_date=o.postponed_to if o.status != NOT_APPLICABLE else None,
            reason=o.deferral_reason,
            by=_acted(people, o.deferred_by_id, o.person_id),
        )
        for o in deferred_rows
        if o.id in described_items
    )
    failed = tuple(
        FailedDelivery(
            to=", ".join(row.to_addrs),
            subject=row.subject or row.kind,
            error=row.last_error,
            failed_at=row.created_at,
        )
        for row in session.scalars(
            _failed_since(now, administration, shared.places).order_by(OutboxMessage.created_at)
        )
    )
    continuous, progress = _progress(active, today, item_url, shared.vocabulary)
    since = since_previous(week_start, today)
    return DigestContext(
        recipient_name=recipient.name if recipient else "",
        today=today,
        week_start=week_start,
        week_end=today - timedelta(days=1),
        overdue=tuple(overdue),
        due_soon=tuple(due_soon),
        due_soon_days=soon_days,
        done_last_week=done_last_week,
        deferred=deferred,
        continuous=continuous,
        progress=progress,
        failed=failed,
        plan_lines=tuple(
            plan_trends(
                [item for item, _, _ in active.items],
                # In the order of their ids, as the figures have always read them.
                sorted(
                    (o for occs in active.occurrences.values() for o in occs), key=lambda o: o.id
                ),
                active.people,
                today,
                app.tz,
                days=(today - week_start).days,
                since=since.change,
            )
        ),
        administration_lines=_administration_lines(
            app,
            session,
            recipient,
            today,
            shared.places,
            days=(today - week_start).days,
            since=since.change,
        ),
        since=since.period,
        dashboard_url=dashboard,
        public_url=app.public_url,
        activities_url=activities_url(app, recipient.id, now) if recipient else "",
    )


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


def _failed_since(
    now: datetime, administration: str | None, places: Directory
) -> Select[tuple[OutboxMessage]]:
    """Mails that failed in the last fortnight; for a head, those to her administration's
    people (mail to a digest's extra address belongs to every administration)."""
    query = select(OutboxMessage).where(
        OutboxMessage.status == "failed", OutboxMessage.created_at >= now - timedelta(days=14)
    )
    if administration is None:
        return query
    own = select(Person.id).where(people_in(places, administration))
    return query.where(or_(OutboxMessage.person_id.in_(own), OutboxMessage.person_id.is_(None)))


def _items_of(administration: str | None) -> Select[tuple[int]] | None:
    """The items of the administration's plans, as a subquery; None: every item."""
    if administration is None:
        return None
    return (
        select(Item.id)
        .join(Plan, Item.plan_id == Plan.id)
        .where(Plan.administration == administration)
    )


def _in(
    column: ColumnElement[int] | InstrumentedAttribute[int], scope: Select[tuple[int]] | None
) -> ColumnElement[bool]:
    """`column` among the scope's items; always true without a scope."""
    return true() if scope is None else column.in_(scope)


@dataclass(frozen=True)
class _ActiveItems:
    """The active items of a digest's plans and all their occurrences, read once for both the
    progress lines and the plans' trends."""

    items: Sequence[Row[tuple[Item, Area, Plan]]]  # in the order of plan, area and item
    occurrences: dict[int, list[Row[Any]]]  # per item id, in the order of their ids
    people: dict[int, Person]  # the people the occurrences name

    @classmethod
    def read(cls, session: Session, scope: Select[tuple[int]] | None) -> _ActiveItems:
        items = session.execute(
            select(Item, Area, Plan)
            .join(Area, Item.area_id == Area.id)
            .join(Plan, Item.plan_id == Plan.id)
            .where(Item.active.is_(True), _in(Item.id, scope))
            .order_by(Plan.title, Area.position, Item.position)
        ).all()
        # The occurrences as plain rows: ORM objects for the whole history of an
        # administration's plans had cost most of a digest.
        by_item: dict[int, list[Row[Any]]] = {item.id: [] for item, _, _ in items}
        for occ in session.execute(
            select(
                Occurrence.id,
                Occurrence.item_id,
                Occurrence.person_id,
                Occurrence.status,
                Occurrence.done_on,
                Occurrence.window_key,
                Occurrence.window_end,
                Occurrence.due,
                Occurrence.postponed_to,
                Occurrence.deferred_at,
                func.coalesce(Occurrence.postponed_to, Occurrence.due).label("effective_due"),
            )
            .join(Item, Occurrence.item_id == Item.id)
            .where(Item.active.is_(True), _in(Occurrence.item_id, scope))
            .order_by(Occurrence.id)
        ):
            by_item[occ.item_id].append(occ)
        people = people_by_id(session, [o.person_id for occs in by_item.values() for o in occs])
        return cls(items, by_item, people)


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


def _current_window(occs: list[Row[Any]], today: date) -> list[Row[Any]]:
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


def is_calm(
    session: Session,
    today: date,
    now: datetime,
    administration: str | None = None,
    places: Directory | None = None,
) -> bool:
    """Nothing for the digest to act on as of `now`: nothing overdue, no failed delivery,
    nothing put off (in `administration`'s plans, for its head). A calm week's digest (with
    nothing of the recipient's own in it) is left out."""
    effective_due = func.coalesce(Occurrence.postponed_to, Occurrence.due)
    scope = _items_of(administration)
    items = select(Item.id) if scope is None else scope
    overdue = session.scalar(
        select(
            exists().where(
                Occurrence.status == OPEN,
                effective_due < today,
                Occurrence.item_id.in_(items.where(Item.active.is_(True))),
            )
        )
    )
    failed = session.scalar(
        select(
            exists(
                _failed_since(
                    now, administration, places or load_directory(session, with_people=False)
                ).where(OutboxMessage.created_at <= now)
            )
        )
    )
    deferred = session.scalar(
        select(
            exists().where(
                Occurrence.deferred_at >= now - timedelta(days=7),
                Occurrence.deferred_at <= now,
                Occurrence.item_id.in_(items),
            )
        )
    )
    return not (overdue or failed or deferred)


def _acted(people: Mapping[int, Person], by_id: int | None, owner_id: int) -> str:
    """Who acted, and for whom when a stand-in acted for the absent owner."""
    if by_id is None or by_id not in people:
        return ""
    owner = people[owner_id].name if owner_id in people else ""
    return i18n.acted_by_sv(people[by_id].name, owner)
