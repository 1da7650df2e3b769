"""Reading a submitted form: its text fields by name."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request

# Our forms are a few short fields; a comment or a reason is at most a few thousand characters.
MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 50


async def form_fields(request: Request, *, max_fields: int = MAX_FIELDS) -> dict[str, str]:
    """The form's text fields (the last value of a repeated name, as Starlette's form does).

    Our forms post application/x-www-form-urlencoded, a browser's default, which the standard
    library parses in microseconds; Starlette's multipart-capable parser took a tenth of the
    time of a whole mark-done click. Anything else still goes through Starlette.
    """
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        # Streamed by Starlette, each part bounded (400 beyond); no files: no form of ours has one.
        form = await request.form(max_files=0, max_fields=max_fields, max_part_size=MAX_FORM_BYTES)
        return _text_only({name: value for name, value in form.items() if isinstance(value, str)})
    body = await _body(request)
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=max_fields
        )
    except ValueError as exc:  # more fields than any of our forms has
        raise HTTPException(400) from exc
    return _text_only(dict(pairs))


def _text_only(fields: dict[str, str]) -> dict[str, str]:
    """The fields, or 400 when one holds a NUL: no one types it, and PostgreSQL refuses to
    store it (the write failed with a server error)."""
    if any("\x00" in name or "\x00" in value for name, value in fields.items()):
        raise HTTPException(400)
    return fields


async def _body(request: Request) -> bytes:
    """The body, refused with 413 once it is larger than any form of ours: read as it comes,
    so that a huge upload is never held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise HTTPException(413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise HTTPException(413)
        chunks.append(chunk)
    return b"".join(chunks)
