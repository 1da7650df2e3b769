"""argparse in Swedish: "användning:", "flaggor", its error messages, from a gettext catalogue.

argparse looks each of its messages up through gettext (`_` and `ngettext`, bound in its own
module), so a standard catalogue translates them: service/locale/sv/LC_MESSAGES/argparse.po.
gettext would pick the language from LANGUAGE/LANG, which on a server is often C or English,
while everything a user reads here is Swedish; so the Swedish catalogue is bound to argparse's
lookups directly. The .po file is compiled when first needed (Babel is a dependency anyway), so
no binary .mo file is kept beside it.
"""

from __future__ import annotations

import argparse
import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "sv" / "LC_MESSAGES" / "argparse.po"


@lru_cache(maxsize=1)
def catalogue() -> gettext.GNUTranslations:
    with CATALOGUE.open("rb") as po:
        messages = read_po(po, locale="sv")
    compiled = BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def install() -> None:
    """Makes argparse speak Swedish; call before building a parser (group titles are
    translated when it is built)."""
    translations = catalogue()
    # The names argparse calls at run time; see the module docstring for why not gettext's
    # own language lookup.
    setattr(argparse, "_", translations.gettext)  # noqa: B010
    setattr(argparse, "ngettext", translations.ngettext)  # noqa: B010
