"""Property tests: for any input, the importer either returns a valid plan or refuses it with
problems. Never another exception, never past a time or memory bound. The example counts are
kept small so CI time stays bounded (the whole module runs in well under a minute)."""

from __future__ import annotations

import os
import resource
import string
import time
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from service.plans.importer import PlanSpec, parse_plan, read_plan_file
from service.plans.tables import ITEM_NUMBER
from service.problems import InputError
from tests.plan_files.builders import GOOD_TOML, HEADER, docx_bytes, xlsx_bytes

# Per input: a bound far above what a real plan takes, far below what the old readers spent.
SECONDS = 5
MEGABYTES = 200
PROPERTY = settings(
    # Modest in CI; PLAN_FILES_EXAMPLES=1000 for a deeper search on a free machine.
    max_examples=int(os.environ.get("PLAN_FILES_EXAMPLES", "40")),
    deadline=None,  # timed below, with a bound that holds on a loaded CI machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def valid(spec: PlanSpec) -> None:
    """What an accepted plan always is: texts without control characters, ASCII numbers,
    at least one area with activities, each with a role."""
    assert spec.slug and spec.title and spec.areas and spec.start <= spec.end
    texts = [spec.slug, spec.title, spec.organisation, spec.source, spec.background]
    for area in spec.areas:
        assert area.title and area.items
        texts += [area.title, area.description]
        for item in area.items:
            assert ITEM_NUMBER.fullmatch(item.number)
            assert item.title and item.roles
            texts += [item.title, item.deadline_phrase, *item.responsible, *item.extra.values()]
    for text in texts:
        assert isinstance(text, str)
        assert not any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r" for c in text)


def outcome(read: Any) -> None:
    """Run a read; it returns a valid plan or raises InputError with problems, in bounds."""
    before, started = peak_mb(), time.monotonic()
    try:
        spec = read()
    except InputError as refused:
        event("refused")
        assert refused.problems
        assert all(isinstance(p.message, str) and p.message for p in refused.problems)
    else:
        event("accepted")
        valid(spec[0] if isinstance(spec, tuple) else spec)
    assert time.monotonic() - started < SECONDS
    assert peak_mb() - before < MEGABYTES


# -- the TOML reader -------------------------------------------------------------------------

KEYS = [
    "id", "title", "start", "end", "follow_from", "organisation", "source", "background",
    "number", "responsible", "deadline", "cadence", "checked", "note", "description",
    "extra", "area", "item", "_where", "_problems",
]  # fmt: skip
WORDS = [
    "1", "1.1", "2", "²", "٣", "１", "Enhetschef", "Förvaltningschef", "Rektor", "December 2025",
    "Fortlöpande", "HT 2025", "snart", "", " ", "a\x00b", "ny-plan", "Område",
]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=20),
    st.integers(-5, 10**12),
    st.booleans(),
    st.floats(allow_nan=True),
    st.dates(min_value=date(1, 1, 1)),
    st.datetimes(min_value=datetime(1, 1, 1)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=6),
    ),
    max_leaves=25,
)
item = st.fixed_dictionaries(
    {
        "number": st.one_of(st.sampled_from(["1", "2", "1.1"]), values),
        "title": st.one_of(st.just("Aktiviteten"), values),
        "responsible": st.one_of(st.just(["Enhetschef"]), values),
        "deadline": st.one_of(st.sampled_from(["December 2025", "", "Fortlöpande"]), values),
    },
    optional={k: values for k in ("cadence", "checked", "note", "extra")},
)
area = st.fixed_dictionaries(
    {"title": st.one_of(st.just("Område"), values), "item": st.one_of(st.lists(item), values)},
)
plan_head = st.fixed_dictionaries(
    {
        "id": st.one_of(st.just("ny-plan"), values),
        "title": st.one_of(st.just("Planen"), values),
        "start": st.one_of(st.just(date(2025, 1, 1)), values),
        "end": st.one_of(st.just(date(2026, 12, 31)), values),
    },
    optional={k: values for k in ("follow_from", "organisation", "background")},
)
documents = st.fixed_dictionaries(
    {"plan": st.one_of(plan_head, values), "area": st.one_of(st.lists(area, max_size=3), values)}
)


@PROPERTY
@given(documents)
def test_any_toml_shaped_document_is_a_plan_or_refused(document: dict[str, Any]) -> None:
    # What tomllib gives from a file never has the readers' own keys (the reader refuses
    # them); the document here comes straight from TOML's data model.
    outcome(lambda: parse_plan(_without_internal(document), "p.toml"))


def _without_internal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_internal(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_without_internal(v) for v in value]
    return value


@PROPERTY
@given(st.data())
def test_any_edit_of_a_toml_file_is_a_plan_or_refused(tmp_path: Path, data: st.DataObject) -> None:
    text = GOOD_TOML
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 10))
        insert = data.draw(
            st.one_of(
                st.sampled_from(
                    ['"', "[", "]", "=", "\n", "[[area]]\n", "_where = 1\n", "\\u0000"]
                ),
                st.text(alphabet=string.printable + "åäö²٣１\x00", max_size=8),
            )
        )
        text = text[:at] + insert + text[at + cut :]
    path = tmp_path / "p.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    outcome(lambda: read_plan_file(path, "p.toml"))


# -- the table readers -----------------------------------------------------------------------

CELL_TEXTS = [
    *HEADER, "Nr", "Kadens", "Status", "Vem", "När", "Insats", "1. Aktivitet", "- Delsteg",
    "2.1 Steg", "Enhetschef", "Rektor", "Verksamhetschef\ner", "December 2024", "HT 2025",
    "Fortlöpande", "snart", "", "²", "Område ett",
]  # fmt: skip
cells = st.one_of(
    st.none(),
    st.sampled_from(CELL_TEXTS),
    st.text(alphabet=string.ascii_letters + " .-åäö\n", max_size=30),
    st.integers(-10, 10**6),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
)
grids = st.lists(st.lists(cells, min_size=1, max_size=6), min_size=0, max_size=12)


@PROPERTY
@given(grids, st.booleans())
def test_any_sheet_is_a_plan_or_refused(
    tmp_path: Path, grid: list[list[Any]], header: bool
) -> None:
    path = tmp_path / "p.xlsx"
    path.write_bytes(xlsx_bytes(rows=grid, header=HEADER if header else ["x"]))
    outcome(lambda: read_plan_file(path, "p.xlsx"))


texts = st.lists(st.sampled_from([t for t in CELL_TEXTS if t]), min_size=0, max_size=4)


@PROPERTY
@given(st.lists(st.lists(texts.map("\n".join), min_size=4, max_size=4), min_size=1, max_size=5))
def test_any_word_table_is_a_plan_or_refused(tmp_path: Path, rows: list[list[str]]) -> None:
    path = tmp_path / "p.docx"
    path.write_bytes(docx_bytes(rows=rows))
    outcome(lambda: read_plan_file(path, "p.docx"))


GOOD_OFFICE = {"xlsx": xlsx_bytes(), "docx": docx_bytes()}


@PROPERTY
@given(st.sampled_from(["xlsx", "docx"]), st.data())
def test_any_damage_to_an_office_file_is_a_plan_or_refused(
    tmp_path: Path, kind: str, data: st.DataObject
) -> None:
    content = bytearray(GOOD_OFFICE[kind])
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(content) - 1))
        content[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del content[data.draw(st.integers(0, len(content))) :]
    path = tmp_path / f"p.{kind}"
    path.write_bytes(bytes(content))
    outcome(lambda: read_plan_file(path, path.name))


def test_the_undamaged_sample_files_are_valid_plans(tmp_path: Path) -> None:
    # The damage property starts from these; it would say little if they were refused.
    for kind, content in GOOD_OFFICE.items():
        path = tmp_path / f"p.{kind}"
        path.write_bytes(content)
        spec, _ = read_plan_file(path, path.name)
        valid(spec)
        assert spec.item_count == (3 if kind == "xlsx" else 2)
