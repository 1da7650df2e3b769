"""Indicators: did the plan make a difference? Definitions come from the plan file, values from
the dashboard or a CSV/xlsx import. A recorded value is never deleted or overwritten by an
import: a second value for the same indicator and day is reported and left out."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Area, AuditEntry, Indicator, IndicatorValue, Plan
from service.problems import InputError, Problem

HIGHER = ("högre", "higher")
LOWER = ("lägre", "lower")
VALUE_COLUMNS = ("indikator", "datum", "värde", "kommentar")


@dataclass(frozen=True)
class IndicatorSpec:
    name: str
    area_position: int | None
    unit: str
    higher_is_better: bool
    target: float | None
    values: tuple[tuple[date, float, str], ...] = ()
    where: str = ""  # its place in the file, for the import report
    # What the file stated besides the name ("unit", "target", "direction"): the import says
    # what it read and what it assumed.
    stated: tuple[str, ...] = ("unit", "target", "direction")

    def read_sv(self) -> str:
        """What the import read, in Swedish: "mål 70, högre är bättre" or what is missing."""
        parts = []
        if self.unit:
            parts.append(f"enhet {self.unit}")
        if self.target is not None:
            parts.append(f"mål {_number(self.target)}")
        direction = "högre är bättre" if self.higher_is_better else "lägre är bättre"
        if "direction" in self.stated:
            parts.append(direction)
        else:
            parts.append(f"{direction} (antaget)")
        if "target" not in self.stated and "unit" not in self.stated:
            parts.append(
                "bara namnet stod i cellen; skriv t.ex. ”Namn (mål 70, högre är bättre)” "
                "för mål och riktning"
            )
        return ", ".join(parts)


# The cell of an Indikator/Uppföljning column (service/plans/headers.toml): one indicator per
# line, "Namn" or "Namn (mål 70, högre är bättre)". The parentheses at the end are read as
# settings when one of their parts starts with one of these words; then every part must be one.
_SETTING_WORDS = ("mål", "målvärde", "enhet", "högre", "lägre")
_TRAILING = re.compile(r"^(?P<name>.*?)\s*\((?P<settings>[^()]*)\)\s*\.?$", re.DOTALL)
_PART_SPLIT = re.compile(r"\s*(?:;|,(?!\d))\s*")  # "mål 6,5, lägre": the decimal comma stays
_TARGET = re.compile(
    r"^(?:mål|målvärde)\s*:?\s*(?P<number>[-+]?\d[\d  ]*(?:[.,]\d+)?)\s*(?P<unit>\S.*)?$",
    re.IGNORECASE,
)
_UNIT = re.compile(r"^enhet\s*:?\s*(?P<unit>\S.*)$", re.IGNORECASE)
_DIRECTION = re.compile(r"^(?P<way>högre|lägre)(?:\s+(?:är\s+)?bättre)?$", re.IGNORECASE)
CELL_EXAMPLE = "”Tillitsindex i medarbetarenkäten (mål 70, högre är bättre)”"
NAME_CHARS, UNIT_CHARS = 200, 40


def read_cell_line(line: str) -> dict[str, Any]:
    """One indicator as an Indikator cell writes it, in the shape of a plan file's
    [[area.indicator]] (name, unit, direction, target; "_stated" lists what the cell said).
    Raises ValueError with a Swedish message saying what to write instead."""
    text = " ".join(line.split())
    name, settings = text, ""
    if (found := _TRAILING.match(text)) is not None:
        parts = [p for p in _PART_SPLIT.split(found["settings"].strip()) if p]
        if any(p.lower().startswith(_SETTING_WORDS) for p in parts):
            name, settings = found["name"].strip(), found["settings"]
    if not name:
        raise ValueError(f"indikatorn saknar namn; skriv namnet först, t.ex. {CELL_EXAMPLE}.")
    if len(name) > NAME_CHARS:
        raise ValueError(
            f"indikatorns namn har {len(name)} tecken (högst {NAME_CHARS}); korta namnet."
        )
    out: dict[str, Any] = {"name": name, "_stated": []}
    for part in (p for p in _PART_SPLIT.split(settings.strip()) if p):
        if (target := _TARGET.match(part)) is not None:
            if "target" in out:
                raise ValueError(
                    f"målet står två gånger i ”{text}”; skriv ett mål, t.ex. {CELL_EXAMPLE}."
                )
            out["target"] = float(re.sub(r"[  ]", "", target["number"]).replace(",", "."))
            out["_stated"].append("target")
            if target["unit"]:
                out.setdefault("unit", target["unit"].strip())
                out["_stated"].append("unit")
        elif (unit := _UNIT.match(part)) is not None:
            out["unit"] = unit["unit"].strip()
            out["_stated"].append("unit")
        elif (way := _DIRECTION.match(part)) is not None:
            out["direction"] = way["way"].lower()
            out["_stated"].append("direction")
        else:
            raise ValueError(
                f"delen ”{part}” i ”{text}” går inte att läsa; inom parentesen kan stå "
                "”mål 70” (ett tal, gärna med enhet: ”mål 6,5 %”), ”enhet %” och ”högre är "
                f"bättre” eller ”lägre är bättre”, t.ex. {CELL_EXAMPLE}."
            )
    if len(str(out.get("unit", ""))) > UNIT_CHARS:
        raise ValueError(f"enheten i ”{text}” är längre än {UNIT_CHARS} tecken; korta den.")
    return out


@dataclass(frozen=True)
class ValueRow:
    indicator: str
    on: date
    value: float
    comment: str
    where: str


@dataclass(frozen=True)
class Shown:
    """An indicator as the report and the dashboard show it."""

    name: str
    unit: str
    higher_is_better: bool
    target: float | None
    values: tuple[tuple[date, float, str], ...]
    id: int = 0

    @property
    def line(self) -> str:
        """ "Tillitsindex 61 → 67 (mål 70)"."""
        numbers = " → ".join(_number(v) for _, v, _ in self.values) or "inga mätvärden ännu"
        unit = f" {self.unit}" if self.unit and self.values else ""
        target = f", mål {_number(self.target)}" if self.target is not None else ""
        return f"{self.name} {numbers}{unit}{target}"

    @property
    def reached(self) -> bool | None:
        if self.target is None or not self.values:
            return None
        last = self.values[-1][1]
        return last >= self.target if self.higher_is_better else last <= self.target


def cell_text(shown: Shown) -> str:
    """An indicator as an Indikator cell writes it (read_cell_line reads it back): the plan
    exported as xlsx imports again with its areas' indicators."""
    parts = [f"enhet {shown.unit}"] if shown.unit else []
    if shown.target is not None:
        parts.append(f"mål {_number(shown.target)}")
    parts.append("högre är bättre" if shown.higher_is_better else "lägre är bättre")
    return f"{shown.name} ({', '.join(parts)})"


def _number(value: float) -> str:
    return (f"{value:.1f}".rstrip("0").rstrip(".")).replace(".", ",")


def parse_specs(data: Mapping[str, Any], file: str) -> list[IndicatorSpec]:
    """`[[indicator]]` (the whole plan) and `[[area.indicator]]` sections of a plan document:
    a plan TOML, or what the Excel and Word readers made of an Indikator column (read_cell_line).
    A name is one indicator in the whole plan."""
    out: list[IndicatorSpec] = []
    problems: list[Problem] = []
    sources: list[tuple[int | None, Mapping[str, Any], str]] = [
        (None, raw, f"indikator {n}")
        for n, raw in enumerate(_tables(data, "indicator", "[[indicator]]", file, problems), 1)
    ]
    areas = data.get("area", [])
    for area_no, area in enumerate(areas if isinstance(areas, list) else [], 1):
        if not isinstance(area, Mapping):
            continue  # the plan's own reading names it
        where_area = f"område {area_no}, [[area.indicator]]"
        for n, raw in enumerate(_tables(area, "indicator", where_area, file, problems), 1):
            sources.append((area_no, raw, f"område {area_no}, indikator {n}"))
    seen: dict[str, str] = {}
    for position, raw, numbered in sources:
        given = raw.get("_where")
        where = str(given.get("indicator", "")) if isinstance(given, Mapping) else ""
        where = where or numbered
        name, direction = raw.get("name", ""), raw.get("direction", "högre")
        unit, target = raw.get("unit", ""), raw.get("target")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(file, where, "namn (name) saknas; skriv det som text."))
            continue
        name = name.strip()
        if name.lower() in seen:
            problems.append(
                Problem(
                    file,
                    where,
                    f"indikatorn ”{name}” finns redan ({seen[name.lower()]}); en indikator hör "
                    "till ett område: skriv den en gång, eller ge den ett eget namn per område.",
                )
            )
            continue
        seen[name.lower()] = where
        if not isinstance(direction, str) or direction.strip().lower() not in HIGHER + LOWER:
            problems.append(
                Problem(file, where, f"riktning {direction!r}; skriv ”högre” eller ”lägre”.")
            )
            continue
        if not isinstance(unit, str) or not _number_or_none(target):
            problems.append(
                Problem(file, where, "unit ska vara text och target ett tal, t.ex. target = 70.")
            )
            continue
        values: list[tuple[date, float, str]] = []
        for v in _tables(raw, "value", f"{where}, value", file, problems):
            on, value = v.get("date"), v.get("value")
            if (
                not isinstance(on, date)
                or isinstance(on, datetime)
                or not isinstance(value, int | float)
                or not _number_or_none(value)
            ):
                problems.append(
                    Problem(
                        file,
                        f"{where}, value",
                        "varje mätvärde behöver date (ÅÅÅÅ-MM-DD) och value (ett tal).",
                    )
                )
                continue
            values.append((on, float(value), str(v.get("comment", ""))))
        stated = raw.get("_stated")
        out.append(
            IndicatorSpec(
                name=name,
                area_position=position,
                unit=unit,
                higher_is_better=direction.strip().lower() in HIGHER,
                target=float(target) if target is not None else None,
                values=tuple(values),
                where=where,
                stated=tuple(stated)
                if isinstance(stated, list)
                else tuple(k for k in ("unit", "target", "direction") if k in raw),
            )
        )
    if problems:
        raise InputError(problems)
    return out


def _tables(
    data: Mapping[str, Any], key: str, where: str, file: str, problems: list[Problem]
) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        problems.append(Problem(file, where, f"{key} ska vara en lista av tabeller ([[…]])."))
        return []
    return value


def _number_or_none(value: object) -> bool:
    if value is None:
        return True
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and math.isfinite(value)  # type: ignore[arg-type]


def store_specs(
    session: Session, plan: Plan, specs: Sequence[IndicatorSpec], *, now: datetime, actor: str
) -> int:
    """Define or update the plan's indicators; add values for days not yet recorded."""
    areas = {a.position: a.id for a in session.scalars(select(Area).where(Area.plan_id == plan.id))}
    added = 0
    for spec in specs:
        indicator = session.scalars(
            select(Indicator).where(Indicator.plan_id == plan.id, Indicator.name == spec.name)
        ).one_or_none()
        if indicator is None:
            indicator = Indicator(plan_id=plan.id, name=spec.name)
            session.add(indicator)
        indicator.area_id = areas.get(spec.area_position) if spec.area_position else None
        indicator.unit = spec.unit
        indicator.higher_is_better = spec.higher_is_better
        indicator.target = spec.target
        session.flush()
        for on, value, comment in spec.values:
            added += add_value(session, indicator, on, value, comment, actor=actor, now=now)
    return added


def add_value(
    session: Session,
    indicator: Indicator,
    on: date,
    value: float,
    comment: str,
    *,
    actor: str,
    now: datetime,
    audit: bool = False,
) -> int:
    """1 if the value was recorded, 0 if the day already has one (which is kept). With `audit`
    (a person entering it on the dashboard) a recorded value is also audited under `actor`:
    the admin's "admin:…", a head's e-mail."""
    exists = session.scalars(
        select(IndicatorValue.id).where(
            IndicatorValue.indicator_id == indicator.id, IndicatorValue.measured_on == on
        )
    ).first()
    if exists is not None:
        return 0
    session.add(
        IndicatorValue(
            indicator_id=indicator.id,
            measured_on=on,
            value=value,
            comment=comment.strip(),
            recorded_by=actor,
            recorded_at=now,
        )
    )
    if audit:
        session.add(
            AuditEntry(
                at=now,
                actor=actor,
                action="indicator.value",
                occurrence_id=None,
                detail={
                    "indicator_id": indicator.id,
                    "indicator": indicator.name,
                    "plan_id": indicator.plan_id,
                    "on": on.isoformat(),
                    "value": value,
                },
            )
        )
    session.flush()
    return 1


def read_values(path: Path, display: str) -> list[ValueRow]:
    """The rows of a CSV (`;` or `,`) or xlsx file with indikator, datum, värde, kommentar."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        grid = [list(r) for r in sheet.iter_rows(values_only=True)]
        sheet_name = f"blad {sheet.title}, "
    else:
        text = path.read_text(encoding="utf-8-sig")
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=";,\t")
        grid = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
        sheet_name = ""
    if not grid:
        raise InputError([Problem(display, "rad 1", "filen är tom.")])
    header = [str(c or "").strip().lower() for c in grid[0]]
    missing = [c for c in VALUE_COLUMNS[:3] if c not in header]
    if missing:
        raise InputError(
            [
                Problem(
                    display,
                    f"{sheet_name}rad 1",
                    f"kolumnen {', '.join(missing)} saknas; rubrikraden ska vara "
                    "indikator, datum, värde, kommentar.",
                )
            ]
        )
    at = {name: header.index(name) for name in VALUE_COLUMNS if name in header}
    rows: list[ValueRow] = []
    problems: list[Problem] = []
    for number, raw in enumerate(grid[1:], 2):
        cells = [*raw, *[None] * len(header)]
        if not any(c not in (None, "") for c in raw):
            continue
        where = f"{sheet_name}rad {number}"
        name = str(cells[at["indikator"]] or "").strip()
        on = _date(cells[at["datum"]])
        value = _float(cells[at["värde"]])
        comment = str(cells[at["kommentar"]] or "") if "kommentar" in at else ""
        if not name or on is None or value is None:
            problems.append(
                Problem(
                    display,
                    where,
                    "indikator, datum (ÅÅÅÅ-MM-DD) och värde (ett tal) behövs på varje rad.",
                )
            )
            continue
        rows.append(ValueRow(name, on, value, comment, where))
    if problems:
        raise InputError(problems)
    return rows


def _date(cell: object) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    try:
        return date.fromisoformat(str(cell).strip())
    except ValueError:
        return None


def parse_number(text: str) -> float | None:
    """A value as people type it: "67", "67,5", "1 200"."""
    return _float(text)


def _float(cell: object) -> float | None:
    """A finite number, or None: float() also reads "nan" and "inf", which no indicator has
    (and "nan" broke the comparison with the previous value)."""
    if isinstance(cell, int | float):
        number = float(cell)
    else:
        try:
            number = float(str(cell).strip().replace(",", ".").replace(" ", ""))
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def import_values(
    session: Session,
    plan: Plan,
    rows: Sequence[ValueRow],
    display: str,
    *,
    actor: str,
    now: datetime,
) -> tuple[int, int]:
    """(added, already recorded); an unknown indicator is an error and nothing changes."""
    known = {
        i.name.lower(): i
        for i in session.scalars(select(Indicator).where(Indicator.plan_id == plan.id))
    }
    unknown = [r for r in rows if r.indicator.lower() not in known]
    if unknown:
        names = ", ".join(sorted(known_name.name for known_name in known.values())) or "inga"
        raise InputError(
            [
                Problem(
                    display,
                    r.where,
                    f"okänd indikator {r.indicator!r} i planen {plan.slug}; kända: {names}.",
                )
                for r in unknown
            ]
        )
    added = sum(
        add_value(
            session, known[r.indicator.lower()], r.on, r.value, r.comment, actor=actor, now=now
        )
        for r in rows
    )
    return added, len(rows) - added


def shown_for(session: Session, plan_id: int, at: date) -> dict[int | None, list[Shown]]:
    """The plan's indicators by area id (None: the whole plan), with values up to `at`."""
    out: dict[int | None, list[Shown]] = {}
    indicators = session.scalars(
        select(Indicator).where(Indicator.plan_id == plan_id).order_by(Indicator.id)
    ).all()
    for indicator in indicators:
        values = session.execute(
            select(IndicatorValue.measured_on, IndicatorValue.value, IndicatorValue.comment)
            .where(IndicatorValue.indicator_id == indicator.id, IndicatorValue.measured_on <= at)
            .order_by(IndicatorValue.measured_on)
        ).all()
        out.setdefault(indicator.area_id, []).append(
            Shown(
                indicator.name,
                indicator.unit,
                indicator.higher_is_better,
                indicator.target,
                tuple((on, value, comment) for on, value, comment in values),
                indicator.id,
            )
        )
    return out
