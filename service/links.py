"""Signed links: mark-done links in mails, "Mina aktiviteter", dashboard links in the digest,
calendar feeds.

A token names what it opens (an occurrence and a person and the occurrence's version, or a
person for a feed), when it was issued, and is signed with the newest key; older keys still
verify, so keys can be rotated. Age is checked against a `now` the caller passes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

DONE, DASHBOARD, CALENDAR, ACTIVITIES, SETTINGS, UNDO = "d", "b", "c", "a", "s", "u"


class BadLink(Exception):
    """A token that is forged, expired or of the wrong kind; `reason` is forged|expired|kind."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Claim:
    kind: str
    person_id: int
    issued_at: datetime
    occurrence_id: int | None = None
    version: int | None = None
    audit_id: int | None = None  # UNDO: the audited change the link takes back


class LinkSigner:
    def __init__(self, keys: list[str], *, max_age: dict[str, timedelta]) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        # itsdangerous signs with the last key and verifies with all of them.
        self._serializer = URLSafeSerializer(list(reversed(keys)), salt="bevakning-link")
        self._max_age = max_age

    def issue(self, claim: Claim) -> str:
        payload: dict[str, Any] = {
            "k": claim.kind,
            "p": claim.person_id,
            "t": int(claim.issued_at.timestamp()),
        }
        if claim.occurrence_id is not None:
            payload["o"] = claim.occurrence_id
            payload["v"] = claim.version or 1
        if claim.audit_id is not None:
            payload["a"] = claim.audit_id
        return str(self._serializer.dumps(payload))

    def done_token(self, occurrence_id: int, person_id: int, version: int, now: datetime) -> str:
        return self.issue(Claim(DONE, person_id, now, occurrence_id, version))

    def read(self, token: str, kind: str, now: datetime) -> Claim:
        try:
            payload = self._serializer.loads(token)
        except BadSignature:
            raise BadLink("forged") from None
        if not isinstance(payload, dict) or payload.get("k") != kind:
            raise BadLink("kind")
        issued = datetime.fromtimestamp(_number(payload, "t", _MAX_TIMESTAMP, low=0), UTC)
        max_age = self._max_age.get(kind)
        if max_age is not None and now - issued > max_age:
            raise BadLink("expired")
        if issued - now > timedelta(minutes=5):
            raise BadLink("forged")  # from the future: a clock we never had
        return Claim(
            kind=kind,
            person_id=_number(payload, "p", _MAX_ID),
            issued_at=issued,
            occurrence_id=_number(payload, "o", _MAX_ID) if "o" in payload else None,
            version=_number(payload, "v", _MAX_ID) if "v" in payload else None,
            audit_id=_number(payload, "a", _MAX_ID) if "a" in payload else None,
        )


# A signed payload is ours, but a key may have leaked or an old version may have written it:
# every number must fit where it goes (a PostgreSQL integer column, a datetime), or the link
# is refused like a forged one instead of failing deep inside the database or the clock.
_MAX_ID = 2**31 - 1
_MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z


def _number(payload: dict[str, Any], key: str, high: int, *, low: int = 1) -> int:
    value = payload.get(key)
    if type(value) is not int or not low <= value <= high:
        raise BadLink("forged")
    return value


def signing_keys(configured: str, key_file: Path) -> list[str]:
    """Keys from the configuration (newest first), or one generated and kept in `key_file`.

    The generated key serves the embedded default; production sets BEVAKNING_WEB_SECRET_KEYS.
    """
    keys = [k.strip() for k in configured.split(",") if k.strip()]
    if keys:
        return keys
    if key_file.exists():
        return [key_file.read_text(encoding="utf-8").strip()]
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key, encoding="utf-8")
    key_file.chmod(0o600)
    return [key]
