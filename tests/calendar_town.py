"""A small municipality whose administrations keep calendars of their own, for the tests of
calendars per administration: SOC declares nothing (the default calendar), BUF its own
committee, terms, APT rule and meetings, KFF only its committee's name. One BUF unit keeps
its own APT rule."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

from service.app import App
from service.directory import Directory, parse_directory
from tests.municipality import MUNICIPALITY
from tests.support import make_config

# The municipality of the organisation tests (SOC, KFF), with a school administration added.
DIRECTORY = (
    MUNICIPALITY
    + """
[[administration]]
code = "BUF"
name = "Barn- och utbildningsförvaltningen"

[[area]]
code = "GRU"
name = "Grundskola"
administration = "BUF"

[[unit]]
code = "skogsbrynet"
name = "Skogsbrynets skola"
area = "GRU"

[[unit]]
code = "vasa"
name = "Vasaskolan"
area = "GRU"

[[person]]
name = "Bodil Skola"
email = "bodil@example.se"
role = "Förvaltningschef"
administration = "BUF"

[[person]]
name = "Sven Skog"
email = "sven@example.se"
role = "Enhetschef"
unit = "skogsbrynet"

[[person]]
name = "Vera Vasa"
email = "vera@example.se"
role = "Enhetschef"
unit = "vasa"
"""
)

CALENDARS = """
[[term]]
name = "HT 2024"
start = 2024-08-19
end = 2024-12-20

[apt]                      # the first Tuesday of the month
weekday = 2
nth = 1
skip_months = [7]

[[apt.unit]]               # Vasaskolan (BUF) keeps its own: the fourth Friday
unit = "vasa"
weekday = 5
nth = 4

[meetings]
"nämnd" = [2024-09-25, 2024-10-23, 2024-11-20, 2024-12-04]

[administration.BUF]
committee = "Barn- och utbildningsnämnden"

[[administration.BUF.term]]
name = "HT 2024"
start = 2024-08-15
end = 2024-12-18

[administration.BUF.apt]   # the second Wednesday
weekday = 3
nth = 2
skip_months = [7]

[administration.BUF.meetings]
"nämnd" = [2024-09-18, 2024-10-16, 2024-11-13, 2024-12-11]

[administration.KFF]
committee = "Kultur- och fritidsnämnden"
"""

DEFAULT_NAMND = ["2024-09-25", "2024-10-23", "2024-11-20", "2024-12-04"]
BUF_NAMND = ["2024-09-18", "2024-10-16", "2024-11-13", "2024-12-11"]
DEFAULT_APT = ["2024-08-06", "2024-09-03", "2024-10-01", "2024-11-05", "2024-12-03"]
BUF_APT = ["2024-08-14", "2024-09-11", "2024-10-09", "2024-11-13", "2024-12-11"]
VASA_APT = ["2024-08-23", "2024-09-27", "2024-10-25", "2024-11-22", "2024-12-27"]


def town_directory() -> Directory:
    """The directory with ids, as the store would give them."""
    directory = parse_directory(tomllib.loads(DIRECTORY), "directory.toml")
    people = tuple(replace(p, id=n) for n, p in enumerate(directory.people, start=1))
    return replace(directory, people=people)


def plan_text(slug: str, administration: str, heads: str = "Förvaltningschef") -> str:
    """A plan with one item of each kind a calendar decides: per committee meeting, per APT,
    by the end of a term."""
    owner = f'administration = "{administration}"\n' if administration else ""
    return f"""
[plan]
id = "{slug}"
title = "Plan {slug}"
{owner}start = 2024-08-01
end = 2024-12-31
follow_from = 2024-08-01

[[area]]
title = "Område"

[[area.item]]
number = "1"
title = "Lägesrapport till nämnden"
responsible = ["{heads}"]
deadline = "vid varje nämndsmöte"

[[area.item]]
number = "2"
title = "Dialog på arbetsplatsträffen"
responsible = ["Enhetschefer"]
deadline = "vid varje APT"

[[area.item]]
number = "3"
title = "Utvärdering av terminen"
responsible = ["Enhetschefer"]
deadline = "HT 2024"
"""


PLANS = {
    "soc": plan_text("soc", "SOC"),
    "buf": plan_text("buf", "BUF"),
    "kff": plan_text("kff", "KFF"),
    "kommun": plan_text("kommun", "", "Samtliga förvaltningschefer"),
}


def town_app(
    db_url: str, tmp_path: Path, *, calendars: str = CALENDARS, **sections: dict[str, object]
) -> App:
    """An app on a folder holding the town's directory, calendars and four plans."""
    folder = tmp_path / "kommun"
    folder.mkdir(exist_ok=True)
    (folder / "directory.toml").write_text(DIRECTORY, encoding="utf-8")
    (folder / "calendars.toml").write_text(calendars, encoding="utf-8")
    for slug, text in PLANS.items():
        (folder / f"{slug}.toml").write_text(text, encoding="utf-8")
    plans = {
        "folder": str(folder),
        "directory": str(folder / "directory.toml"),
        "calendars": str(folder / "calendars.toml"),
    }
    return App(make_config(db_url, tmp_path, plans=plans, **sections))
