"""Turn the deadline phrase of a plan row ("December 2024", "v. 42 2025", ...) into a Deadline.

The parser is strict on purpose: a phrase it does not know is a PhraseError, never a guess,
because a wrong deadline sends wrong reminders to real people.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date

from service.deadlines import Deadline, DeadlineKind, Period, PhraseError

__all__ = ["MONTHS_SV", "parse_phrase"]

# Full names and the abbreviations people actually write in plans ("sept" included).
MONTHS_SV: dict[str, int] = {
    "januari": 1, "jan": 1,
    "februari": 2, "feb": 2,
    "mars": 3, "mar": 3,
    "april": 4, "apr": 4,
    "maj": 5,
    "juni": 6, "jun": 6,
    "juli": 7, "jul": 7,
    "augusti": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "okt": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip

_NUMBERS_SV: dict[str, int] = {
    "en": 1, "ett": 1, "två": 2, "ett par": 2, "tre": 3, "fyra": 4, "fem": 5, "sex": 6,
    "sju": 7, "åtta": 8, "nio": 9, "tio": 10, "elva": 11, "tolv": 12,
}  # fmt: skip

# Period has no quarter, so a quarter counts as four windows a year.
_PERIODS_SV: dict[str, tuple[Period, int]] = {
    "vecka": (Period.WEEK, 1), "veckan": (Period.WEEK, 1),
    "månad": (Period.MONTH, 1), "månaden": (Period.MONTH, 1),
    "termin": (Period.TERM, 1), "terminen": (Period.TERM, 1),
    "kvartal": (Period.YEAR, 4), "kvartalet": (Period.YEAR, 4),
    "år": (Period.YEAR, 1), "året": (Period.YEAR, 1),
}  # fmt: skip

_ADVERBS_SV: dict[str, tuple[Period, int]] = {
    "veckovis": (Period.WEEK, 1),
    "månadsvis": (Period.MONTH, 1),
    "terminsvis": (Period.TERM, 1),
    "kvartalsvis": (Period.YEAR, 4),
    "årligen": (Period.YEAR, 1),
    "årsvis": (Period.YEAR, 1),
}

# Every way a plan names a meeting series, mapped to the calendar that holds its dates.
_CALENDARS_SV: dict[str, str] = {
    "apt": "apt", "arbetsplatsträff": "apt", "arbetsplatsträffen": "apt",
    "nämnd": "nämnd", "nämnden": "nämnd", "nämndsmöte": "nämnd", "nämndmöte": "nämnd",
    "nämndsammanträde": "nämnd", "son": "nämnd", "socialnämnd": "nämnd",
    "socialnämnden": "nämnd", "socialnämndsmöte": "nämnd",
}  # fmt: skip

_TERMS_SV: dict[str, str] = {
    "ht": "HT", "hösttermin": "HT", "höstterminen": "HT",
    "vt": "VT", "vårtermin": "VT", "vårterminen": "VT",
}  # fmt: skip


def _alternatives(words: Iterable[str]) -> str:
    # Longest first so "mars" is tried before "mar" and "ett par" before "ett".
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONTH = rf"(?:{_alternatives(MONTHS_SV)})\.?"
_YEAR = r"\d{4}"
# "senast i december 2024" and "under HT 2025" mean the same as the bare phrase.
_BY = r"(?:senast )?(?:(?:i|under) )?"

_Handler = Callable[[re.Match[str]], Deadline]


class _Reject(Exception):
    """Raised by a handler that recognised the shape but not the content (week 60, Q5)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _month_number(word: str) -> int:
    return MONTHS_SV[word.rstrip(".")]


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _iso_date(m: re.Match[str]) -> Deadline:
    try:
        due = date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        raise _Reject("datumet finns inte") from None
    return Deadline(DeadlineKind.DATE, due=due)


def _written_date(m: re.Match[str]) -> Deadline:
    try:
        due = date(int(m["y"]), _month_number(m["m"]), int(m["d"]))
    except ValueError:
        raise _Reject("datumet finns inte") from None
    return Deadline(DeadlineKind.DATE, due=due)


def _month(m: re.Match[str]) -> Deadline:
    return Deadline(DeadlineKind.MONTH, due=_month_end(int(m["y"]), _month_number(m["m"])))


def _week(m: re.Match[str]) -> Deadline:
    year, week = int(m["y"]), int(m["w"])
    try:
        due = date.fromisocalendar(year, week, 7)
    except ValueError:
        raise _Reject(f"vecka {week} finns inte år {year}") from None
    return Deadline(DeadlineKind.WEEK, due=due)


def _term(m: re.Match[str]) -> Deadline:
    return Deadline(DeadlineKind.TERM, term=f"{_TERMS_SV[m['t']]} {m['y']}")


def _quarter(m: re.Match[str]) -> Deadline:
    quarter = int(m["q"])
    if not 1 <= quarter <= 4:
        raise _Reject(f"kvartal {quarter} finns inte")
    return Deadline(DeadlineKind.QUARTER, due=_month_end(int(m["y"]), quarter * 3))


def _recurring(times: int, period_word: str) -> Deadline:
    if times < 1:
        raise _Reject("antalet gånger måste vara minst en")
    period, per_period = _PERIODS_SV.get(period_word) or _ADVERBS_SV[period_word]
    return Deadline(DeadlineKind.RECURRING, times=times * per_period, period=period)


def _times_per(m: re.Match[str]) -> Deadline:
    n = m["n"]
    return _recurring(int(n) if n.isdigit() else _NUMBERS_SV[n], m["p"])


def _every(m: re.Match[str]) -> Deadline:
    return _recurring(1, m["p"])


def _per_meeting(m: re.Match[str]) -> Deadline:
    start = date(int(m["sy"]), _month_number(m["sm"]), 1) if m["sm"] else None
    end = _month_end(int(m["ey"]), _month_number(m["em"])) if m["em"] else None
    if start and end and end < start:
        raise _Reject("slutmånaden ligger före startmånaden")
    return Deadline(DeadlineKind.PER_MEETING, calendar=_CALENDARS_SV[m["c"]], start=start, end=end)


def _relative(m: re.Match[str]) -> Deadline:
    return Deadline(DeadlineKind.RELATIVE, calendar=_CALENDARS_SV[m["c"]])


def _continuous(m: re.Match[str]) -> Deadline:
    return Deadline(DeadlineKind.CONTINUOUS)


def _as_needed(m: re.Match[str]) -> Deadline:
    return Deadline(DeadlineKind.AS_NEEDED)


# A plan's years are this century's; "0000" or "1024" is a typo, not a deadline.
_YEARS = range(1900, 2200)


def _check_years(m: re.Match[str]) -> None:
    for group in ("y", "sy", "ey"):
        year = m.groupdict().get(group)
        if year is not None and int(year) not in _YEARS:
            raise _Reject(f"årtalet {year} är inte rimligt, skriv t.ex. ”december 2025”")


def _no_year(m: re.Match[str]) -> Deadline:
    raise _Reject("årtal saknas, skriv t.ex. ”december 2024”")


_CAL = rf"(?P<c>{_alternatives(_CALENDARS_SV)})"
_PERIOD = rf"(?P<p>{_alternatives(_PERIODS_SV)})"
_RANGE = (
    rf"(?:,? (?:(?:med )?start(?: i)?|från) (?P<sm>{_MONTH}) (?P<sy>{_YEAR}))?"
    rf"(?:,? (?:och )?(?:färdigt|klart|till|senast) (?:i )?(?P<em>{_MONTH}) (?P<ey>{_YEAR}))?"
)

# Matched against the whole normalised phrase, first hit wins.
_RULES: list[tuple[str, _Handler]] = [
    (rf"{_BY}(?P<y>{_YEAR})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})", _iso_date),
    (rf"{_BY}(?:den )?(?P<d>\d{{1,2}}) (?P<m>{_MONTH}) (?P<y>{_YEAR})", _written_date),
    (rf"{_BY}(?P<m>{_MONTH}) (?P<y>{_YEAR})", _month),
    (rf"{_BY}(?:v\.? ?|vecka )(?P<w>\d{{1,2}}),? (?P<y>{_YEAR})", _week),
    (rf"{_BY}(?P<t>{_alternatives(_TERMS_SV)}) (?P<y>{_YEAR})", _term),
    (rf"{_BY}(?:q ?|k ?|kvartal )(?P<q>\d),? (?P<y>{_YEAR})", _quarter),
    (rf"(?P<n>\d+|{_alternatives(_NUMBERS_SV)}) gång(?:er)? (?:per|om|i) {_PERIOD}", _times_per),
    (rf"varje {_PERIOD}", _every),
    (rf"(?P<p>{_alternatives(_ADVERBS_SV)})", _every),
    (rf"(?:(?:en|ett)(?: [a-zåäö]+)? per|(?:(?:vid|på) )?varje) {_CAL}{_RANGE}", _per_meeting),
    (rf"(?:(?:på|vid|till) )?(?:nästkommande|nästa) {_CAL}", _relative),
    (r"(?:fortlöpande|löpande|kontinuerligt|pågående)(?: under (?:hela )?året)?", _continuous),
    (r"vid behov", _as_needed),
    (rf"{_BY}{_MONTH}", _no_year),
]
_COMPILED: list[tuple[re.Pattern[str], _Handler]] = [
    (re.compile(pattern), handler) for pattern, handler in _RULES
]


def _normalise(text: str) -> str:
    # Text from Word/PDF may carry decomposed "å", non-breaking spaces and line breaks.
    text = unicodedata.normalize("NFC", text).lower()
    text = " ".join(text.split())
    text = re.sub(r" ?, ?", ", ", text)
    return text.rstrip(". ")


def parse_phrase(text: str) -> Deadline:
    """The meaning of one deadline phrase; PhraseError (reason in Swedish) if unknown."""
    phrase = _normalise(text)
    if not phrase:
        raise PhraseError(text, "tom fristkolumn")
    for pattern, handler in _COMPILED:
        match = pattern.fullmatch(phrase)
        if match:
            try:
                _check_years(match)
                return handler(match)
            except _Reject as exc:
                raise PhraseError(text, exc.reason) from None
            except ValueError:
                # A date the calendar does not have, e.g. year 0 in "Dec 0000".
                raise PhraseError(text, "datumet finns inte") from None
    raise PhraseError(
        text, "okänd frist, skriv t.ex. ”december 2024”, ”v. 42 2025”, ”HT 2025” eller ”vid behov”"
    )
