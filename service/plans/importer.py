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
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.calendar import Calendars
from service.deadlines import Deadline, PhraseError
from service.indicators import IndicatorSpec, parse_specs
from service.models import Area, AuditEntry, Item, Plan
from service.occurrences import reopen_retired
from service.plans.docx import read_docx
from service.plans.limits import Limits, file_too_big
from service.plans.phrases import PlanPeriod, parse_phrase
from service.plans.reading import reading
from service.plans.tables import ITEM_NUMBER, ReadOptions, split_roles
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
    # The plan's own columns beyond ours (Samverkanspartner, Status, …): heading -> text.
    extra: Mapping[str, str] = field(default_factory=dict)
    where: str = ""  # the item's place in the file, for the import report

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
    # What a person should look at although the plan was accepted (an item read as
    # continuous because its time cell is empty, …).
    warnings: tuple[Problem, ...] = ()
    # Which column of an Excel or Word table was read as what.
    columns: tuple[Mapping[str, str], ...] = ()
    coordinator: str = ""  # as written; who follows up items naming only external parties
    administration: str = ""  # a directory code; "" = the whole municipality
    # [[indicator]] / [[area.indicator]] of a TOML plan, or an Excel/Word Indikator column.
    indicators: tuple[IndicatorSpec, ...] = ()

    @property
    def item_count(self) -> int:
        return sum(len(a.items) for a in self.areas)


# The longest texts the store keeps in a String column; longer ones are refused, not cut.
_MAX_LENGTH = {"id": 100, "title": 300, "organisation": 200, "number": 20}
_CONTINUOUS = "Fortlöpande"


class _Fields:
    """Typed reading of one file's fields: every wrong type, control character or overlong
    text becomes a problem with its place, and the reading goes on."""

    def __init__(self, file: str, problems: list[Problem], limits: Limits) -> None:
        self.file, self.problems, self.limits = file, problems, limits

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.file, where, message))

    def text(
        self, raw: Mapping[str, Any], key: str, where: str, *, max_length: int | None = None
    ) -> str:
        value = raw.get(key, "")
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.add(where, f"{key} ska vara text, inte {_type_sv(value)}.")
            return ""
        if isinstance(value, int) and key != "number":
            self.add(where, f"{key} ska vara text, inte {_type_sv(value)}.")
            return ""
        return self.clean(str(value), where, max_length=max_length)

    def clean(self, value: str, where: str, *, max_length: int | None = None) -> str:
        found = _CONTROL.search(value)
        if found is not None:
            bad = found[0]
            self.add(
                where,
                f"texten innehåller styrtecknet U+{ord(bad):04X}, som inte kan sparas; ta bort "
                "det.",
            )
            return ""
        limit = min(max_length or self.limits.cell_chars, self.limits.cell_chars)
        if len(value) > limit:
            self.add(
                where,
                f"texten är {len(value)} tecken men får vara högst {limit}; korta den.",
            )
            return ""
        return value

    def date(self, raw: Mapping[str, Any], key: str, where: str) -> date | None:
        value = raw.get(key)
        if value is None:
            return None
        # A TOML datetime is a date too, to Python; a plan's dates have no time of day.
        if type(value) is not date:
            self.add(
                where,
                f"{key} ska vara ett datum som 2025-01-01, inte {_type_sv(value)}.",
            )
            return None
        return value

    def tables(self, raw: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            self.add(
                where,
                f"{key} ska vara en lista av tabeller ([[{key}]] eller [[area.{key}]]), inte "
                f"{_type_sv(value)}.",
            )
            return []
        return value


# What no text of a plan has: C0/C1 controls (NUL included, but not tab and line breaks), and
# lone surrogates, which PostgreSQL refuses.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _type_sv(value: Any) -> str:
    if isinstance(value, bool):
        return "ett sant/falskt-värde"
    if isinstance(value, datetime):
        return "en tidpunkt"
    if isinstance(value, date):
        return "ett datum"
    if isinstance(value, int | float):
        return f"talet {value}"
    if isinstance(value, list):
        return "en lista"
    if isinstance(value, Mapping):
        return "en tabell"
    if isinstance(value, str):
        return "text"
    return "ett värde av fel slag"


def parse_plan(data: Mapping[str, Any], file: str, options: ReadOptions | None = None) -> PlanSpec:
    """Validate a plan document; raises InputError naming the file, area, item and field."""
    options = options or ReadOptions()
    vocabulary = options.role_vocabulary
    problems: list[Problem] = list(data.get("_problems", ()))
    warnings: list[Problem] = []
    fields = _Fields(file, problems, options.limits)
    head = data.get("plan")
    if not isinstance(head, Mapping):
        raise InputError([*problems, Problem(file, "[plan]", "tabellen [plan] saknas.")])
    slug = fields.text(head, "id", _where(head, "id", "[plan] id"), max_length=100).strip()
    title = fields.text(head, "title", _where(head, "title", "[plan] title"), max_length=300)
    title = " ".join(title.split())
    if not slug or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug, re.IGNORECASE):
        problems.append(
            Problem(
                file,
                _where(head, "id", "[plan] id"),
                "id måste anges med bokstäverna a–z, siffror och bindestreck.",
            )
        )
    if not title and isinstance(head.get("title", ""), str) and not problems:
        problems.append(Problem(file, _where(head, "title", "[plan] title"), "title måste anges."))
    period = _where(head, "start", "[plan] start/end")
    mark = len(problems)
    start = fields.date(head, "start", period)
    end = fields.date(head, "end", _where(head, "end", "[plan] start/end"))
    follow = fields.date(head, "follow_from", _where(head, "follow_from", "[plan] follow_from"))
    if start is None or end is None or end < start:
        if len(problems) == mark:  # else the wrong value is named already
            problems.append(Problem(file, period, "start och end måste vara datum, start först."))
        start = end = date.min
    # Pins phrases without a year ("i maj", "nästa år"); only a valid period can.
    plan_period = PlanPeriod(start, end) if start != date.min else PlanPeriod()
    organisation = fields.text(
        head, "organisation", "[plan] organisation", max_length=_MAX_LENGTH["organisation"]
    )
    source = fields.text(head, "source", "[plan] source")
    background = fields.text(head, "background", "[plan] background").strip()
    mark = len(problems)
    raw_areas = fields.tables(data, "area", _where(head, "area", "[[area]]"))
    if not raw_areas and len(problems) == mark:
        problems.append(Problem(file, _where(head, "area", "[[area]]"), "planen har inga områden."))
    areas = []
    for a_no, raw_area in enumerate(raw_areas, start=1):
        items = []
        numbers: set[str] = set()
        at_area = _where(raw_area, "title", f"område {a_no}")
        mark = len(problems)
        raw_items = fields.tables(raw_area, "item", f"område {a_no}, [[area.item]]")
        partial = bool(raw_area.get("_partial")) or len(problems) > mark
        for raw in raw_items:
            spec = _parse_item(raw, fields, a_no, warnings, options, plan_period)
            if spec is None:
                # Reported already; its sub-steps should not be reported as orphans too.
                number = raw.get("number", "")
                numbers.add(str(number).strip() if isinstance(number, str | int) else "")
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
        area_title = " ".join(fields.text(raw_area, "title", at_area).split())
        if not area_title:
            problems.append(Problem(file, at_area, "området saknar title."))
        elif not numbers and not partial:
            problems.append(
                Problem(
                    file,
                    at_area,
                    "området har inga aktiviteter; lägg till dem eller ta bort området.",
                )
            )
        areas.append(
            AreaSpec(
                area_title,
                fields.text(raw_area, "description", at_area).strip(),
                tuple(items),
            )
        )
    coordinator = " ".join(str(head.get("coordinator", "")).split())
    found = vocabulary.match_role(coordinator) if coordinator else None
    if coordinator and (found is None or found.external is not None):
        problems.append(
            Problem(
                file,
                _where(head, "coordinator", "[plan] coordinator"),
                vocabulary.explain_unknown(coordinator),
            )
        )
    administration = str(head.get("administration", "")).strip()
    if administration and administration not in vocabulary.administrations:
        known = ", ".join(vocabulary.administrations) or "inga"
        problems.append(
            Problem(
                file,
                _where(head, "administration", "[plan] administration"),
                f"förvaltningen {administration!r} finns inte i katalogen (förvaltningar: "
                f"{known}); ange en förvaltnings code, eller ta bort raden för hela kommunen.",
            )
        )
    indicators: list[IndicatorSpec] = []
    try:
        indicators = parse_specs(data, file)
    except InputError as refused:
        problems += refused.problems
    if problems:
        raise InputError(problems)
    assert start is not None and end is not None
    return PlanSpec(
        slug=slug,
        title=title,
        organisation=organisation,
        source=source,
        background=background,
        start=start,
        end=end,
        follow_from=follow,
        areas=tuple(areas),
        warnings=tuple(warnings),
        columns=tuple(data.get("_columns", ())),
        coordinator=coordinator,
        administration=administration,
        indicators=tuple(indicators),
    )


def _where(raw: Mapping[str, Any], field: str, default: str) -> str:
    """Where a field of a plan head, area or item stands: the reader's "_where" entry if it
    gave one ("blad Plan, rad 7, cell D7"), else the TOML-style default."""
    given = raw.get("_where")
    if not isinstance(given, Mapping):
        return default
    return str(given.get(field) or default)


def _parse_item(
    raw: Mapping[str, Any],
    fields: _Fields,
    area_no: int,
    warnings: list[Problem],
    options: ReadOptions,
    period: PlanPeriod,
) -> ItemSpec | None:
    problems, file = fields.problems, fields.file
    raw_number = raw.get("number", "")
    shown = str(raw_number).strip() if isinstance(raw_number, str | int) else "?"
    item = _where(raw, "item", f"område {area_no}, aktivitet {shown or '?'}")
    before = len(problems)
    number = fields.text(raw, "number", _where(raw, "number", item), max_length=20).strip()
    if len(problems) == before and not ITEM_NUMBER.fullmatch(number):
        problems.append(
            Problem(
                file,
                _where(raw, "number", item),
                f'number {number!r} ska vara t.ex. "1" eller "1.2", med siffrorna 0–9.',
            )
        )
    at_title = _where(raw, "title", f"{item}, kolumn Åtgärd/aktivitet")
    mark = len(problems)
    title = " ".join(fields.text(raw, "title", at_title).split())
    if not title and len(problems) == mark:
        problems.append(Problem(file, at_title, "texten saknas."))
    column_ansvarig = _where(raw, "responsible", f"{item}, kolumn Ansvarig")
    responsible = raw.get("responsible", [])
    if isinstance(responsible, str):
        # One cell as written: "Rektor samt HR-konsult" names two parties.
        responsible = split_roles(responsible)
    if not isinstance(responsible, list) or not all(isinstance(r, str) for r in responsible):
        problems.append(
            Problem(
                file,
                column_ansvarig,
                f"responsible ska vara en roll eller en lista med roller, inte "
                f"{_type_sv(responsible)}.",
            )
        )
        responsible = []
    elif not responsible:
        problems.append(Problem(file, column_ansvarig, "ansvarig saknas."))
    vocabulary = options.role_vocabulary
    written_roles = vocabulary.rejoin([fields.clean(r, column_ansvarig) for r in responsible])
    canonical = []
    for written in written_roles:
        match = vocabulary.match_role(written) if written else None
        if written and match is None:
            problems.append(Problem(file, column_ansvarig, vocabulary.explain_unknown(written)))
        elif match is not None and match.external is None:
            canonical.append(match.key)
    at_deadline = _where(raw, "deadline", f"{item}, kolumn Klart när?")
    mark = len(problems)
    phrase = fields.text(raw, "deadline", at_deadline).strip()
    cadence = " ".join(
        fields.text(raw, "cadence", _where(raw, "cadence", f"{item}, cadence")).split()
    )
    deadline: Deadline | None = None
    if not phrase and len(problems) == mark:
        if options.strict:
            problems.append(
                Problem(
                    file,
                    at_deadline,
                    "tidsangivelse saknas (--strict); skriv när aktiviteten ska vara klar, "
                    f"t.ex. ”December 2025” eller ”{_CONTINUOUS}”.",
                )
            )
        else:
            warnings.append(
                Problem(
                    file,
                    at_deadline,
                    "tidsangivelse saknas; aktiviteten följs upp som fortlöpande (en "
                    "avstämning per termin).",
                )
            )
            deadline = read_deadline(_CONTINUOUS, period)
    elif phrase:
        try:
            deadline = read_deadline(phrase, period)
        except PhraseError as exc:
            problems.append(
                Problem(file, at_deadline, f"okänd tidsangivelse {phrase!r}: {exc.reason}.")
            )
    if cadence:
        # The activity text's cadence ("Två gånger per termin …") gives the meaning.
        try:
            deadline = read_deadline(cadence, period)
        except PhraseError as exc:
            problems.append(
                Problem(
                    file,
                    _where(raw, "cadence", f"{item}, cadence"),
                    f"okänd tidsangivelse {cadence!r}: {exc.reason}.",
                )
            )
    checked = fields.text(raw, "checked", f"{item}, kolumn Kontroll utfört")
    note = fields.text(raw, "note", f"{item}, note")
    extra = _extra(raw, fields, item)
    if len(problems) > before or deadline is None:
        return None
    return ItemSpec(
        number=number,
        title=title,
        responsible=tuple(written_roles),
        roles=tuple(dict.fromkeys(canonical)),
        deadline_phrase=phrase,
        cadence_phrase=cadence,
        deadline=deadline,
        checked=checked,
        note=note,
        extra=extra,
        where=item,
    )


def _extra(raw: Mapping[str, Any], fields: _Fields, item: str) -> dict[str, str]:
    value = raw.get("extra", {})
    where = f"{item}, extra"
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        fields.add(where, f"extra ska vara en tabell med text, inte {_type_sv(value)}.")
        return {}
    return {
        fields.clean(k, where, max_length=300): fields.clean(v, f"{item}, kolumn {k}")
        for k, v in value.items()
    }


def read_deadline(phrase: str, period: PlanPeriod) -> Deadline:
    """The one place a deadline phrase is read at import; the plan's period pins phrases
    without a year."""
    return parse_phrase(phrase, plan_start=period.start, plan_end=period.end)


def deadline_report(
    item: ItemSpec, plan: PlanSpec, calendars: Calendars | None = None
) -> dict[str, Any]:
    """The deadline of an item as the import report shows it: the same reading as
    `bevakning deadline --json` (kind, due, period, interval, times, after, text, …)."""
    return {
        "phrase": item.deadline_phrase,
        "cadence": item.cadence_phrase or None,
        **reading(
            item.deadline,
            today=plan.start,
            plan_start=plan.start,
            plan_end=plan.end,
            calendars=calendars,
            has_parent=item.parent_number is not None,
        ),
    }


def read_plan_file(
    path: Path, display: str | None = None, options: ReadOptions | None = None
) -> tuple[PlanSpec, str]:
    """The parsed plan (TOML, Excel or Word, by the file's suffix) and the hash of its bytes."""
    options = options or ReadOptions()
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
        size = path.stat().st_size
        # Checked before reading, so a huge file costs nothing.
        if size > options.limits.file_bytes:
            raise InputError([file_too_big(file, size, options.limits)])
        content = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(file, "", "filen finns inte.")]) from None
    except IsADirectoryError:
        raise InputError([Problem(file, "", "det är en mapp, inte en fil.")]) from None
    data = reader(content, file, options)
    return parse_plan(data, file, options), hashlib.sha256(content).hexdigest()


def _read_toml(content: bytes, file: str, options: ReadOptions) -> dict[str, Any]:
    if len(content) > options.limits.file_bytes:
        raise InputError([file_too_big(file, len(content), options.limits)])
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError([Problem(file, "", "filen är inte UTF-8.")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(file, "", f"ogiltig TOML: {exc}.")]) from None
    internal = _internal_keys(data, "")
    if internal:
        raise InputError(
            [
                Problem(
                    file,
                    key,
                    "nycklar som börjar med _ används av inläsningen själv och får inte stå i "
                    "filen; ta bort nyckeln.",
                )
                for key in internal
            ]
        )
    return data


def _internal_keys(value: Any, path: str) -> list[str]:
    """Keys starting with "_" anywhere in the document (the readers' own "_where" and
    "_problems" must come from a reader, never from a file)."""
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, inner in value.items():
            at = f"{path}.{key}" if path else str(key)
            if str(key).startswith("_"):
                found.append(at)
            else:
                found += _internal_keys(inner, at)
    elif isinstance(value, list):
        for n, inner in enumerate(value, start=1):
            found += _internal_keys(inner, f"{path}[{n}]")
    return found


def _readers() -> dict[str, Callable[[bytes, str, ReadOptions], dict[str, Any]]]:
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
    """Create or update the plan. Items are matched by their area (see match_areas) and number
    so their occurrences and done records survive a re-import; items no longer in the file are
    retired."""
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
    plan.coordinator, plan.administration = spec.coordinator, spec.administration
    if spec.follow_from:
        plan.follow_from = spec.follow_from
    plan.source_file, plan.source_hash, plan.imported_at = source_file, source_hash, now
    session.flush()
    stored = sorted(
        session.scalars(select(Area).where(Area.plan_id == plan.id)), key=lambda a: a.position
    )
    matched = match_areas([a.title for a in stored], [a.title for a in spec.areas])
    # Positions are unique per plan: every stored area steps aside before taking its new one,
    # and an area the file no longer has goes after the file's (its items are retired below).
    for area in stored:
        area.position = -area.id
    session.flush()
    unmatched = [a for n, a in enumerate(stored) if n not in matched.values()]
    for n, area in enumerate(unmatched, start=len(spec.areas) + 1):
        area.position = n
    existing = {
        (i.area_id, i.number): i
        for i in session.scalars(select(Item).where(Item.plan_id == plan.id))
    }
    seen: set[tuple[int, str]] = set()
    added = updated = 0
    position = 0
    for a_no, area_spec in enumerate(spec.areas):
        a_pos = a_no + 1
        if a_no in matched:
            area = stored[matched[a_no]]
            area.position = a_pos
        else:
            area = Area(plan_id=plan.id, position=a_pos, title=area_spec.title)
            session.add(area)
        area.title, area.description = area_spec.title, area_spec.description
        session.flush()
        by_number: dict[str, Item] = {}
        for item_spec in area_spec.items:
            position += 1
            key = (area.id, item_spec.number)
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
            item.extra = dict(item_spec.extra)
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


def match_areas(stored: Sequence[str], wanted: Sequence[str]) -> dict[int, int]:
    """Pure: which stored area (index in `stored`, by position) each area of the file (index
    in `wanted`) continues. By title first (case and spacing aside), so an area taken out or
    moved does not shift the done records of those after it onto other activities; then, for
    a renamed area, the stored one at the same place if no other area took it."""

    def norm(title: str) -> str:
        return " ".join(title.split()).casefold()

    free: dict[str, list[int]] = {}
    for n, title in enumerate(stored):
        free.setdefault(norm(title), []).append(n)  # two equal titles: in their order
    out: dict[int, int] = {}
    for w, title in enumerate(wanted):
        if free.get(norm(title)):
            out[w] = free[norm(title)].pop(0)
    taken = set(out.values())
    for w in range(min(len(wanted), len(stored))):
        if w not in out and w not in taken:
            out[w] = w
            taken.add(w)
    return out


def plan_files(folder: Path) -> Sequence[Path]:
    return sorted(
        p
        for p in folder.glob("*")
        if p.suffix.lower() in (".toml", ".xlsx", ".docx")
        and p.name not in ("directory.toml", "calendars.toml")
        and not p.name.startswith("~$")  # Office's lock file while the plan is open
    )
