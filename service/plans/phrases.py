"""Turn the deadline phrase of a plan row ("December 2024", "v. 42 2025", ...) into a Deadline.

The parser is strict on purpose: a phrase it does not know is a PhraseError, never a guess,
because a wrong deadline sends wrong reminders to real people. It is a small grammar: numbers
as words or digits, Swedish month names, terms and seasons, and a year that may be left out
("i maj") or relative ("nästa år") where the plan's period pins it to one year.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from service.deadlines import Deadline, DeadlineKind, Period, PhraseError

__all__ = ["ELECTION_ANCHOR", "MONTHS_SV", "PlanPeriod", "parse_phrase"]

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
    "sju": 7, "åtta": 8, "nio": 9, "tio": 10, "elva": 11, "tolv": 12, "tretton": 13,
    "fjorton": 14, "femton": 15, "sexton": 16, "sjutton": 17, "arton": 18, "nitton": 19,
    "tjugo": 20, "trettio": 30, "fyrtio": 40, "femtio": 50, "sextio": 60, "nittio": 90,
}  # fmt: skip

# "var tredje månad", "vart femte år"; "varannan" is matched as one word.
_ORDINALS_SV: dict[str, int] = {
    "andra": 2, "tredje": 3, "fjärde": 4, "femte": 5, "sjätte": 6, "sjunde": 7,
    "åttonde": 8, "nionde": 9, "tionde": 10, "tolfte": 12,
}  # fmt: skip

# Period has no quarter, so a quarter counts as four windows a year.
_PERIODS_SV: dict[str, tuple[Period, int]] = {
    "vecka": (Period.WEEK, 1), "veckan": (Period.WEEK, 1),
    "månad": (Period.MONTH, 1), "månaden": (Period.MONTH, 1),
    "termin": (Period.TERM, 1), "terminen": (Period.TERM, 1),
    "kvartal": (Period.YEAR, 4), "kvartalet": (Period.YEAR, 4),
    "år": (Period.YEAR, 1), "året": (Period.YEAR, 1),
}  # fmt: skip

# The unit of a cycle longer than one period: (period, how many of them one unit is).
_CYCLE_UNITS_SV: dict[str, tuple[Period, int]] = {
    "vecka": (Period.WEEK, 1), "månad": (Period.MONTH, 1), "kvartal": (Period.MONTH, 3),
    "halvår": (Period.MONTH, 6), "termin": (Period.TERM, 1), "år": (Period.YEAR, 1),
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
    "ht": "HT", "hösttermin": "HT", "höstterminen": "HT", "hösten": "HT", "höst": "HT",
    "vt": "VT", "vårtermin": "VT", "vårterminen": "VT", "våren": "VT", "vår": "VT",
}  # fmt: skip

_DURATIONS_SV: dict[str, str] = {
    "dag": "D", "dagar": "D", "vecka": "W", "veckor": "W",
    "månad": "M", "månader": "M", "år": "Y",
}  # fmt: skip

# The longest "inom …" read as a time after an event: two years in any unit.
_LONGEST = {"D": 730, "W": 104, "M": 24, "Y": 2}

_QUARTER_ORDINALS_SV = {"första": 1, "andra": 2, "tredje": 3, "fjärde": 4, "sista": 4}

# Swedish general elections are held every fourth year (2022, 2026, …); a mandate period is
# read as the four calendar years after one (2023–2026).
ELECTION_ANCHOR = 2023


@dataclass(frozen=True)
class PlanPeriod:
    """The plan's own period, which pins phrases without a year ("i maj", "nästa år")."""

    start: date | None = None
    end: date | None = None


def _alternatives(words: Iterable[str]) -> str:
    # Longest first so "mars" is tried before "mar" and "ett par" before "ett".
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONTH = rf"(?:{_alternatives(MONTHS_SV)})\.?"
_YEAR = r"\d{4}"
# A year, or the year after the plan's start.
_Y = rf"(?:(?P<y>{_YEAR})|(?P<next>nästa år|året därpå|påföljande år))"
# "senast i december 2024", "under HT 2025", "i slutet av 2026" mean the same as the bare phrase.
_BY = r"(?:(?:senast|klart|färdigt) )?(?:(?:i|under) )?(?:(?:slutet av|utgången av) )?"
_NUMBER = rf"(?:\d+|{_alternatives(_NUMBERS_SV)})"

_Handler = Callable[[re.Match[str], PlanPeriod], Deadline]


class _Reject(Exception):
    """Raised by a handler that recognised the shape but not the content (week 60, Q5)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _month_number(word: str) -> int:
    return MONTHS_SV[word.rstrip(".")]


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS_SV[word]


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _year(m: re.Match[str], ctx: PlanPeriod) -> int:
    if m["y"]:
        return int(m["y"])
    if ctx.start is None:
        raise _Reject(f"”{m['next']}” räknas från planens start, som inte är känd; skriv årtalet")
    return ctx.start.year + 1


def _iso_date(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    try:
        due = date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        raise _Reject("datumet finns inte") from None
    return Deadline(DeadlineKind.DATE, due=due)


def _written_date(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    try:
        due = date(_year(m, ctx), _month_number(m["m"]), int(m["d"]))
    except ValueError:
        raise _Reject("datumet finns inte") from None
    return Deadline(DeadlineKind.DATE, due=due)


def _month(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return Deadline(DeadlineKind.MONTH, due=_month_end(_year(m, ctx), _month_number(m["m"])))


def _week_end(year: int, week: int) -> date:
    try:
        return date.fromisocalendar(year, week, 7)
    except ValueError:
        raise _Reject(f"vecka {week} finns inte år {year}") from None


def _week(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return Deadline(DeadlineKind.WEEK, due=_week_end(_year(m, ctx), int(m["w"])))


def _term(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return Deadline(DeadlineKind.TERM, term=f"{_TERMS_SV[m['t']]} {_year(m, ctx)}")


def _short_term(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    # "HT-25": a plan is written this century.
    return Deadline(DeadlineKind.TERM, term=f"{_TERMS_SV[m['t']]} {2000 + int(m['yy'])}")


def _school_year(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    first, second = int(m["y"]), m["y2"]
    if int(second) != (first + 1 if len(second) == 4 else (first + 1) % 100):
        raise _Reject("ett läsår är två år i följd, skriv t.ex. ”läsåret 2025/26”")
    # A school year ends when its spring term does.
    return Deadline(DeadlineKind.TERM, term=f"VT {first + 1}")


def _quarter_number(m: re.Match[str]) -> int:
    quarter = int(m["q"]) if m["q"] else _QUARTER_ORDINALS_SV[m["qo"]]
    if not 1 <= quarter <= 4:
        raise _Reject(f"kvartal {quarter} finns inte")
    return quarter


def _quarter(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    quarter = _quarter_number(m)
    return Deadline(DeadlineKind.QUARTER, due=_month_end(_year(m, ctx), quarter * 3))


def _calendar_year(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return Deadline(DeadlineKind.YEAR, due=date(_year(m, ctx), 12, 31))


def _span(first: int, last: int) -> Deadline:
    return Deadline(
        DeadlineKind.PERIOD,
        due=date(last, 12, 31),
        start=date(first, 1, 1),
        end=date(last, 12, 31),
    )


def _years_span(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    first, last = int(m["sy"]), int(m["ey"])
    if last <= first:
        raise _Reject("slutåret måste ligga efter startåret, skriv t.ex. ”2025–2026”")
    return _span(first, last)


def _mandate_period(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    if ctx.start is None:
        raise _Reject(
            "vilken mandatperiod avgörs av planens start, som inte är känd; "
            "skriv t.ex. ”under mandatperioden 2023–2026”"
        )
    first = ctx.start.year - (ctx.start.year - ELECTION_ANCHOR) % 4
    return _span(first, first + 3)


def _plan_period(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    if ctx.start is None or ctx.end is None:
        raise _Reject("planens period är inte känd; skriv åren, t.ex. ”2025–2026”")
    return Deadline(DeadlineKind.PERIOD, due=ctx.end, start=ctx.start, end=ctx.end)


def _recurring(times: int, period_word: str) -> Deadline:
    if times < 1:
        raise _Reject("antalet gånger måste vara minst en")
    period, per_period = _PERIODS_SV.get(period_word) or _ADVERBS_SV[period_word]
    return Deadline(DeadlineKind.RECURRING, times=times * per_period, period=period)


def _times_per(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return _recurring(_number(m["n"]), m["p"])


def _every(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return _recurring(1, m["p"])


def _cycle(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    word = m["o"]
    if word.startswith("var"):  # varannan, vartannat
        every = 2
    elif word.endswith(":e"):
        every = int(word[:-2])
    else:
        every = _ORDINALS_SV[word]
    if every < 1:
        raise _Reject("intervallet måste vara minst ett")
    period, size = _CYCLE_UNITS_SV[m["u"]]
    interval = every * size
    if interval == 1:
        return Deadline(DeadlineKind.RECURRING, times=1, period=period)
    return Deadline(DeadlineKind.RECURRING, times=1, period=period, interval=interval)


def _half_year(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return Deadline(DeadlineKind.RECURRING, times=1, period=Period.MONTH, interval=6)


def _per_mandate(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return Deadline(
        DeadlineKind.RECURRING, times=1, period=Period.YEAR, interval=4, anchor=ELECTION_ANCHOR
    )


def _yearly_on(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    month = _month_number(m["m"])
    day = int(m["d"]) if m["d"] else None
    if day is not None:
        try:
            date(2001, month, day)  # not a leap year: the day must exist every year
        except ValueError:
            raise _Reject(f"den {day} {m['m'].rstrip('.')} finns inte varje år") from None
    return Deadline(DeadlineKind.RECURRING, times=1, period=Period.YEAR, month=month, day=day)


def _yearly_term(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return Deadline(DeadlineKind.RECURRING, times=1, period=Period.YEAR, term=_TERMS_SV[m["t"]])


def _within(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    count, unit = _number(m["n"]), _DURATIONS_SV[m["u"]]
    if count < 1:
        raise _Reject("tiden måste vara minst en dag")
    if count > _LONGEST[unit]:
        # "inom 2025 dagar" is a year in the wrong column far more often than a deadline.
        raise _Reject(f"{count} {m['u']} är orimligt länge, skriv ett datum eller en kortare tid")
    return Deadline(DeadlineKind.RELATIVE, after=f"P{count}{unit}")


def _per_meeting(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    start = date(int(m["sy"]), _month_number(m["sm"]), 1) if m["sm"] else None
    end = _month_end(int(m["ey"]), _month_number(m["em"])) if m["em"] else None
    if start and end and end < start:
        raise _Reject("slutmånaden ligger före startmånaden")
    return Deadline(DeadlineKind.PER_MEETING, calendar=_CALENDARS_SV[m["c"]], start=start, end=end)


def _relative(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return Deadline(DeadlineKind.RELATIVE, calendar=_CALENDARS_SV[m["c"]])


def _continuous(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return Deadline(DeadlineKind.CONTINUOUS)


def _as_needed(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    return Deadline(DeadlineKind.AS_NEEDED)


# A plan's years are this century's; "0000" or "1024" is a typo, not a deadline.
_YEARS = range(1900, 2200)


def _check_years(m: re.Match[str]) -> None:
    for group in ("y", "sy", "ey"):
        year = m.groupdict().get(group)
        if year is not None and int(year) not in _YEARS:
            raise _Reject(f"årtalet {year} är inte rimligt, skriv t.ex. ”december 2025”")


def _pin(
    ctx: PlanPeriod, written: str, span_of: Callable[[int], tuple[date, date] | None]
) -> tuple[int, date]:
    """The one year of the plan's period in which `written` ("maj", "15 mars") falls, with
    the deadline in that year; a refusal when there is no plan period or it is ambiguous."""
    if ctx.start is None or ctx.end is None:
        raise _Reject(f"årtal saknas, skriv t.ex. ”{written} 2025” (eller ange planens period)")
    hits = []
    for year in range(ctx.start.year, ctx.end.year + 1):
        span = span_of(year)
        if span is not None and span[1] >= ctx.start and span[0] <= ctx.end:
            hits.append((year, span[1]))
    period = f"{ctx.start.isoformat()}–{ctx.end.isoformat()}"
    if not hits:
        raise _Reject(f"årtal saknas och ”{written}” ligger inte i planens period {period}")
    if len(hits) > 1:
        years = ", ".join(str(y) for y, _ in hits)
        raise _Reject(
            f"årtal saknas och planens period {period} rymmer ”{written}” flera år ({years}); "
            f"skriv t.ex. ”{written} {hits[0][0]}”"
        )
    return hits[0]


def _yearless_date(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    month, day = _month_number(m["m"]), int(m["d"])

    def span(year: int) -> tuple[date, date] | None:
        try:
            return date(year, month, day), date(year, month, day)
        except ValueError:
            return None

    if span(2000) is None:  # a leap year: a day that never exists
        raise _Reject("datumet finns inte")
    _, due = _pin(ctx, f"{day} {m['m'].rstrip('.')}", span)
    return Deadline(DeadlineKind.DATE, due=due)


def _yearless_month(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    month = _month_number(m["m"])
    _, due = _pin(ctx, m["m"].rstrip("."), lambda y: (date(y, month, 1), _month_end(y, month)))
    return Deadline(DeadlineKind.MONTH, due=due)


def _yearless_week(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    week = int(m["w"])
    if not 1 <= week <= 53:
        raise _Reject(f"vecka {week} finns inte")

    def span(year: int) -> tuple[date, date] | None:
        try:
            return date.fromisocalendar(year, week, 1), date.fromisocalendar(year, week, 7)
        except ValueError:
            return None

    _, due = _pin(ctx, f"v. {week}", span)
    return Deadline(DeadlineKind.WEEK, due=due)


def _yearless_quarter(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    q = _quarter_number(m)
    _, due = _pin(ctx, f"kvartal {q}", lambda y: (date(y, q * 3 - 2, 1), _month_end(y, q * 3)))
    return Deadline(DeadlineKind.QUARTER, due=due)


def _yearless_term(m: re.Match[str], ctx: PlanPeriod) -> Deadline:
    # Nominal term months (VT January–June, HT August–December) decide the year; the
    # calendar's exact dates decide the deadline later.
    term = _TERMS_SV[m["t"]]
    months = (1, 6) if term == "VT" else (8, 12)
    year, _ = _pin(ctx, term, lambda y: (date(y, months[0], 1), _month_end(y, months[1])))
    return Deadline(DeadlineKind.TERM, term=f"{term} {year}")


# "en gång i månaden" is a cadence, "två gånger i år" is this year: after "i", only the
# definite form counts.
_DEFINITE = r"(?:veckan|månaden|terminen|kvartalet|året)\b"
_CAL = rf"(?P<c>{_alternatives(_CALENDARS_SV)})"
_PERIOD = rf"(?P<p>{_alternatives(_PERIODS_SV)})"
_TERM = rf"(?P<t>{_alternatives(_TERMS_SV)})"
_QUARTER = (
    rf"(?:(?:q ?|k ?|kvartal )(?P<q>\d)"
    rf"|(?:det )?(?P<qo>{_alternatives(_QUARTER_ORDINALS_SV)}) kvartalet)"
)
_RANGE = (
    rf"(?:,? (?:(?:med )?start(?: i)?|från) (?P<sm>{_MONTH}) (?P<sy>{_YEAR}))?"
    rf"(?:,? (?:och )?(?:färdigt|klart|till|senast) (?:i )?(?P<em>{_MONTH}) (?P<ey>{_YEAR}))?"
)
_ONCE = r"(?:(?:en|1) (?:gång|ggr) )?"
_YEARLY = r"(?:varje år|årligen|varje kalenderår|(?:en|1) gång (?:per|om|i) år(?:et)?)"
_ON_DAY = rf"(?:senast )?(?:i |den )?(?:(?P<d>\d{{1,2}}) )?(?P<m>{_MONTH})"
_SEASON = r"(?P<t>våren|hösten|vårterminen|höstterminen|vt|ht)"
_EVENT = (
    r"(?: (?:efter|från)(?: (?:start|starten|planens start|planstart|beslut|beslutet"
    r"|föregående (?:aktivitet|steg)|att föregående (?:aktivitet|steg) är klart?))?)?"
)

# Matched against the whole normalised phrase, first hit wins.
_RULES: list[tuple[str, _Handler]] = [
    (rf"{_BY}(?P<y>{_YEAR})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})", _iso_date),
    (rf"{_BY}(?:den )?(?P<d>\d{{1,2}}) (?P<m>{_MONTH}),? {_Y}", _written_date),
    (rf"{_BY}(?P<m>{_MONTH}),? {_Y}", _month),
    (rf"{_BY}(?:v\.? ?|vecka )(?P<w>\d{{1,2}}),? {_Y}", _week),
    (rf"{_BY}{_TERM}[- ]?{_Y}", _term),
    # "HT-25", "VT26"; not "VT 42", which reads as well as a week.
    (rf"{_BY}(?P<t>ht|vt)-?(?P<yy>\d{{2}})", _short_term),
    (rf"{_BY}läsår(?:et)? (?P<y>{_YEAR}) ?[/-] ?(?P<y2>\d{{4}}|\d{{2}})", _school_year),
    (rf"{_BY}{_QUARTER},? {_Y}", _quarter),
    (
        rf"(?:under |mellan )?(?:(?:mandatperioden|perioden|åren) )?"
        rf"(?P<sy>{_YEAR}) ?(?:-| till | och ) ?(?P<ey>{_YEAR})",
        _years_span,
    ),
    (rf"{_BY}(?:år |året |kalenderåret )?{_Y}", _calendar_year),
    (r"(?:(?:en gång )?under )?(?:hela )?mandatperioden", _mandate_period),
    (r"(?:under )?(?:hela )?(?:planperioden|planens period|planens giltighetstid)", _plan_period),
    (
        rf"(?:(?:cirka|ca|c:a|ungefär|omkring|runt|minst|åtminstone) )?"
        rf"(?P<n>{_NUMBER}) (?:gånger|gång|ggr\.?)(?: (?:per|om) |/| i (?={_DEFINITE})){_PERIOD}",
        _times_per,
    ),
    (rf"varje {_PERIOD}", _every),
    (rf"(?P<p>{_alternatives(_ADVERBS_SV)})", _every),
    # "inför varje nämnd": due on the meeting day itself, like "vid varje nämndsmöte".
    (
        rf"(?:(?:en|ett)(?: [a-zåäö]+)? per|(?:(?:vid|på|inför) )?varje) {_CAL}{_RANGE}",
        _per_meeting,
    ),
    (rf"(?:(?:på|vid|till|inför) )?(?:nästkommande|nästa) {_CAL}", _relative),
    (rf"inom (?P<n>{_NUMBER}) (?P<u>{_alternatives(_DURATIONS_SV)}){_EVENT}", _within),
    (
        rf"senast (?P<n>{_NUMBER}) (?P<u>{_alternatives(_DURATIONS_SV)})(?= efter){_EVENT}",
        _within,
    ),
    (
        rf"{_ONCE}(?:var|vart|varje) (?P<o>{_alternatives(_ORDINALS_SV)}|\d+:e) "
        rf"(?P<u>{_alternatives(_CYCLE_UNITS_SV)})",
        _cycle,
    ),
    (rf"{_ONCE}(?P<o>vart?ann(?:an|at)) (?P<u>{_alternatives(_CYCLE_UNITS_SV)})", _cycle),
    (r"(?:(?:en|1) gång )?(?:per|varje|i varje|under varje) mandatperiod", _per_mandate),
    (r"(?:(?:en|1) gång (?:per|i|varje) |varje )halvår(?:et)?|halvårsvis", _half_year),
    (rf"{_ON_DAY},? {_YEARLY}", _yearly_on),
    (rf"{_YEARLY},? {_ON_DAY}", _yearly_on),
    (
        r"(?:varje|(?:en|1) gång (?:per|varje)) (?P<t>vår|höst|vårtermin|hösttermin|vt|ht)",
        _yearly_term,
    ),
    (rf"(?:(?:på|under) )?{_SEASON},? {_YEARLY}", _yearly_term),
    (rf"{_YEARLY},? (?:på |under )?{_SEASON}", _yearly_term),
    (
        r"(?:fortlöpande|löpande|kontinuerligt|kontinuerlig|pågående|ständigt(?: pågående)?"
        r"|tillsvidare|tills vidare|pågår(?: ständigt)?)"
        r"(?: under (?:hela )?(?:året|perioden|planperioden|mandatperioden))?",
        _continuous,
    ),
    (r"vid behov", _as_needed),
    (rf"{_BY}(?:den )?(?P<d>\d{{1,2}}) (?P<m>{_MONTH})", _yearless_date),
    (rf"{_BY}(?:v\.? ?|vecka )(?P<w>\d{{1,2}})", _yearless_week),
    (rf"{_BY}(?P<m>{_MONTH})", _yearless_month),
    (rf"{_BY}{_QUARTER}", _yearless_quarter),
    (rf"{_BY}{_TERM}", _yearless_term),
]
_COMPILED: list[tuple[re.Pattern[str], _Handler]] = [
    (re.compile(pattern), handler) for pattern, handler in _RULES
]

# "en gång per år eller vid behov": the cadence counts, "vid behov" adds nothing to remind.
_OR_AS_NEEDED = re.compile(
    r"(?P<core>.+?),? (?:eller|och|samt) vid behov"
    r"|vid behov,? (?:dock |men |och |samt )?(?P<atleast>(?:minst|åtminstone) .+)"
)


def _normalise(text: str) -> str:
    # Text from Word/PDF may carry decomposed "å", non-breaking spaces and line breaks.
    text = unicodedata.normalize("NFC", text).lower()
    text = " ".join(text.split())
    text = re.sub(r" ?, ?", ", ", text)
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)  # en dash, em dash, minus sign
    text = re.sub(r"(\d) ?- ?(\d)", r"\1-\2", text)
    text = re.sub(r" ?/ ?", "/", text)
    return text.rstrip(". ")


def parse_phrase(
    text: str, *, plan_start: date | None = None, plan_end: date | None = None
) -> Deadline:
    """The meaning of one deadline phrase; PhraseError (reason in Swedish) if unknown.

    The plan's period, when given, pins phrases without a year ("i maj") and those relative
    to the plan ("nästa år", "under mandatperioden")."""
    phrase = _normalise(text)
    if not phrase:
        raise PhraseError(text, "tom fristkolumn")
    ctx = PlanPeriod(plan_start, plan_end)
    either = _OR_AS_NEEDED.fullmatch(phrase)
    if either:
        core = _read(text, either["core"] or either["atleast"], ctx)
        if core.kind is DeadlineKind.AS_NEEDED:
            raise PhraseError(text, "”vid behov” står två gånger")
        return core
    return _read(text, phrase, ctx)


def _read(text: str, phrase: str, ctx: PlanPeriod) -> Deadline:
    for pattern, handler in _COMPILED:
        match = pattern.fullmatch(phrase)
        if match:
            try:
                _check_years(match)
                return handler(match, ctx)
            except _Reject as exc:
                raise PhraseError(text, exc.reason) from None
            except ValueError:
                # A date the calendar does not have, e.g. year 0 in "Dec 0000".
                raise PhraseError(text, "datumet finns inte") from None
    raise PhraseError(
        text, "okänd frist, skriv t.ex. ”december 2024”, ”v. 42 2025”, ”HT 2025” eller ”vid behov”"
    )
