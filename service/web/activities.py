""" "Mina aktiviteter": all of a person's open items behind one signed link, ticked off in one POST.

The same rules as the item page (service/web/items.py): GET only shows, POST needs the CSRF
field, every change goes through service/completion.py (conditional and audited), and an item
that is no longer open is reported as already registered instead of being changed again. A
form with anything to correct changes nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from service import completion, preferences
from service.db import transaction
from service.links import ACTIVITIES, Claim
from service.models import Item, Occurrence, Person
from service.occurrences import OPEN, OVERDUE, status_at
from service.web.context import Web, form_page, stale_form, web_of
from service.web.forms import form_fields
from service.web.items import FormState, validate
from service.web.present import Status
from service.web.security import CSRF_FIELD

# Per item the form has at most four fields (klar-, annat-, nytt_datum-, skal-); the page's own
# fields come on top. The body stays bounded by forms.MAX_FORM_BYTES whatever the count.
MAX_FIELDS = 4 * 250 + 10
OTHER_ACTIONS = ("postpone", "not_applicable")
NOTHING_CHOSEN = (
    "Välj minst en aktivitet: bocka i det som är klart, eller välj Skjut upp eller "
    "Inte aktuell under en aktivitet."
)


@dataclass(frozen=True)
class Choice:
    """What the form asks for one occurrence."""

    occurrence_id: int
    action: str  # done | postpone | not_applicable


@dataclass
class Result:
    """What one POST did, per occurrence, for the receipt."""

    done: list[Occurrence] = field(default_factory=list)
    postponed: list[Occurrence] = field(default_factory=list)
    not_applicable: list[Occurrence] = field(default_factory=list)
    already: list[Occurrence] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.done) + len(self.postponed) + len(self.not_applicable)


@dataclass(frozen=True)
class Covering:
    """An absent colleague's open items on their stand-in's page, while the absence lasts."""

    owner: Person
    ends: date
    rows: list[tuple[Occurrence, Status]]


def covering(session: Session, stand_in: Person, today: date) -> list[Covering]:
    out = []
    for cover in preferences.standing_in_for(session, stand_in.id, today):
        owner = session.get(Person, cover.owner_id)
        if owner is None or not owner.active:
            continue
        found = open_occurrences(session, owner.id, today)
        rows = [(occ, Status(status_at(occ, today))) for occ in found]
        out.append(Covering(owner, cover.ends, rows))
    return out


def open_occurrences(session: Session, person_id: int, today: date) -> list[Occurrence]:
    """The person's open items, overdue first, then by date (items without one last).

    A window of a series that has not begun yet (next term's check-in, next year's round)
    is left out: it cannot be done yet, and listing the whole series buries what is due.
    """
    found = session.scalars(
        select(Occurrence)
        .join(Item, Occurrence.item_id == Item.id)
        .where(
            Occurrence.person_id == person_id,
            Occurrence.status == OPEN,
            Item.active.is_(True),
            or_(Occurrence.window_start.is_(None), Occurrence.window_start <= today),
        )
        .options(
            joinedload(Occurrence.item).joinedload(Item.area),
            joinedload(Occurrence.item).joinedload(Item.plan),
        )
    ).all()
    return sorted(
        found,
        key=lambda o: (
            status_at(o, today) != OVERDUE,
            o.effective_due or date.max,
            o.item.plan.title,
            o.item.position,
        ),
    )


def read_choices(fields: dict[str, str]) -> list[Choice]:
    """The ticked boxes and chosen alternatives, by occurrence id (malformed ids ignored)."""
    chosen: dict[int, set[str]] = {}
    for name, value in fields.items():
        prefix, _, raw_id = name.partition("-")
        if not (raw_id.isdecimal() and len(raw_id) <= 9):
            continue
        if prefix == "klar" and value:
            chosen.setdefault(int(raw_id), set()).add("done")
        elif prefix == "annat" and value in OTHER_ACTIONS:
            chosen.setdefault(int(raw_id), set()).add(value)
    return [
        Choice(occ_id, action)
        for occ_id, actions in sorted(chosen.items())
        for action in sorted(actions)
    ]


def check(
    choices: list[Choice],
    occurrences: dict[int, Occurrence],
    fields: dict[str, str],
    *,
    today: date,
) -> FormState:
    """Validates the whole form with the item page's rules; errors are keyed by field id."""
    state = FormState(action="bulk", values=dict(fields))
    if not choices:
        state.errors["valda"] = NOTHING_CHOSEN
        return state
    actions: dict[int, list[str]] = {}
    for choice in choices:
        actions.setdefault(choice.occurrence_id, []).append(choice.action)
    done = [occurrences[i] for i, a in actions.items() if "done" in a and i in occurrences]
    if done:
        # One date for all ticked items: it must suit the plan that started latest.
        latest_start = max(o.item.plan.start for o in done)
        checked = validate("done", fields, today=today, plan_start=latest_start)
        state.errors.update(checked.errors)
    for occ_id, wanted in actions.items():
        occ = occurrences.get(occ_id)
        if occ is None or occ.status != OPEN:
            continue  # reported as already registered; nothing to check
        if len(wanted) > 1:
            state.errors[f"annat-{occ_id}"] = (
                f"Aktivitet {occ.item.number} är både ibockad som klar och vald att skjutas "
                "upp eller markeras inte aktuell. Välj ett av dem."
            )
            continue
        action = wanted[0]
        if action == "postpone":
            if occ.due is None:
                state.errors[f"annat-{occ_id}"] = (
                    f"Aktivitet {occ.item.number} är löpande och har inget datum att skjuta upp."
                )
                continue
            one = validate(
                action,
                {
                    "postpone_to": fields.get(f"nytt_datum-{occ_id}", ""),
                    "postpone_reason": fields.get(f"skal-{occ_id}", ""),
                },
                today=today,
                plan_start=occ.item.plan.start,
            )
            renamed = {"postpone_to": f"nytt_datum-{occ_id}", "postpone_reason": f"skal-{occ_id}"}
        elif action == "not_applicable":
            one = validate(
                action,
                {"na_reason": fields.get(f"skal-{occ_id}", "")},
                today=today,
                plan_start=occ.item.plan.start,
            )
            renamed = {"na_reason": f"skal-{occ_id}"}
        else:
            continue
        for name, message in one.errors.items():
            state.errors[renamed[name]] = f"Aktivitet {occ.item.number}: {message}"
    return state


def _load_person(session: Session, claim: Claim) -> Person | None:
    person = session.get(Person, claim.person_id)
    return person if person is not None and person.active else None


def _render(
    request: Request,
    web: Web,
    session: Session,
    person: Person,
    state: FormState,
    status_code: int = 200,
    result: Result | None = None,
) -> HTMLResponse:
    today = web.today()
    occurrences = open_occurrences(session, person.id, today)
    covered = covering(session, person, today)
    everything = occurrences + [occ for c in covered for occ, _ in c.rows]
    return form_page(
        request,
        web,
        "activities.html.j2",
        status_code,
        person=person,
        rows=[(occ, Status(status_at(occ, today))) for occ in occurrences],
        covering=covered,
        overdue=sum(1 for occ in occurrences if status_at(occ, today) == OVERDUE),
        today=today,
        form=state,
        result=result,
        min_done=min((o.item.plan.start for o in everything), default=today).isoformat(),
    )


def show_activities(request: Request) -> Response:
    """GET and HEAD: read only, whatever a mail scanner does with the link."""
    web = web_of(request)
    claim = web.read_claim(request, ACTIVITIES)
    if isinstance(claim, HTMLResponse):
        return claim
    with web.app.sessions() as session:
        person = _load_person(session, claim)
        if person is None:
            return web.bad_link(request, "stale")
        return _render(request, web, session, person, FormState())


async def post_activities(request: Request) -> Response:
    web = web_of(request)
    claim = web.read_claim(request, ACTIVITIES)
    if isinstance(claim, HTMLResponse):
        return claim
    fields = await form_fields(request, max_fields=MAX_FIELDS)
    if not web.csrf.valid(request, fields.get(CSRF_FIELD, "")):
        web.metrics.item_posts.labels(action="?", outcome="csrf").inc()
        return stale_form(request.url.path)
    return await web.write(_act, request, web, claim, fields)


def _act(request: Request, web: Web, claim: Claim, fields: dict[str, str]) -> Response:
    now, today = web.now(), web.today()
    with transaction(web.app.sessions) as session:
        person = _load_person(session, claim)
        if person is None:
            return web.bad_link(request, "stale")
        choices = read_choices(fields)
        # Only the person's own occurrences, and those of a colleague they stand in for today:
        # one passed to someone else meanwhile is skipped.
        owners = {person.id} | {
            c.owner_id for c in preferences.standing_in_for(session, person.id, today)
        }
        occurrences = _own(session, owners, (c.occurrence_id for c in choices))
        choices = [c for c in choices if c.occurrence_id in occurrences]
        state = check(choices, occurrences, fields, today=today)
        if state.errors:
            web.metrics.item_posts.labels(action="bulk", outcome="invalid").inc()
            return _render(request, web, session, person, state, 400)
        result = Result()
        needs_sync = False
        for choice in choices:
            if occurrences[choice.occurrence_id].status != OPEN:
                # Closed meanwhile (another tab, a colleague): reported as already registered.
                # `check` did not read its fields, so neither may `_apply`.
                outcome = completion.Outcome(False, occurrences[choice.occurrence_id])
            else:
                outcome = _apply(session, choice, person, fields, now=now)
            needs_sync = needs_sync or outcome.needs_sync
            target = {
                "done": result.done,
                "postpone": result.postponed,
                "not_applicable": result.not_applicable,
            }[choice.action]
            (target if outcome.changed else result.already).append(outcome.occurrence)
            web.metrics.item_posts.labels(
                action=choice.action, outcome=choice.action if outcome.changed else "already"
            ).inc()
        if needs_sync:
            # Relative children ("på nästkommande APT") are due from now on, as on the item page.
            web.app.sync(session, now)
        return _render(request, web, session, person, FormState(), 200, result)


def _own(session: Session, owners: set[int], ids: Iterable[int]) -> dict[int, Occurrence]:
    wanted = set(ids)
    if not wanted:
        return {}
    found = session.scalars(
        select(Occurrence)
        .where(Occurrence.id.in_(wanted), Occurrence.person_id.in_(owners))
        .options(joinedload(Occurrence.item).joinedload(Item.plan))
    ).all()
    return {occ.id: occ for occ in found}


def _apply(
    session: Session, choice: Choice, person: Person, fields: dict[str, str], *, now: datetime
) -> completion.Outcome:
    occ_id = choice.occurrence_id
    occ = session.get(Occurrence, occ_id)
    owner = completion.stand_in_for(occ, person.id) if occ is not None else ""
    if choice.action == "done":
        return completion.mark_done(
            session,
            occ_id,
            by=person,
            on=date.fromisoformat(fields["done_on"].strip()),
            via="list",
            now=now,
            comment=fields.get("comment", ""),
            result_note=fields.get("result", ""),
            stand_in_for=owner,
        )
    reason = fields.get(f"skal-{occ_id}", "").strip()
    if choice.action == "postpone":
        to = date.fromisoformat(fields[f"nytt_datum-{occ_id}"].strip())
        if occ is not None and occ.postponed_to == to and occ.deferral_reason == reason:
            return completion.Outcome(False, occ)  # the same form sent twice
        return completion.postpone(
            session, occ_id, by=person, to=to, reason=reason, now=now, stand_in_for=owner
        )
    return completion.mark_not_applicable(
        session, occ_id, by=person, reason=reason, now=now, stand_in_for=owner
    )
