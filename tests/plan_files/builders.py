"""Small valid plan files, built in the tests, and ways to damage an Office file's zip."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docx import Document
from openpyxl import Workbook

GOOD_TOML = """
[plan]
id = "ny-plan"
title = "Handlingsplan för prov"
start = 2025-01-01
end = 2026-12-31

[[area]]
title = "Område ett"

[[area.item]]
number = "1"
title = "Aktiviteten"
responsible = ["Enhetschef"]
deadline = "December 2025"
"""

HEADER = ["Område", "Åtgärd/aktivitet", "Ansvarig", "Klart när?"]
ROWS: list[list[Any]] = [
    ["Område ett", "1. Verksamheterna besöker nämnden.", "Förvaltningschef", "December 2024"],
    [None, "- Återrapport på nästkommande APT.", "Enhetschef", "December 2024"],
    [None, "2. Studiebesök.", "Förvaltningschef", "Maj 2026"],
]


def xlsx_bytes(
    rows: list[list[Any]] = ROWS,
    header: list[str] = HEADER,
    above: tuple[str, ...] = ("Handlingsplan för prov",),
    edit: Callable[[Any], None] | None = None,
) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Plan"
    for line in above:
        sheet.append([line])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    if edit is not None:
        edit(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def docx_bytes(rows: list[list[str]] | None = None, header: list[str] = HEADER) -> bytes:
    document = Document()
    document.add_heading("Handlingsplan för prov", level=1)
    rows = rows or [
        [
            "Område ett",
            "1. Verksamheterna besöker nämnden.\n2. Studiebesök.",
            "Förvaltningschef\nEnhetschef",
            "December 2024\nMaj 2026",
        ]
    ]
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for row, cells in zip(table.rows[1:], rows, strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            lines = text.split("\n")
            cell.text = lines[0]
            for line in lines[1:]:
                cell.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


# -- damaging a zip --------------------------------------------------------------------------


def main_part(kind: str) -> str:
    return "xl/worksheets/sheet1.xml" if kind == "xlsx" else "word/document.xml"


def rezip(content: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """The package with each part passed through `change` (None drops the part)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = change(info.filename, source.read(info))
            if data is not None:
                target.writestr(info.filename, data)
    return out.getvalue()


def cut_part(content: bytes, kind: str) -> bytes:
    part = main_part(kind)
    return rezip(content, lambda name, data: data[: len(data) // 2] if name == part else data)


def with_entities(content: bytes, kind: str) -> bytes:
    """A billion-laughs DOCTYPE in front of the main part."""
    bomb = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
    )
    part = main_part(kind)

    def change(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
        return bomb + body

    return rezip(content, change)


def duplicate_part(content: bytes, kind: str) -> bytes:
    part = main_part(kind)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source:
        data = source.read(part)
        import warnings

        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            for info in source.infolist():
                target.writestr(info.filename, source.read(info))
            target.writestr(part, data)
    return out.getvalue()


def _local_headers(content: bytes) -> list[int]:
    offsets, at = [], 0
    while (at := content.find(b"PK\x03\x04", at)) != -1:
        offsets.append(at)
        at += 4
    return offsets


def corrupt_deflate(content: bytes, kind: str) -> bytes:
    """Garbage in the middle of the main part's compressed bytes (its CRC stays)."""
    part = main_part(kind).encode()
    data = bytearray(content)
    for at in _local_headers(content):
        name_len, extra_len = struct.unpack("<HH", content[at + 26 : at + 30])
        if content[at + 30 : at + 30 + name_len] == part:
            start = at + 30 + name_len + extra_len
            size = struct.unpack("<I", content[at + 18 : at + 22])[0]
            for n in range(start + size // 3, start + size // 3 + 40):
                data[n] ^= 0xA5
            return bytes(data)
    raise AssertionError("main part not found")


def encrypted_flag(content: bytes, kind: str) -> bytes:
    """The encryption bit set on every part, in the local and the central headers."""
    data = bytearray(content)
    for at in _local_headers(content):
        data[at + 6] |= 0x01
    at = 0
    while (at := content.find(b"PK\x01\x02", at)) != -1:
        data[at + 8] |= 0x01
        at += 4
    return bytes(data)


def truncated_zip(content: bytes, kind: str) -> bytes:
    return content[: len(content) * 2 // 3]


def old_binary(content: bytes, kind: str) -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000


DAMAGES: dict[str, Callable[[bytes, str], bytes]] = {
    "xml-part-cut-in-half": cut_part,
    "entity-declarations": with_entities,
    "duplicate-part": duplicate_part,
    "corrupt-deflate-stream": corrupt_deflate,
    "encryption-flag": encrypted_flag,
    "zip-cut-short": truncated_zip,
    "password-protected-or-old-format": old_binary,
}


def bomb_xlsx(rows: int, width: int = 40) -> bytes:
    """A workbook whose sheet is mostly empty rows of long repeated text: small zipped, big
    unpacked."""
    text = "x" * width
    return xlsx_bytes(rows=[[None, f"{n}. {text}", "Enhetschef", "Maj 2026"] for n in range(rows)])


def far_cell_xlsx() -> bytes:
    """A workbook with one cell at XFD1048576: its used range is millions of empty cells."""

    def edit(sheet: Any) -> None:
        sheet["XFD1048576"] = "x"

    return xlsx_bytes(edit=edit)


def huge_merge_xlsx() -> bytes:
    """A merged range over a million rows: openpyxl would make a cell object for each."""
    part = "xl/worksheets/sheet1.xml"

    def change(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        merge = b'<mergeCells count="1"><mergeCell ref="A5:Z1000000"/></mergeCells>'
        return data.replace(b"</sheetData>", b"</sheetData>" + merge, 1)

    return rezip(xlsx_bytes(), change)
