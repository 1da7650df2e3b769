from __future__ import annotations

from datetime import date

import pytest

from service.deadlines import Deadline, DeadlineKind, Period, PhraseError
from service.plans.phrases import parse_phrase


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("2024-12-04", date(2024, 12, 4)),
        ("den 4 december 2024", date(2024, 12, 4)),
        ("4 december 2024", date(2024, 12, 4)),
        ("senast 2025-06-15", date(2025, 6, 15)),
        ("senast den 15 juni 2025", date(2025, 6, 15)),
        ("4 dec 2024", date(2024, 12, 4)),
        ("4 dec. 2024", date(2024, 12, 4)),
        ("1 sept 2025", date(2025, 9, 1)),
        ("  Den 4\nDecember   2024. ", date(2024, 12, 4)),
        ("2024-02-29", date(2024, 2, 29)),
        ("29 februari 2028", date(2028, 2, 29)),
    ],
)
def test_it_parses_dates(text: str, due: date) -> None:
    assert parse_phrase(text) == Deadline(DeadlineKind.DATE, due=due)


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("December 2024", date(2024, 12, 31)),
        ("december 2024", date(2024, 12, 31)),
        ("Juni 2024", date(2024, 6, 30)),
        ("Maj 2026", date(2026, 5, 31)),
        ("senast december 2024", date(2024, 12, 31)),
        ("i december 2024", date(2024, 12, 31)),
        ("under december 2024", date(2024, 12, 31)),
        ("dec 2024", date(2024, 12, 31)),
        ("februari 2024", date(2024, 2, 29)),
        ("februari 2025", date(2025, 2, 28)),
        ("feb 2100", date(2100, 2, 28)),
        ("April 2025.", date(2025, 4, 30)),
    ],
)
def test_it_parses_months_as_their_last_day(text: str, due: date) -> None:
    assert parse_phrase(text) == Deadline(DeadlineKind.MONTH, due=due)


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("v. 42 2025", date(2025, 10, 19)),
        ("v 42 2025", date(2025, 10, 19)),
        ("v.42 2025", date(2025, 10, 19)),
        ("vecka 42 2025", date(2025, 10, 19)),
        ("vecka 42, 2025", date(2025, 10, 19)),
        ("senast v. 42 2025", date(2025, 10, 19)),
        ("V. 1 2025", date(2025, 1, 5)),
        ("vecka 53 2026", date(2027, 1, 3)),
        ("vecka 1 2026", date(2026, 1, 4)),
    ],
)
def test_it_parses_iso_weeks_as_their_sunday(text: str, due: date) -> None:
    assert parse_phrase(text) == Deadline(DeadlineKind.WEEK, due=due)


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("HT 2025", "HT 2025"),
        ("VT 2026", "VT 2026"),
        ("ht 2025", "HT 2025"),
        ("hösttermin 2025", "HT 2025"),
        ("höstterminen 2025", "HT 2025"),
        ("vårterminen 2026", "VT 2026"),
        ("under VT 2026", "VT 2026"),
    ],
)
def test_it_parses_terms_without_a_date(text: str, term: str) -> None:
    assert parse_phrase(text) == Deadline(DeadlineKind.TERM, term=term)


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("Q3 2026", date(2026, 9, 30)),
        ("q3 2026", date(2026, 9, 30)),
        ("kvartal 3 2026", date(2026, 9, 30)),
        ("kvartal 3, 2026", date(2026, 9, 30)),
        ("K3 2026", date(2026, 9, 30)),
        ("Q1 2024", date(2024, 3, 31)),
        ("Q4 2025", date(2025, 12, 31)),
    ],
)
def test_it_parses_quarters_as_their_last_day(text: str, due: date) -> None:
    assert parse_phrase(text) == Deadline(DeadlineKind.QUARTER, due=due)


@pytest.mark.parametrize(
    ("text", "times", "period"),
    [
        ("två gånger per termin", 2, Period.TERM),
        ("Två gånger per termin", 2, Period.TERM),
        ("ett par gånger per år", 2, Period.YEAR),
        ("ett par gånger om året", 2, Period.YEAR),
        ("varje månad", 1, Period.MONTH),
        ("en gång i månaden", 1, Period.MONTH),
        ("månadsvis", 1, Period.MONTH),
        ("en gång per månad", 1, Period.MONTH),
        ("en gång per år", 1, Period.YEAR),
        ("årligen", 1, Period.YEAR),
        ("varje år", 1, Period.YEAR),
        ("en gång om året", 1, Period.YEAR),
        ("en gång per termin", 1, Period.TERM),
        ("varje termin", 1, Period.TERM),
        ("terminsvis", 1, Period.TERM),
        ("varje vecka", 1, Period.WEEK),
        ("veckovis", 1, Period.WEEK),
        ("kvartalsvis", 4, Period.YEAR),
        ("varje kvartal", 4, Period.YEAR),
        ("3 gånger per år", 3, Period.YEAR),
        ("tre gånger per år", 3, Period.YEAR),
        ("fyra gånger per termin", 4, Period.TERM),
        ("tolv gånger per år", 12, Period.YEAR),
        ("2 gånger per månad", 2, Period.MONTH),
        ("sex gånger per år.", 6, Period.YEAR),
    ],
)
def test_it_parses_recurring_cadences(text: str, times: int, period: Period) -> None:
    assert parse_phrase(text) == Deadline(DeadlineKind.RECURRING, times=times, period=period)


@pytest.mark.parametrize(
    ("text", "calendar", "start", "end"),
    [
        (
            "en verksamhet per nämnd, start i september 2023 och färdigt december 2024",
            "nämnd",
            date(2023, 9, 1),
            date(2024, 12, 31),
        ),
        (
            "En verksamhet per nämnd, start i\nseptember 2023 och färdigt december 2024.",
            "nämnd",
            date(2023, 9, 1),
            date(2024, 12, 31),
        ),
        ("en per nämndsmöte", "nämnd", None, None),
        ("vid varje nämndsmöte", "nämnd", None, None),
        ("varje nämndsmöte", "nämnd", None, None),
        ("inför varje nämnd", "nämnd", None, None),
        ("vid varje APT", "apt", None, None),
        ("på varje APT", "apt", None, None),
        ("vid varje APT från januari 2025", "apt", date(2025, 1, 1), None),
        ("vid varje APT till juni 2025", "apt", None, date(2025, 6, 30)),
        (
            "varje nämndsmöte från feb 2024 klart juni 2024",
            "nämnd",
            date(2024, 2, 1),
            date(2024, 6, 30),
        ),
    ],
)
def test_it_parses_one_occurrence_per_meeting(
    text: str, calendar: str, start: date | None, end: date | None
) -> None:
    expected = Deadline(DeadlineKind.PER_MEETING, calendar=calendar, start=start, end=end)
    assert parse_phrase(text) == expected


@pytest.mark.parametrize(
    ("text", "calendar"),
    [
        ("på nästkommande APT", "apt"),
        ("vid nästkommande nämndsmöte", "nämnd"),
        ("nästa APT", "apt"),
        ("på nästa nämndsmöte", "nämnd"),
        ("vid nästkommande nämnd", "nämnd"),
        ("till nästa SON", "nämnd"),
        ("till nästa socialnämnden", "nämnd"),
        ("inför nästkommande nämnd", "nämnd"),
        ("På nästkommande\nAPT.", "apt"),
    ],
)
def test_it_parses_the_next_meeting_as_relative(text: str, calendar: str) -> None:
    assert parse_phrase(text) == Deadline(DeadlineKind.RELATIVE, calendar=calendar)


@pytest.mark.parametrize(
    "text",
    ["Fortlöpande", "Löpande", "Kontinuerligt", "Pågående", "Fortlöpande under året", "löpande."],
)
def test_it_parses_continuous_work(text: str) -> None:
    assert parse_phrase(text) == Deadline(DeadlineKind.CONTINUOUS)


@pytest.mark.parametrize("text", ["Vid behov", "vid behov", " VID BEHOV. "])
def test_it_parses_as_needed(text: str) -> None:
    assert parse_phrase(text) == Deadline(DeadlineKind.AS_NEEDED)


def test_it_tolerates_decomposed_swedish_letters() -> None:
    # Text pasted from PDFs can spell "å" as "a" plus a combining ring.
    assert parse_phrase("va\u030arterminen 2026") == Deadline(DeadlineKind.TERM, term="VT 2026")


@pytest.mark.parametrize(
    "text",
    [
        "snart",
        "December",
        "v. 60 2025",
        "vecka 53 2025",
        "v. 0 2025",
        "Dec 0000",
        "0 december 2024",
        "Q5 2026",
        "kvartal 0 2026",
        "30 februari 2025",
        "2024-02-30",
        "2025-13-01",
        "29 februari 2025",
        "",
        "   ",
        "när det passar",
        "0 gånger per år",
        "varje nämndsmöte från december 2024 till september 2023",
        "nästa fredag",
        "13 smarch 2024",
    ],
)
def test_it_rejects_unknown_or_impossible_phrases(text: str) -> None:
    with pytest.raises(PhraseError) as info:
        parse_phrase(text)
    assert info.value.phrase == text
    assert info.value.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "tom fristkolumn"),
        ("v. 60 2025", "vecka 60 finns inte år 2025"),
        ("vecka 53 2025", "vecka 53 finns inte år 2025"),
        ("Q5 2026", "kvartal 5 finns inte"),
        ("30 februari 2025", "datumet finns inte"),
        ("Dec 0000", "årtalet 0000 är inte rimligt"),
        ("kvartal 3 0000", "årtalet 0000 är inte rimligt"),
        ("varje nämndsmöte från december 0000", "årtalet 0000 är inte rimligt"),
        ("HT 0000", "årtalet 0000 är inte rimligt"),
        ("december 1024", "årtalet 1024 är inte rimligt"),
        ("v. 12 9999", "årtalet 9999 är inte rimligt"),
        ("2204-01-31", "årtalet 2204 är inte rimligt"),
        ("0 december 2024", "datumet finns inte"),
        ("v. 0 2025", "vecka 0 finns inte år 2025"),
        ("December", "årtal saknas"),
    ],
)
def test_it_says_in_swedish_why_a_phrase_is_rejected(text: str, reason: str) -> None:
    with pytest.raises(PhraseError) as info:
        parse_phrase(text)
    assert info.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("December 2024", DeadlineKind.MONTH),
        ("Maj 2026", DeadlineKind.MONTH),
        ("Fortlöpande", DeadlineKind.CONTINUOUS),
        ("Vid behov", DeadlineKind.AS_NEEDED),
        ("Juni 2024", DeadlineKind.MONTH),
        ("två gånger per termin", DeadlineKind.RECURRING),
        ("ett par gånger per år", DeadlineKind.RECURRING),
        ("på nästkommande APT", DeadlineKind.RELATIVE),
        ("vid nästkommande nämndsmöte", DeadlineKind.RELATIVE),
        (
            "en verksamhet per nämnd, start i september 2023 och färdigt december 2024",
            DeadlineKind.PER_MEETING,
        ),
    ],
)
def test_it_parses_every_phrase_of_the_seed_plan(text: str, kind: DeadlineKind) -> None:
    assert parse_phrase(text).kind is kind


@pytest.mark.parametrize(
    "text",
    [
        "2024-12-04",
        "December 2024",
        "v. 42 2025",
        "HT 2025",
        "Q3 2026",
        "två gånger per termin",
        "en verksamhet per nämnd, start i september 2023 och färdigt december 2024",
        "på nästkommande APT",
        "Fortlöpande",
        "Vid behov",
    ],
)
def test_it_round_trips_a_parsed_deadline_through_json(text: str) -> None:
    deadline = parse_phrase(text)
    assert Deadline.from_json(deadline.to_json()) == deadline
