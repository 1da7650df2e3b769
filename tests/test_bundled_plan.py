"""The bundled data checked against the sources: the seed plan, the minute and the issue's list."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from service import roles
from service.app import App
from service.calendar import APT, NAMND, AptRule, parse_calendars
from service.deadlines import Deadline, DeadlineKind, Period
from service.directory import Directory, PersonRecord, load_directory_file
from service.models import Area, Item, Plan
from service.plans.importer import PlanSpec, read_plan_file
from service.plans.tables import ReadOptions
from tests.support import ROOT, at, d

PLANS = ROOT / "plans"
SEED = ROOT.parent / "shared" / "seeds" / "003_915b9261752562a8.txt"
if not SEED.exists():  # a clone outside the shared work tree
    SEED = ROOT / "seeds" / "003_915b9261752562a8.txt"

DATE, MONTH, TERM = DeadlineKind.DATE, DeadlineKind.MONTH, DeadlineKind.TERM
RECURRING, PER_MEETING = DeadlineKind.RECURRING, DeadlineKind.PER_MEETING
RELATIVE, CONTINUOUS, AS_NEEDED = (
    DeadlineKind.RELATIVE,
    DeadlineKind.CONTINUOUS,
    DeadlineKind.AS_NEEDED,
)

PER_NAMND = "en verksamhet per nämnd, start i september 2023 och färdigt december 2024"

# Read from the seed's table: Område | Åtgärd/aktivitet | Ansvarig | Klart när?. Each numbered
# activity and each "- " sub-step under it is one row; the Ansvarig and Klart när? cells list one
# entry per row, in the same order, also where a page break splits the table row (area 3's
# activity 3, area 5's title, area 6's sub-step 1.3, area 8's rows 2.2–3.1).
# (area, number, responsible as written, Klart när? as written, cadence from the text, kind)
SEED_TABLE: list[tuple[int, str, str, str, str, DeadlineKind]] = [
    (1, "1", "Förvaltningschef", "December 2024", PER_NAMND, PER_MEETING),
    (1, "1.1", "Enhetschef", "December 2024", "på nästkommande APT", RELATIVE),
    (1, "2", "Förvaltningschef", "Maj 2026", "", MONTH),
    (1, "2.1", "Ledamot", "Maj 2026", "vid nästkommande nämndsmöte", RELATIVE),
    (2, "1", "Ordförande", "Fortlöpande", "", CONTINUOUS),
    (2, "1.1", "Förvaltningschef", "Vid behov", "", AS_NEEDED),
    (3, "1", "Förvaltningschef", "Fortlöpande", "två gånger per termin", RECURRING),
    (3, "1.1", "Verksamhetschefer", "Fortlöpande", "", CONTINUOUS),
    (3, "2", "Enhetschefer", "Fortlöpande", "", CONTINUOUS),
    (3, "3", "Verksamhetschefer", "Juni 2024", "", MONTH),
    (4, "1", "Utvecklingschef", "Juni 2024", "", MONTH),
    (4, "1.1", "Enhetschefer", "Fortlöpande", "", CONTINUOUS),
    (4, "1.2", "Medarbetare", "Fortlöpande", "", CONTINUOUS),
    (5, "1", "Utvecklingschef", "December 2024", "", MONTH),
    (6, "1", "Förvaltningschef", "December 2024", "", MONTH),
    (6, "1.1", "Utvecklingschef", "December 2024", "", MONTH),
    (6, "1.2", "Enhetschef", "December 2024", "", MONTH),
    (6, "1.3", "Medarbetare", "Fortlöpande", "", CONTINUOUS),
    (7, "1", "Förvaltningschef", "Fortlöpande", "", CONTINUOUS),
    (7, "1.1", "Verksamhetschef", "Fortlöpande", "", CONTINUOUS),
    (7, "2", "Förvaltningschef", "Juni 2024", "", MONTH),
    (8, "1", "Förvaltningschef", "December 2024", "", MONTH),
    (8, "2", "Chefer", "Fortlöpande", "", CONTINUOUS),
    (8, "2.1", "Medarbetare", "Fortlöpande", "", CONTINUOUS),
    (8, "2.2", "Chefer", "Fortlöpande", "", CONTINUOUS),
    (8, "3", "Chefer", "Fortlöpande", "ett par gånger per år", RECURRING),
    (8, "3.1", "Medarbetare", "Fortlöpande", "", CONTINUOUS),
]

# The area titles as the seed's Område column opens them.
SEED_AREAS = [
    "Skapa ett närmare band mellan politik och verksamhet.",
    "Hur pratar politiken om varandra och verksamheterna.",
    "Skapa ett närmare band mellan verksamhet och styrningen i Socialförvaltning.",
    "Utveckla informationsvägarna inom Socialförvaltningen.",
    "Utveckla struktur och arbetssättet där vi synliggör allt bra som verksamheterna gör.",
    "Tydliggör ramarna för varje enskild chef och medarbetare så de kan ges förutsättningar "
    "till mandat, tillit och handlingsutrymme.",
    "Stärka ledarskapet hos Socialförvaltningens samtliga chefer.",
    "Stärka medarbetarskapet och de mellanmänskliga relationerna.",
]

# Where a page break cuts an area's or an activity's text, the seed holds it in pieces.
AREA_SPLITS = {
    5: (
        "Utveckla struktur och arbetssättet där vi synliggör allt bra som",
        "verksamheterna gör.",
    ),
}
PAGE_BREAK_SPLITS = {
    (6, "1.3"): (
        "Varje enskild medarbetare ska förhålla sig inom berörda styrdokument och vid behov",
        "av revidering påtala detta för närmaste chef.",
    ),
}


def bundled(name: str) -> PlanSpec:
    """A bundled plan read against the bundled directory (its administrations and roles)."""
    vocabulary = load_directory_file(PLANS / "directory.toml").vocabulary
    spec, _ = read_plan_file(PLANS / name, f"plans/{name}", ReadOptions(roles=vocabulary))
    return spec


def tillit() -> PlanSpec:
    return bundled("tillitsfull-dialog.toml")


def socialforvaltningen(directory: Directory) -> list[PersonRecord]:
    return [p for p in directory.people if directory.administration_of(p) == "SOC"]


def rows(spec: PlanSpec) -> list[tuple[int, str, str, str, str, DeadlineKind]]:
    return [
        (a_no, i.number, ", ".join(i.responsible), i.deadline_phrase, i.cadence_phrase,
         i.deadline.kind)
        for a_no, area in enumerate(spec.areas, start=1)
        for i in area.items
    ]  # fmt: skip


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def seed_raw() -> str:
    if not SEED.exists():
        pytest.skip(f"the seed {SEED.name} is not next to this clone")
    return SEED.read_text(encoding="utf-8")


def seed_text() -> str:
    return squash(seed_raw())


# -- Handlingsplan tillitsfull dialog ----------------------------------------------------------


def test_tillitsfull_dialog_has_eight_areas_and_twenty_seven_items() -> None:
    spec = tillit()
    assert spec.slug == "tillitsfull-dialog"
    assert spec.title == "Handlingsplan tillitsfull dialog"
    assert len(spec.areas) == 8
    assert [len(a.items) for a in spec.areas] == [4, 2, 4, 3, 1, 4, 3, 6]
    assert spec.item_count == 27


def test_every_row_matches_the_seed_table() -> None:
    assert rows(tillit()) == SEED_TABLE


def test_every_responsible_role_is_one_the_directory_knows() -> None:
    directory = load_directory_file(PLANS / "directory.toml")
    known = (*directory.roles.person_roles, *roles.GROUPS)
    for area in tillit().areas:
        for i in area.items:
            assert i.roles and all(r in known for r in i.roles), i.number


def test_the_area_titles_are_the_seeds() -> None:
    assert [a.title for a in tillit().areas] == SEED_AREAS


def test_every_area_title_and_description_stands_in_the_seed() -> None:
    seed = seed_text()
    for a_no, area in enumerate(tillit().areas, start=1):
        pieces = AREA_SPLITS.get(a_no, (area.title,))
        assert " ".join(pieces) == area.title
        for piece in pieces:
            assert squash(piece) in seed, piece
        for paragraph in area.description.split("\n\n"):
            # The seed breaks "vår" / "dtagaren" across lines; whitespace is squashed anyway.
            assert squash(paragraph) in seed, paragraph


def test_every_item_title_is_non_empty_and_stands_in_the_seed() -> None:
    seed = seed_text()
    for a_no, area in enumerate(tillit().areas, start=1):
        for i in area.items:
            assert i.title.strip(), (a_no, i.number)
            pieces = PAGE_BREAK_SPLITS.get((a_no, i.number), (i.title,))
            assert " ".join(pieces) == i.title
            for piece in pieces:
                assert squash(piece) in seed, (a_no, i.number, piece)


def test_activities_come_before_their_sub_steps_in_the_seeds_order() -> None:
    seed = seed_text()
    for a_no, area in enumerate(tillit().areas, start=1):
        positions = [
            seed.index(squash(PAGE_BREAK_SPLITS.get((a_no, i.number), (i.title,))[0]))
            for i in area.items
        ]
        if a_no == 3:
            # Activity 3 follows a page break, after the Ansvarig/Klart när? cells.
            assert positions[:3] == sorted(positions[:3])
        else:
            assert positions == sorted(positions), a_no


def test_the_deadline_phrases_stand_in_the_seeds_klart_nar_column() -> None:
    seed = seed_raw()
    column = Counter(
        line.strip()
        for line in seed.splitlines()
        if re.fullmatch(r"(Fortlöpande|Vid behov|[A-ZÅÄÖ][a-zåäö]+ \d{4})", line.strip())
    )
    written = Counter(row[3] for row in SEED_TABLE)
    assert column == written


def test_the_responsible_cells_stand_in_the_seeds_ansvarig_column() -> None:
    seed = seed_raw().replace("Verksamhetschef\ner", "Verksamhetschefer")
    names = "|".join(sorted({row[2] for row in SEED_TABLE}, key=len, reverse=True))
    column = Counter(
        line.strip() for line in seed.splitlines() if re.fullmatch(rf"({names})", line.strip())
    )
    assert column == Counter(row[2] for row in SEED_TABLE)


def test_the_cadences_in_the_activity_texts_give_the_meaning() -> None:
    items = {(a_no, i.number): i for a_no, area in enumerate(tillit().areas, 1) for i in area.items}
    workshop = items[(3, "1")]
    assert workshop.title.startswith("Två gånger per termin")
    assert workshop.deadline == Deadline(RECURRING, times=2, period=Period.TERM)
    dialogues = items[(8, "3")]
    assert "ett par dialoger per år" in dialogues.title
    assert dialogues.deadline == Deadline(RECURRING, times=2, period=Period.YEAR)
    visits = items[(1, "1")]
    assert PER_NAMND in visits.title.lower()
    assert visits.deadline == Deadline(
        PER_MEETING, calendar=NAMND, start=d("2023-09-01"), end=d("2024-12-31")
    )
    assert items[(1, "1.1")].deadline == Deadline(RELATIVE, calendar=APT)
    assert items[(1, "2.1")].deadline == Deadline(RELATIVE, calendar=NAMND)
    assert items[(1, "2.1")].title.startswith("Vid nästkommande nämndsmöte")


def test_month_deadlines_are_due_on_the_months_last_day() -> None:
    dues = {
        i.deadline_phrase: i.deadline.due
        for area in tillit().areas
        for i in area.items
        if i.deadline.kind is MONTH
    }
    assert dues == {
        "December 2024": d("2024-12-31"),
        "Juni 2024": d("2024-06-30"),
        "Maj 2026": d("2026-05-31"),
    }


def test_the_plan_period_covers_every_deadline() -> None:
    spec = tillit()
    assert spec.start <= d("2023-09-01")
    dues = [i.deadline.due for a in spec.areas for i in a.items if i.deadline.due]
    assert max(dues) <= spec.end


# -- Plan för att stärka enhetschefer ----------------------------------------------------------


def test_starka_enhetschefer_reports_to_son_on_4_december_2024() -> None:
    spec = bundled("starka-enhetschefer.toml")
    assert spec.slug == "starka-enhetschefer"
    assert spec.item_count == 5
    reports = [i for a in spec.areas for i in a.items if "SON den 4 december 2024" in i.title]
    assert len(reports) == 1
    report = reports[0]
    assert report.deadline.kind is DATE
    assert report.deadline.due == d("2024-12-04")
    assert report.roles == (roles.FORVALTNINGSCHEF,)


def test_starka_enhetschefer_items_parse_with_known_roles() -> None:
    spec = bundled("starka-enhetschefer.toml")
    kinds = [i.deadline.kind for a in spec.areas for i in a.items]
    assert kinds == [MONTH, DATE, MONTH, TERM, RECURRING]
    assert all(i.roles for a in spec.areas for i in a.items)


# -- the directory -----------------------------------------------------------------------------


def test_the_directory_has_every_role_the_issue_lists() -> None:
    directory = load_directory_file(PLANS / "directory.toml")
    count = Counter(p.role for p in socialforvaltningen(directory))
    assert count[roles.FORVALTNINGSCHEF] == 1
    assert count[roles.UTVECKLINGSCHEF] == 1
    assert count[roles.HR_CHEF] == 1
    assert count[roles.ORDFORANDE] == 1
    assert count[roles.LEDAMOT] >= 5
    assert count[roles.ENHETSCHEF] >= 12


def test_the_directory_has_one_verksamhetschef_for_each_of_the_five_areas() -> None:
    directory = load_directory_file(PLANS / "directory.toml")
    of_soc = [c for c, adm in directory.organisation.of_area.items() if adm == "SOC"]
    assert sorted(directory.divisions[c] for c in of_soc) == sorted(
        ["Äldreomsorg", "LSS", "Hälso- och sjukvård", "IFO myndighet", "IFO verkställighet"]
    )
    heads = Counter(p.division for p in directory.with_role(roles.VERKSAMHETSCHEF))
    assert heads == Counter({code: 1 for code in directory.divisions})  # in BUF too


def test_the_enhetschefer_are_spread_over_every_area() -> None:
    directory = load_directory_file(PLANS / "directory.toml")
    enhetschefer = [p for p in socialforvaltningen(directory) if p.role == roles.ENHETSCHEF]
    per_area = Counter(p.division for p in enhetschefer)
    assert set(per_area) == {c for c, a in directory.organisation.of_area.items() if a == "SOC"}
    assert len(enhetschefer) == 14
    units = [p.unit for p in enhetschefer]
    assert len(units) == len(set(units))  # one unit each


def test_the_municipality_has_two_administrations_each_with_one_head_and_a_kommundirektor() -> None:
    directory = load_directory_file(PLANS / "directory.toml")
    assert {c: n[0] for c, n in directory.organisation.administrations.items()} == {
        "SOC": "Socialförvaltningen",
        "BUF": "Barn- och utbildningsförvaltningen",
    }
    heads = {a: directory.head(a) for a in ("SOC", "BUF")}
    assert {a: h.name for a, h in heads.items() if h} == {
        "SOC": "Eva Ekström",
        "BUF": "Ulrika Falk",
    }
    assert [p.name for p in directory.with_role("kommundirektör")] == ["Magnus Lindahl"]
    buf = [p for p in directory.people if directory.administration_of(p) == "BUF"]
    assert 10 <= len(buf) <= 15
    # Every BUF unit has its manager: a förskolechef, a rektor or (elevhälsan) an enhetschef.
    managed = {p.unit for p in buf if p.unit}
    assert managed == {
        c for c, u in directory.units.items() if u.division in ("FSK", "GR", "GY", "EH")
    }
    assert Counter(p.role for p in buf if p.unit) == Counter(
        {"rektor": 3, "förskolechef": 2, roles.ENHETSCHEF: 1}
    )


def test_bufs_plan_uses_the_deadline_kinds_the_plans_use_within_its_period() -> None:
    spec = bundled("utbildning-tillitsfull-dialog.toml")
    assert spec.administration == "BUF"
    kinds = [i.deadline.kind for a in spec.areas for i in a.items]
    assert kinds == [
        RECURRING, MONTH, TERM, RELATIVE, CONTINUOUS, MONTH, CONTINUOUS, DATE, TERM, RECURRING
    ]  # fmt: skip
    assert 6 <= len(kinds) <= 10
    assert all(i.roles for a in spec.areas for i in a.items)
    assert all(
        spec.start <= i.deadline.due <= spec.end
        for a in spec.areas
        for i in a.items
        if i.deadline.due
    )


def test_everyone_in_the_directory_is_at_example_se() -> None:
    directory = load_directory_file(PLANS / "directory.toml")
    assert all(p.email.endswith("@example.se") for p in directory.people)
    assert all(u.address.endswith("@example.se") for u in directory.units.values() if u.address)
    emails = [p.email.lower() for p in directory.people]
    assert len(emails) == len(set(emails))


# -- the calendars -----------------------------------------------------------------------------


def calendars_data() -> dict[str, Any]:
    with (PLANS / "calendars.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_the_calendars_hold_the_namnd_meeting_of_4_december_2024() -> None:
    meetings = parse_calendars(calendars_data(), "plans/calendars.toml").meetings
    assert d("2024-12-04") in meetings[(NAMND, "")]
    assert all(day.isoweekday() == 3 for day in meetings[(NAMND, "")])  # Wednesdays


def test_the_calendars_hold_apt_on_the_first_tuesday_except_july() -> None:
    rule = parse_calendars(calendars_data(), "plans/calendars.toml").apt_rule
    assert rule == AptRule(weekday=2, nth=1, skip_months=(7,))


def test_the_calendars_terms_run_vt_january_to_june_and_ht_august_to_december() -> None:
    terms = parse_calendars(calendars_data(), "plans/calendars.toml").terms
    names = [t.name for t in terms]
    assert {"HT 2023", "VT 2024", "HT 2024", "VT 2025", "HT 2025", "VT 2026"} <= set(names)
    for term in terms:
        expected = (1, 6) if term.name.startswith("VT") else (8, 12)
        assert (term.start.month, term.end.month) == expected, term.name
        assert term.start.year == term.end.year == int(term.name.split()[1])


def test_apt_overrides_and_sections_name_units_and_administrations_in_the_directory() -> None:
    directory = load_directory_file(PLANS / "directory.toml")
    parse_calendars(
        calendars_data(),
        "plans/calendars.toml",
        units=list(directory.units),
        administrations=list(directory.organisation.administrations),
    )


# -- in the store, on SQLite and PostgreSQL ------------------------------------------------------


def test_the_store_holds_the_bundled_plan_as_transcribed(app: App) -> None:
    app.init(at("2024-11-01"))
    with app.sessions() as session:
        stored = session.execute(
            select(Item, Area)
            .join(Area, Item.area_id == Area.id)
            .join(Plan, Item.plan_id == Plan.id)
            .where(Plan.slug == "tillitsfull-dialog")
            .order_by(Item.position)
        ).all()
        got = [
            (
                area.position,
                item.number,
                ", ".join(item.responsible),
                item.deadline_phrase,
                item.cadence_phrase,
                DeadlineKind(item.deadline_kind),
            )
            for item, area in stored
        ]
        parents = {
            (area.position, item.number): item.parent_id is not None for item, area in stored
        }
    assert got == SEED_TABLE
    assert parents == {(row[0], row[1]): "." in row[1] for row in SEED_TABLE}
