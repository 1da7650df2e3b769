"""The deadline forms real plans use beyond the seed plan's (issue 10), one table per form."""

from __future__ import annotations

from datetime import date

import pytest

from service.deadlines import Deadline, DeadlineKind, Period, PhraseError
from service.plans.phrases import ELECTION_ANCHOR, parse_phrase

K = DeadlineKind
PLAN_2025 = {"plan_start": date(2025, 1, 1), "plan_end": date(2025, 12, 31)}
SCHOOL_YEAR = {"plan_start": date(2025, 8, 1), "plan_end": date(2026, 7, 31)}
TWO_YEARS = {"plan_start": date(2025, 1, 1), "plan_end": date(2026, 12, 31)}


def span(first: int, last: int) -> Deadline:
    return Deadline(
        K.PERIOD, due=date(last, 12, 31), start=date(first, 1, 1), end=date(last, 12, 31)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Under 2026", Deadline(K.YEAR, due=date(2026, 12, 31))),
        ("2026", Deadline(K.YEAR, due=date(2026, 12, 31))),
        ("senast 2026", Deadline(K.YEAR, due=date(2026, 12, 31))),
        ("under år 2026", Deadline(K.YEAR, due=date(2026, 12, 31))),
        ("i slutet av 2025", Deadline(K.YEAR, due=date(2025, 12, 31))),
        ("klart 2027", Deadline(K.YEAR, due=date(2027, 12, 31))),
        ("under våren 2026", Deadline(K.TERM, term="VT 2026")),
        ("våren 2026", Deadline(K.TERM, term="VT 2026")),
        ("hösten 2025", Deadline(K.TERM, term="HT 2025")),
        ("Under hösten 2025", Deadline(K.TERM, term="HT 2025")),
        ("HT-25", Deadline(K.TERM, term="HT 2025")),
        ("VT26", Deadline(K.TERM, term="VT 2026")),
        ("HT-2025", Deadline(K.TERM, term="HT 2025")),
        ("läsåret 2025/26", Deadline(K.TERM, term="VT 2026")),
        ("Läsåret 2025/2026", Deadline(K.TERM, term="VT 2026")),
        ("under läsåret 2025-26", Deadline(K.TERM, term="VT 2026")),
        ("läsår 2099/00", Deadline(K.TERM, term="VT 2100")),
    ],
)
def test_it_reads_years_seasons_and_school_years(text: str, expected: Deadline) -> None:
    assert parse_phrase(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025–2026", span(2025, 2026)),
        ("2025-2026", span(2025, 2026)),
        ("2027 - 2028", span(2027, 2028)),
        ("2027 — 2028", span(2027, 2028)),
        ("under mandatperioden 2023–2026", span(2023, 2026)),
        ("Under perioden 2025 - 2027", span(2025, 2027)),
        ("mellan 2025 och 2026", span(2025, 2026)),
        ("2025 till 2026", span(2025, 2026)),
    ],
)
def test_it_reads_a_span_of_years_as_due_at_its_end(text: str, expected: Deadline) -> None:
    assert parse_phrase(text) == expected


@pytest.mark.parametrize(
    ("text", "plan", "expected"),
    [
        ("i maj", PLAN_2025, Deadline(K.MONTH, due=date(2025, 5, 31))),
        ("Maj", PLAN_2025, Deadline(K.MONTH, due=date(2025, 5, 31))),
        ("senast i februari", SCHOOL_YEAR, Deadline(K.MONTH, due=date(2026, 2, 28))),
        ("i oktober", SCHOOL_YEAR, Deadline(K.MONTH, due=date(2025, 10, 31))),
        ("senast 15 mars", PLAN_2025, Deadline(K.DATE, due=date(2025, 3, 15))),
        ("den 1 september", SCHOOL_YEAR, Deadline(K.DATE, due=date(2025, 9, 1))),
        ("v. 42", PLAN_2025, Deadline(K.WEEK, due=date(2025, 10, 19))),
        ("vecka 10", SCHOOL_YEAR, Deadline(K.WEEK, due=date(2026, 3, 8))),
        ("Q3", PLAN_2025, Deadline(K.QUARTER, due=date(2025, 9, 30))),
        ("andra kvartalet", SCHOOL_YEAR, Deadline(K.QUARTER, due=date(2026, 6, 30))),
        ("under hösten", SCHOOL_YEAR, Deadline(K.TERM, term="HT 2025")),
        ("VT", SCHOOL_YEAR, Deadline(K.TERM, term="VT 2026")),
    ],
)
def test_it_pins_a_month_or_date_without_a_year_by_the_plans_period(
    text: str, plan: dict[str, date], expected: Deadline
) -> None:
    assert parse_phrase(text, **plan) == expected


@pytest.mark.parametrize(
    ("text", "plan", "reason"),
    [
        ("i maj", {}, "årtal saknas, skriv t.ex. ”maj 2025”"),
        ("senast 15 mars", {}, "årtal saknas"),
        ("v. 42", {}, "årtal saknas"),
        ("i maj", TWO_YEARS, "årtal saknas och planens period 2025-01-01–2026-12-31 rymmer ”maj”"),
        ("v. 42", TWO_YEARS, "årtal saknas och planens period"),
        ("i augusti", {"plan_start": date(2025, 1, 1), "plan_end": date(2025, 6, 30)}, "årtal"),
        ("30 februari", PLAN_2025, "datumet finns inte"),
        ("v. 60", PLAN_2025, "vecka 60 finns inte"),
        ("tredje kvartalet nästa år", {}, "”nästa år” räknas från planens start"),
        ("under mandatperioden", {}, "vilken mandatperiod avgörs av planens start"),
        ("under planperioden", {}, "planens period är inte känd"),
    ],
)
def test_it_refuses_what_the_plans_period_does_not_pin(
    text: str, plan: dict[str, date], reason: str
) -> None:
    with pytest.raises(PhraseError) as info:
        parse_phrase(text, **plan)
    assert info.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tredje kvartalet nästa år", Deadline(K.QUARTER, due=date(2026, 9, 30))),
        ("Q1 nästa år", Deadline(K.QUARTER, due=date(2026, 3, 31))),
        ("nästa år", Deadline(K.YEAR, due=date(2026, 12, 31))),
        ("under nästa år", Deadline(K.YEAR, due=date(2026, 12, 31))),
        ("december nästa år", Deadline(K.MONTH, due=date(2026, 12, 31))),
        ("hösten nästa år", Deadline(K.TERM, term="HT 2026")),
        ("under mandatperioden", span(2023, 2026)),
        (
            "under planperioden",
            Deadline(
                K.PERIOD, due=date(2025, 12, 31), start=date(2025, 1, 1), end=PLAN_2025["plan_end"]
            ),
        ),
        ("inom ett år", Deadline(K.RELATIVE, after="P1Y")),
    ],
)
def test_it_reads_phrases_relative_to_the_plan(text: str, expected: Deadline) -> None:
    assert parse_phrase(text, **PLAN_2025) == expected


def recurring(times: int, period: Period, **fields: object) -> Deadline:
    return Deadline(K.RECURRING, times=times, period=period, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vart femte år", recurring(1, Period.YEAR, interval=5)),
        ("vart 5:e år", recurring(1, Period.YEAR, interval=5)),
        ("vartannat år", recurring(1, Period.YEAR, interval=2)),
        ("varannan termin", recurring(1, Period.TERM, interval=2)),
        ("varannan månad", recurring(1, Period.MONTH, interval=2)),
        ("var tredje månad", recurring(1, Period.MONTH, interval=3)),
        ("varannan vecka", recurring(1, Period.WEEK, interval=2)),
        ("en gång varannan vecka", recurring(1, Period.WEEK, interval=2)),
        ("vartannat kvartal", recurring(1, Period.MONTH, interval=6)),
        ("varje halvår", recurring(1, Period.MONTH, interval=6)),
        ("var fjärde vecka", recurring(1, Period.WEEK, interval=4)),
        (
            "en gång per mandatperiod",
            recurring(1, Period.YEAR, interval=4, anchor=ELECTION_ANCHOR),
        ),
        ("varje mandatperiod", recurring(1, Period.YEAR, interval=4, anchor=ELECTION_ANCHOR)),
        ("senast i oktober varje år", recurring(1, Period.YEAR, month=10)),
        ("i oktober varje år", recurring(1, Period.YEAR, month=10)),
        ("varje år, senast i oktober", recurring(1, Period.YEAR, month=10)),
        ("årligen i mars", recurring(1, Period.YEAR, month=3)),
        ("en gång per år, senast i november", recurring(1, Period.YEAR, month=11)),
        ("senast 15 mars varje år", recurring(1, Period.YEAR, month=3, day=15)),
        ("varje år senast den 30 april", recurring(1, Period.YEAR, month=4, day=30)),
        ("varje vår", recurring(1, Period.YEAR, term="VT")),
        ("varje höst", recurring(1, Period.YEAR, term="HT")),
        ("en gång per vårtermin", recurring(1, Period.YEAR, term="VT")),
        ("varje HT", recurring(1, Period.YEAR, term="HT")),
        ("på hösten varje år", recurring(1, Period.YEAR, term="HT")),
        ("årligen under våren", recurring(1, Period.YEAR, term="VT")),
    ],
)
def test_it_reads_long_and_fixed_cycles(text: str, expected: Deadline) -> None:
    assert parse_phrase(text) == expected


@pytest.mark.parametrize(
    ("text", "times", "period"),
    [
        ("cirka åtta gånger per år", 8, Period.YEAR),
        ("ca 8 gånger per år", 8, Period.YEAR),
        ("c:a 10 ggr per år", 10, Period.YEAR),
        ("ungefär en gång i månaden", 1, Period.MONTH),
        ("minst två gånger per termin", 2, Period.TERM),
        ("åtminstone en gång per termin", 1, Period.TERM),
        ("2 ggr/termin", 2, Period.TERM),
        ("2 ggr / termin", 2, Period.TERM),
        ("4 gånger/år", 4, Period.YEAR),
        ("1 gång/år", 1, Period.YEAR),
        ("tjugo gånger per år", 20, Period.YEAR),
        ("en gång per år eller vid behov", 1, Period.YEAR),
        ("två gånger per termin och vid behov", 2, Period.TERM),
        ("varje månad, samt vid behov", 1, Period.MONTH),
        ("vid behov, dock minst en gång per år", 1, Period.YEAR),
    ],
)
def test_it_reads_approximations_and_alternatives_by_their_cadence(
    text: str, times: int, period: Period
) -> None:
    assert parse_phrase(text) == recurring(times, period)


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ("inom 30 dagar", "P30D"),
        ("inom tre veckor efter", "P3W"),
        ("inom en månad", "P1M"),
        ("inom sex månader efter beslut", "P6M"),
        ("inom ett år", "P1Y"),
        ("inom två veckor efter föregående aktivitet", "P2W"),
        ("senast 14 dagar efter", "P14D"),
        ("inom 10 dagar från start", "P10D"),
    ],
)
def test_it_reads_a_time_after_an_event_as_relative(text: str, after: str) -> None:
    assert parse_phrase(text) == Deadline(K.RELATIVE, after=after)


@pytest.mark.parametrize(
    "text",
    ["Pågående", "Kontinuerligt", "Ständigt", "Tillsvidare", "tills vidare", "Ständigt pågående",
     "Pågår", "löpande under hela perioden"],
)  # fmt: skip
def test_it_reads_work_without_an_end_as_continuous(text: str) -> None:
    assert parse_phrase(text) == Deadline(K.CONTINUOUS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-2025", "slutåret måste ligga efter startåret"),
        ("2025-2025", "slutåret måste ligga efter startåret"),
        ("läsåret 2025/27", "ett läsår är två år i följd"),
        ("29 februari varje år", "den 29 februari finns inte varje år"),
        ("inom 0 dagar", "tiden måste vara minst en dag"),
        ("vid behov eller vid behov", "”vid behov” står två gånger"),
        ("under 0900", "årtalet 0900 är inte rimligt"),
        ("2025/2026", "okänd frist"),
        ("högst två gånger per termin", "okänd frist"),
        ("inom kort", "okänd frist"),
        ("inom 30 dagar efter att någon hört av sig", "okänd frist"),
        ("i år", "okänd frist"),
        ("återkommande", "okänd frist"),
        ("varje vår medarbetare", "okänd frist"),
        ("nästa år eller året efter", "okänd frist"),
        ("var nollte månad", "okänd frist"),
        ("var 0:e månad", "intervallet måste vara minst ett"),
        ("under vt 42", "okänd frist"),  # a week as much as a term
        ("ht 25", "okänd frist"),
        ("två gånger i år", "okänd frist"),  # this year, not every year
        ("inom 2025 dagar", "2025 dagar är orimligt länge"),
        ("inom 3 år", "3 år är orimligt länge"),
        ("senast två år", "okänd frist"),
    ],
)
def test_it_stays_strict_where_the_meaning_is_unclear(text: str, reason: str) -> None:
    with pytest.raises(PhraseError) as info:
        parse_phrase(text)
    assert info.value.reason.startswith(reason)


@pytest.mark.parametrize(
    "text",
    [
        "Under 2026", "hösten 2025", "läsåret 2025/26", "2025–2026", "vart femte år",
        "en gång per mandatperiod", "senast 15 mars varje år", "varje vår", "inom 30 dagar",
        "Tillsvidare",
    ],
)  # fmt: skip
def test_every_new_form_round_trips_through_json(text: str) -> None:
    deadline = parse_phrase(text)
    assert Deadline.from_json(deadline.to_json()) == deadline
