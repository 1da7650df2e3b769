"""How big a plan file may be, and the check of an Office file's zip package before any XML
parser sees it.

A .xlsx or .docx is a zip of XML parts. openpyxl and python-docx unpack and parse a part whole,
so a small file that unpacks to gigabytes, a merged range over a million rows or an entity
declaration would cost minutes and gigabytes before they could say anything. The package is
therefore read here first, part by part in small chunks (constant memory): sizes are counted as
they unpack (the sizes a zip declares can lie), damaged parts, duplicate parts and encryption
are named, and the rows, cells and merged areas of the table parts are counted from the XML
text. Only a package that passes is handed to the reader.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from openpyxl.utils.cell import range_boundaries

from service.config import ConfigError
from service.problems import InputError, Problem

_CHUNK = 64 * 1024
# What an old binary Office file (and an encrypted new one, which Office wraps in the same
# container) starts with.
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Limits:
    """The [plans] max_* settings; the defaults are far above any real plan."""

    file_bytes: int = 10_000_000
    unpacked_bytes: int = 50_000_000
    rows: int = 5_000
    cells: int = 100_000
    cell_chars: int = 10_000

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Limits:
        defaults = cls()

        def limit(key: str, default: int) -> int:
            value = settings.get(key, default)
            # bool is an int to Python, but `max_rows = true` is a mistake, not a limit of 1.
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"[plans] {key} = {value!r}: ange ett positivt heltal (standard {default})."
                )
            return value

        return cls(
            file_bytes=limit("max_file_bytes", defaults.file_bytes),
            unpacked_bytes=limit("max_unpacked_bytes", defaults.unpacked_bytes),
            rows=limit("max_rows", defaults.rows),
            cells=limit("max_cells", defaults.cells),
            cell_chars=limit("max_cell_chars", defaults.cell_chars),
        )


def file_too_big(file: str, size: int, limits: Limits) -> Problem:
    return Problem(
        file,
        "",
        f"filen är {_number(size)} byte men får vara högst {_number(limits.file_bytes)} byte "
        "([plans] max_file_bytes); dela upp planen eller höj gränsen.",
    )


def _number(n: int) -> str:
    """10000000 -> "10 000 000", as Swedish writes it."""
    return f"{n:,}".replace(",", " ")


def text_too_long(file: str, where: str, length: int, limits: Limits) -> Problem:
    return Problem(
        file,
        where,
        f"texten är {length} tecken men får vara högst {limits.cell_chars} "
        "([plans] max_cell_chars); korta den.",
    )


# A start tag of the element, with or without a namespace prefix.
def _tag(name: str) -> re.Pattern[bytes]:
    return re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?" + name.encode() + rb"[\s/>]")


_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ROW = {"xlsx": _tag("row"), "docx": _tag("tr")}
_CELL = {"xlsx": _tag("c"), "docx": _tag("tc")}
_MERGE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\s[^>]*?ref=\"([A-Za-z0-9:$]{1,40})\"")
_SPAN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?gridSpan\s[^>]*?val=\"(\d{1,12})\"")
_OVERLAP = 256
# A real workbook or document has tens of parts, a few hundred with many images.
_MAX_PARTS = 5_000


def check_package(content: bytes, file: str, kind: str, limits: Limits) -> None:
    """Raise InputError if the .xlsx/.docx package `content` is damaged, encrypted, declares
    entities or passes a limit; `kind` is "xlsx" or "docx"."""
    what = "Excel-arbetsbok" if kind == "xlsx" else "Word-dokument"
    resave = "spara den på nytt som .xlsx" if kind == "xlsx" else "spara den på nytt som .docx"
    if len(content) > limits.file_bytes:
        raise InputError([file_too_big(file, len(content), limits)])
    if content.startswith(_OLE_SIGNATURE):
        raise InputError(
            [
                Problem(
                    file,
                    "",
                    f"filen är lösenordsskyddad eller i det gamla binära formatet; ta bort "
                    f"lösenordet och {resave}.",
                )
            ]
        )
    try:
        package = zipfile.ZipFile(io.BytesIO(content))
        infos = package.infolist()
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError, NotImplementedError):
        raise InputError(
            [Problem(file, "", f"filen går inte att öppna som {what}; {resave}.")]
        ) from None
    if len(infos) > _MAX_PARTS:
        raise InputError(
            [
                Problem(
                    file,
                    "",
                    f"filen har {len(infos)} delar, fler än en {what} har ({_MAX_PARTS}); "
                    f"{resave}.",
                )
            ]
        )
    problems: list[Problem] = []
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            problems.append(
                Problem(
                    file,
                    f"del {info.filename}",
                    f"delen finns två gånger i filen, så det går inte att veta vilken som "
                    f"gäller; {resave}.",
                )
            )
        seen.add(info.filename)
    encrypted = [info.filename for info in infos if info.flag_bits & 0x1]
    if encrypted:
        # One problem for the file: every part of an encrypted package is.
        problems.append(
            Problem(
                file,
                f"del {encrypted[0]}",
                f"filen är krypterad ({len(encrypted)} delar); ta bort lösenordet och {resave}.",
            )
        )
    if problems:
        raise InputError(problems)
    _Counter(package, file, kind, limits, resave).run()


class _Counter:
    """Unpacks every part once, in chunks, counting what the limits are about."""

    def __init__(
        self, package: zipfile.ZipFile, file: str, kind: str, limits: Limits, resave: str
    ) -> None:
        self.package, self.file, self.kind, self.limits = package, file, kind, limits
        self.resave = resave
        self.unpacked = 0

    def refuse(self, where: str, message: str) -> InputError:
        return InputError([Problem(self.file, where, message)])

    def run(self) -> None:
        for info in self.package.infolist():
            self.part(info)

    def part(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        where = f"del {name}"
        is_xml = name.lower().endswith((".xml", ".rels"))
        table = self.kind == "xlsx" and name.startswith("xl/worksheets/")
        table = table or (self.kind == "docx" and name == "word/document.xml")
        rows = cells = merged = 0
        tail = b""
        try:
            for chunk in self._chunks(info):
                self.unpacked += len(chunk)
                if self.unpacked > self.limits.unpacked_bytes:
                    raise self.refuse(
                        where,
                        f"filen packas upp till mer än {_number(self.limits.unpacked_bytes)} "
                        "byte ([plans] max_unpacked_bytes); dela upp planen eller höj gränsen.",
                    )
                if not is_xml:
                    continue
                buffer = tail + chunk
                fresh = len(tail)  # matches ending in the tail were counted last round
                if any(m.end() > fresh for m in _DECLARATION.finditer(buffer)):
                    raise self.refuse(
                        where,
                        "delen innehåller en DOCTYPE- eller ENTITY-deklaration, som en "
                        f"Office-fil aldrig har och som inte läses; {self.resave}.",
                    )
                if table:
                    rows += sum(m.end() > fresh for m in _ROW[self.kind].finditer(buffer))
                    cells += sum(m.end() > fresh for m in _CELL[self.kind].finditer(buffer))
                    merged += self._merged(buffer, fresh)
                    self._check_table(where, rows, cells + merged)
                tail = buffer[-_OVERLAP:]
        except InputError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, RuntimeError):
            # A cut or corrupt deflate stream, a wrong CRC, an unknown compression method.
            raise self.refuse(
                where, f"delen är skadad och går inte att packa upp; {self.resave}."
            ) from None

    def _chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        with self.package.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                yield chunk

    def _merged(self, buffer: bytes, fresh: int) -> int:
        """Cells that merged ranges (Excel) or spanned cells (Word) add to the table."""
        extra = 0
        if self.kind == "xlsx":
            for m in _MERGE.finditer(buffer):
                if m.end() <= fresh:
                    continue
                try:
                    min_col, min_row, max_col, max_row = range_boundaries(m[1].decode())
                except (ValueError, TypeError):
                    continue  # openpyxl refuses the range itself, and the reader says so
                if None not in (min_col, min_row, max_col, max_row):
                    assert min_col and min_row and max_col and max_row
                    extra += (max_col - min_col + 1) * (max_row - min_row + 1)
        else:
            extra = sum(int(m[1]) - 1 for m in _SPAN.finditer(buffer) if m.end() > fresh)
        return extra

    def _check_table(self, where: str, rows: int, cells: int) -> None:
        if rows > self.limits.rows:
            raise self.refuse(
                where,
                f"tabellen har mer än {self.limits.rows} rader ([plans] max_rows); dela upp "
                "planen eller höj gränsen.",
            )
        if cells > self.limits.cells:
            raise self.refuse(
                where,
                f"tabellen har mer än {self.limits.cells} celler, sammanslagna celler "
                "inräknade ([plans] max_cells); dela upp planen eller höj gränsen.",
            )
