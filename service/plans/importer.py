"""Plans from the project's TOML format (and, through plans/xlsx.py and plans/docx.py, from Excel
and Word) into the store.

Parsing is pure and collects every problem with its place; storing happens only when the whole
file is right, so a bad file changes nothing. The Excel and Word readers produce the same dict
as the TOML file, plus two keys only they use: "_where" (on the plan head, an area or an item)
maps a field to its place in the source ("blad Plan, rad 7, cell D7"), and "_problems" carries
what the reader itself found wrong, so that one run still lists every problem.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import roles
from service.deadlines import Deadline, PhraseError
from service.models import Area, AuditEntry, Item, Plan
from service.occurrences import reopen_retired
from service.plans.docx import read_docx
from service.plans.phrases import parse_phrase
from service.plans.xlsx import read_xlsx
from service.problems import InputError, Problem


@dataclass(frozen=True)
class ItemSpec:
    number: str
    title: str
    responsible: tuple[str, ...]  # as written
    roles: tuple[str, ...]  # canonical
    deadline_phrase: str
    cadence_phrase: str
    deadline: Deadline
    checked: str = ""
    note: str = ""

    @property
    def parent_number(self) -> str | None:
        return self.number.rsplit(".", 1)[0] if "." in self.number else None


@dataclass(frozen=True)
class AreaSpec:
    title: str
    description: str
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class PlanSpec:
    slug: str
    title: str
    organisation: str
    source: str
    background: str
    start: date
    end: date
    follow_from: date | None
    areas: tuple[AreaSpec, ...]

    @property
    def item_count(self) -> int:
        return sum(len(a.items) for a in self.areas)


def parse_plan(data: Mapping[str, Any], file: str) -> PlanSpec:
    """Validate a plan document; raises InputError naming the file, area, item and field."""
    problems: list[Problem] = list(data.get("_problems", ()))
    head = data.get("plan")
    if not isinstance(head, Mapping):
        raise InputError([*problems, Problem(file, "[plan]", "tabellen [plan] saknas.")])
    slug = str(head.get("id", "")).strip()
    title = str(head.get("title", "")).strip()
    if not slug or not slug.replace("-", "").isalnum():
        problems.append(
            Problem(
                file,
                _where(head, "id", "[plan] id"),
                "id måste anges med bokstäver, siffror och bindestreck.",
            )
        )
    if not title:
        problems.append(Problem(file, _where(head, "title", "[plan] title"), "title måste anges."))
    start, end, follow = head.get("start"), head.get("end"), head.get("follow_from")
    if not isinstance(start, date) or not isinstance(end, date) or end < start:
        problems.append(
            Problem(
                file,
                _where(head, "start/end", "[plan] start/end"),
                "start och end måste vara datum, start först.",
            )
        )
        start = end = date.min
    if follow is not None and not isinstance(follow, date):
        problems.append(
            Problem(
                file,
                _where(head, "follow_from", "[plan] follow_from"),
                "follow_from måste vara ett datum.",
            )
        )
        follow = None
    raw_areas = data.get("area", [])
    if not isinstance(raw_areas, list) or not raw_areas:
        problems.append(Problem(file, _where(head, "area", "[[area]]"), "planen har inga områden."))
        raw_areas = []
    areas = []
    for a_no, raw_area in enumerate(raw_areas, start=1):
        items = []
        numbers: set[str] = set()
        for raw in raw_area.get("item", []):
            spec = _parse_item(raw, file, a_no, problems)
            if spec is None:
                # Reported already; its sub-steps should not be reported as orphans too.
                numbers.add(str(raw.get("number", "")).strip())
                continue
            where = _where(raw, "item", f"område {a_no}, aktivitet {spec.number}")
            if spec.number in numbers:
                problems.append(Problem(file, where, "numret finns redan i området."))
            elif spec.parent_number and spec.parent_number not in numbers:
                problems.append(
                    Problem(
                        file,
                        where,
                        f"delsteget saknar sin aktivitet {spec.parent_number} före sig.",
                    )
                )
            numbers.add(spec.number)
            items.append(spec)
        if not str(raw_area.get("title", "")).strip():
            where = _where(raw_area, "title", f"område {a_no}")
            problems.append(Problem(file, where, "området saknar title."))
        areas.append(
            AreaSpec(
                str(raw_area.get("title", "")).strip(),
                str(raw_area.get("description", "")).strip(),
                tuple(items),
            )
        )
    if problems:
        raise InputError(problems)
    assert isinstance(start, date) and isinstance(end, date)
    return PlanSpec(
        slug=slug,
        title=title,
        organisation=str(head.get("organisation", "")),
        source=str(head.get("source", "")),
        background=str(head.get("background", "")).strip(),
        start=start,
        end=end,
        follow_from=follow,
        areas=tuple(areas),
    )


def _where(raw: Mapping[str, Any], field: str, default: str) -> str:
    """Where a field of a plan head, area or item stands: the reader's "_where" entry if it
    gave one ("blad Plan, rad 7, cell D7"), else the TOML-style default."""
    given = raw.get("_where") or {}
    return str(given.get(field) or default)


def _parse_item(
    raw: Mapping[str, Any], file: str, area_no: int, problems: list[Problem]
) -> ItemSpec | None:
    number = str(raw.get("number", "")).strip()
    item = _where(raw, "item", f"område {area_no}, aktivitet {number or '?'}")
    before = len(problems)
    if not number or not all(part.isdigit() for part in number.split(".")):
        problems.append(
            Problem(
                file,
                _where(raw, "number", item),
                f'number {number!r} ska vara t.ex. "1" eller "1.2".',
            )
        )
    title = " ".join(str(raw.get("title", "")).split())
    if not title:
        problems.append(
            Problem(
                file, _where(raw, "title", f"{item}, kolumn Åtgärd/aktivitet"), "texten saknas."
            )
        )
    responsible = raw.get("responsible", [])
    if isinstance(responsible, str):
        responsible = [responsible]
    canonical = []
    column_ansvarig = _where(raw, "responsible", f"{item}, kolumn Ansvarig")
    if not responsible:
        problems.append(Problem(file, column_ansvarig, "ansvarig saknas."))
    for written in responsible:
        role = roles.canonical_role(str(written))
        if role is None:
            problems.append(Problem(file, column_ansvarig, f"okänd roll {written!r}."))
        else:
            canonical.append(role)
    phrase = str(raw.get("deadline", "")).strip()
    cadence = " ".join(str(raw.get("cadence", "")).split())
    deadline: Deadline | None = None
    try:
        deadline = parse_phrase(phrase)
    except PhraseError as exc:
        problems.append(
            Problem(
                file,
                _where(raw, "deadline", f"{item}, kolumn Klart när?"),
                f"okänd tidsangivelse {phrase!r}: {exc.reason}.",
            )
        )
    if cadence:
        # The activity text's cadence ("Två gånger per termin …") gives the meaning.
        try:
            deadline = parse_phrase(cadence)
        except PhraseError as exc:
            problems.append(
                Problem(
                    file,
                    _where(raw, "cadence", f"{item}, cadence"),
                    f"okänd tidsangivelse {cadence!r}: {exc.reason}.",
                )
            )
    if len(problems) > before or deadline is None:
        return None
    return ItemSpec(
        number=number,
        title=title,
        responsible=tuple(str(r) for r in responsible),
        roles=tuple(dict.fromkeys(canonical)),
        deadline_phrase=phrase,
        cadence_phrase=cadence,
        deadline=deadline,
        checked=str(raw.get("checked", "")),
        note=str(raw.get("note", "")),
    )


def read_plan_file(path: Path, display: str | None = None) -> tuple[PlanSpec, str]:
    """The parsed plan (TOML, Excel or Word, by the file's suffix) and the hash of its bytes."""
    file = display or str(path)
    reader = _readers().get(path.suffix.lower())
    if reader is None:
        raise InputError(
            [
                Problem(
                    file,
                    "",
                    f"filtypen {path.suffix or '(ingen)'} går inte att läsa in som plan; "
                    "spara planen som .xlsx eller .docx, eller skriv den som .toml.",
                )
            ]
        )
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(file, "", "filen finns inte.")]) from None
    return parse_plan(reader(content, file), file), hashlib.sha256(content).hexdigest()


def plan_document(path: Path, display: str) -> dict[str, Any]:
    """The file as the readers give it (before parsing), for sections beyond the plan table."""
    reader = _readers()[path.suffix.lower()]
    return reader(path.read_bytes(), display)


def _read_toml(content: bytes, file: str) -> dict[str, Any]:
    try:
        return tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError([Problem(file, "", "filen är inte UTF-8.")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(file, "", f"ogiltig TOML: {exc}.")]) from None


def _readers() -> dict[str, Callable[[bytes, str], dict[str, Any]]]:
    return {".toml": _read_toml, ".xlsx": read_xlsx, ".docx": read_docx}


@dataclass(frozen=True)
class ImportResult:
    plan: str
    created: bool
    items_added: int
    items_updated: int
    items_retired: int


def store_plan(
    session: Session,
    spec: PlanSpec,
    *,
    now: datetime,
    today: date,
    source_file: str = "",
    source_hash: str = "",
    actor: str = "import",
) -> ImportResult:
    """Create or update the plan. Items are matched by (area position, number) so their
    occurrences and done records survive a re-import; items no longer in the file are retired."""
    plan = session.scalar(select(Plan).where(Plan.slug == spec.slug))
    created = plan is None
    if plan is None:
        plan = Plan(
            slug=spec.slug,
            imported_at=now,
            follow_from=spec.follow_from or today,
            start=spec.start,
            end=spec.end,
            title=spec.title,
        )
        session.add(plan)
    plan.title, plan.organisation, plan.source = spec.title, spec.organisation, spec.source
    plan.background, plan.start, plan.end = spec.background, spec.start, spec.end
    if spec.follow_from:
        plan.follow_from = spec.follow_from
    plan.source_file, plan.source_hash, plan.imported_at = source_file, source_hash, now
    session.flush()
    areas = {a.position: a for a in session.scalars(select(Area).where(Area.plan_id == plan.id))}
    existing = {
        (i.area.position, i.number): i
        for i in session.scalars(select(Item).where(Item.plan_id == plan.id))
    }
    seen: set[tuple[int, str]] = set()
    added = updated = 0
    position = 0
    for a_pos, area_spec in enumerate(spec.areas, start=1):
        area = areas.get(a_pos)
        if area is None:
            area = Area(plan_id=plan.id, position=a_pos, title=area_spec.title)
            session.add(area)
        area.title, area.description = area_spec.title, area_spec.description
        session.flush()
        by_number: dict[str, Item] = {}
        for item_spec in area_spec.items:
            position += 1
            key = (a_pos, item_spec.number)
            seen.add(key)
            item = existing.get(key)
            if item is None:
                item = Item(plan_id=plan.id, area_id=area.id, number=item_spec.number)
                session.add(item)
                added += 1
            else:
                updated += 1
                if not item.active:  # back in the plan after a re-import retired it
                    reopen_retired(session, item.id, now, today)
            item.position = position
            item.parent_id = (
                by_number[item_spec.parent_number].id if item_spec.parent_number else None
            )
            item.title = item_spec.title
            item.responsible = list(item_spec.responsible)
            item.deadline_phrase = item_spec.deadline_phrase
            item.cadence_phrase = item_spec.cadence_phrase
            item.deadline_kind = item_spec.deadline.kind.value
            item.deadline_json = item_spec.deadline.to_json()
            item.checked, item.note, item.active = item_spec.checked, item_spec.note, True
            session.flush()
            by_number[item_spec.number] = item
    retired = 0
    for key, item in existing.items():
        if key not in seen and item.active:
            item.active = False
            retired += 1
    session.add(
        AuditEntry(
            at=now,
            actor=actor,
            action="plan.import",
            detail={
                "plan": spec.slug,
                "file": source_file,
                "added": added,
                "updated": updated,
                "retired": retired,
            },
        )
    )
    session.flush()
    return ImportResult(spec.slug, created, added, updated, retired)


def plan_files(folder: Path) -> Sequence[Path]:
    return sorted(
        p
        for p in folder.glob("*")
        if p.suffix.lower() in (".toml", ".xlsx", ".docx")
        and p.name not in ("directory.toml", "calendars.toml")
        and not p.name.startswith("~$")  # Office's lock file while the plan is open
    )
