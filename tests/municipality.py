"""A small municipality with two administrations (SOC and KFF) and a kommundirektör, for
tests of the organisation: each test builds its own store from these files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from service.app import App
from tests.support import ROOT, folder_app

MUNICIPALITY = """
[[role]]
key = "kommundirektör"
name = "Kommundirektör"
level = "municipality"
reports_to = ""

[[role]]
key = "förvaltningschef"
name = "Förvaltningschef"
level = "administration"
manager = true
head = true

[[role]]
key = "verksamhetschef"
name = "Verksamhetschef"
level = "area"
manager = true

[[role]]
key = "enhetschef"
name = "Enhetschef"
level = "unit"
reports_to = "verksamhetschef"
manager = true

[[administration]]
code = "SOC"
name = "Socialförvaltningen"

[[administration]]
code = "KFF"
name = "Kultur- och fritidsförvaltningen"
aliases = ["KFF"]

[[area]]
code = "ÄO"
name = "Äldreomsorg"
administration = "SOC"

[[area]]
code = "BIB"
name = "Bibliotek"
administration = "KFF"

[[unit]]
code = "solgarden"
name = "Solgården"
area = "ÄO"

[[unit]]
code = "huvudbiblioteket"
name = "Huvudbiblioteket"
area = "BIB"

[[person]]
name = "Klas Kommun"
email = "klas@example.se"
role = "Kommundirektör"

[[person]]
name = "Eva Social"
email = "eva@example.se"
role = "Förvaltningschef"
administration = "SOC"

[[person]]
name = "Karl Kultur"
email = "karl@example.se"
role = "Förvaltningschef"
administration = "KFF"

[[person]]
name = "Anna Äldre"
email = "anna@example.se"
role = "Verksamhetschef"
area = "ÄO"

[[person]]
name = "Bea Bibliotek"
email = "bea@example.se"
role = "Verksamhetschef"
area = "BIB"

[[person]]
name = "Helena Sol"
email = "helena@example.se"
role = "Enhetschef"
unit = "solgarden"

[[person]]
name = "Hugo Hus"
email = "hugo@example.se"
role = "Enhetschef"
unit = "huvudbiblioteket"
"""


def plan_text(slug: str, administration: str, responsible: str, indicator: str = "") -> str:
    """A plan of one area and one item; `indicator` names an indicator of that area."""
    owner = f'administration = "{administration}"\n' if administration else ""
    return f"""
[plan]
id = "{slug}"
title = "Plan {slug}"
{owner}start = 2024-08-01
end = 2025-12-31

[[area]]
title = "Område"

[[area.item]]
number = "1"
title = "Aktivitet i {slug}"
responsible = {responsible}
deadline = "December 2024"
""" + (f'\n[[area.indicator]]\nname = "{indicator}"\ntarget = 70\n' if indicator else "")


# Socialförvaltningen's places and people, naming no administration: a directory of its own
# (with the bundled roles), or, after the roles above and its declaration, the one
# administration of a store.
SOC_ALONE = """
[[area]]
code = "ÄO"
name = "Äldreomsorg"

[[unit]]
code = "solgarden"
name = "Solgården"
area = "ÄO"

[[person]]
name = "Eva Social"
email = "eva@example.se"
role = "Förvaltningschef"

[[person]]
name = "Helena Sol"
email = "helena@example.se"
role = "Enhetschef"
unit = "solgarden"
"""
ONE_ADMINISTRATION = (
    MUNICIPALITY.split("[[administration]]")[0]
    + '[[administration]]\ncode = "SOC"\nname = "Socialförvaltningen"\n'
    + SOC_ALONE
)


def town_app(
    db_url: str,
    tmp_path: Path,
    *,
    directory_toml: str = MUNICIPALITY,
    plan_files: Mapping[str, str] | None = None,
    **sections: dict[str, object],
) -> App:
    """The municipality above (or `directory_toml`) with its plans (or `plan_files`, slug ->
    text) and the bundled terms."""
    folder = tmp_path / "kommun"
    folder.mkdir()
    (folder / "directory.toml").write_text(directory_toml, encoding="utf-8")
    terms = (ROOT / "plans" / "calendars.toml").read_text(encoding="utf-8").split("[apt]")[0]
    (folder / "calendars.toml").write_text(terms, encoding="utf-8")
    plans = plan_files or {
        "soc": plan_text("soc", "SOC", '["Enhetschef"]', "Tillitsindex SOC"),
        "kff": plan_text("kff", "KFF", '["Enhetschefer"]', "Besökare KFF"),
        "kff-extern": plan_text("kff-extern", "KFF", '["Försäkringskassan"]'),
        "kommun": plan_text("kommun", "", '["Samtliga förvaltningschefer"]'),
    }
    for slug, text in plans.items():
        (folder / f"{slug}.toml").write_text(text, encoding="utf-8")
    return folder_app(db_url, tmp_path, folder, **sections)
