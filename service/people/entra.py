"""Users from Microsoft Entra ID through Microsoft Graph, with the mail transport's msal app.

The app registration needs the User.Read.All application permission (and GroupMember.Read.All
when only a group's members are read). Graph pages with @odata.nextLink and throttles with 429
and Retry-After; `sleep` is passed in so tests wait no real time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import msal
import msal.exceptions
import requests

from service.mail.transports.graph import (
    SCOPES,
    _graph_error,
    _Session,
    retry_after_seconds,
)
from service.people.mapping import DirectoryEntry
from service.people.sources import SourceError

log = logging.getLogger(__name__)

# Throttling and passing trouble: wait as Graph asks (or a little) and try the page again.
RETRY_STATUSES = frozenset({429, 503, 504})
_CREDENTIAL_KEYS = ("tenant_id", "client_id", "client_secret", "authority_host", "api_base")


def entra_settings(own: Mapping[str, Any], mail_graph: Mapping[str, Any]) -> dict[str, Any]:
    """[directory.entra], with the credentials and endpoints it leaves empty taken from
    [mail.graph]: one app registration serves both."""
    merged = dict(own)
    for key in (*_CREDENTIAL_KEYS, "ca_bundle", "timeout"):
        if not merged.get(key) and mail_graph.get(key):
            merged[key] = mail_graph[key]
    return merged


class EntraDirectory:
    def __init__(
        self, settings: Mapping[str, Any], *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        missing = [k for k in ("tenant_id", "client_id", "client_secret") if not settings.get(k)]
        if missing:
            raise SourceError(
                f"[directory.entra] (eller [mail.graph]) saknar {', '.join(missing)}; ange "
                "appregistreringens uppgifter, hemligheten i miljön."
            )
        self.settings = settings
        self.api_base = str(settings.get("api_base") or "https://graph.microsoft.com/v1.0")
        self.api_base = self.api_base.rstrip("/")
        self.authority = (
            str(settings.get("authority_host") or "https://login.microsoftonline.com").rstrip("/")
            + "/"
            + str(settings["tenant_id"])
        )
        self.group_id = str(settings.get("group_id") or "").strip()
        self.unit_attribute = str(settings.get("unit_attribute") or "officeLocation")
        self.administration_attribute = str(settings.get("administration_attribute") or "")
        self.page_size = int(settings.get("page_size") or 999)
        self.max_retries = int(settings.get("max_retries", 5))
        self.sleep = sleep
        self.session = _Session(
            str(settings.get("ca_bundle") or "") or True, float(settings.get("timeout") or 30)
        )
        self._app: Any = None

    def entries(self) -> list[DirectoryEntry]:
        members = self._group_members() if self.group_id else None
        fields = [
            "id", "displayName", "mail", "userPrincipalName", "jobTitle", "department",
            "accountEnabled", self.unit_attribute,
            *([self.administration_attribute] if self.administration_attribute else []),
        ]  # fmt: skip
        query = (
            f"$select={','.join(dict.fromkeys(fields))}&$expand=manager($select=mail)"
            f"&$top={self.page_size}"
        )
        out = []
        for user in self._pages(f"{self.api_base}/users?{query}"):
            if members is not None and user.get("id") not in members:
                continue
            manager = user.get("manager") or {}
            out.append(
                DirectoryEntry(
                    email=str(user.get("mail") or "").strip(),
                    name=str(user.get("displayName") or "").strip(),
                    title=str(user.get("jobTitle") or "").strip(),
                    department=str(user.get("department") or "").strip(),
                    unit=str(user.get(self.unit_attribute) or "").strip(),
                    administration=str(user.get(self.administration_attribute) or "").strip()
                    if self.administration_attribute
                    else "",
                    manager_email=str(manager.get("mail") or "").strip(),
                    enabled=user.get("accountEnabled") is not False,
                )
            )
        return out

    def _group_members(self) -> set[str]:
        url = (
            f"{self.api_base}/groups/{quote(self.group_id)}/transitiveMembers/microsoft.graph.user"
            f"?$select=id&$top={self.page_size}"
        )
        return {str(m.get("id")) for m in self._pages(url)}

    def _pages(self, url: str | None) -> Iterator[dict[str, Any]]:
        while url:
            body = self._get(url)
            yield from body.get("value", [])
            url = body.get("@odata.nextLink")

    def _get(self, url: str) -> dict[str, Any]:
        for attempt in range(self.max_retries + 1):
            try:
                response = self.session.get(
                    url,
                    headers={"Authorization": f"Bearer {self._token()}"},
                )
            except requests.RequestException as exc:
                raise SourceError(
                    f"Microsoft Graph på {self.api_base} svarar inte ({exc})."
                ) from exc
            if response.status_code == 200:
                body = response.json()
                return body if isinstance(body, dict) else {}
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                wait = 2.0**attempt if wait is None else wait
                log.info("Graph answered %s; retrying in %.0f s", response.status_code, wait)
                self.sleep(wait)
                continue
            raise SourceError(
                f"Microsoft Graph svarade {response.status_code} ({_graph_error(response)}) på "
                f"{url.split('?')[0]}; kontrollera appens behörighet User.Read.All"
                + (" och GroupMember.Read.All" if self.group_id else "")
                + "."
            )
        raise SourceError("Microsoft Graph begränsar fortfarande anropen; försök igen senare.")

    def _token(self) -> str:
        try:
            if self._app is None:
                self._app = msal.ConfidentialClientApplication(
                    str(self.settings["client_id"]),
                    client_credential=str(self.settings["client_secret"]),
                    authority=self.authority,
                    validate_authority=False,
                    instance_discovery=False,
                    http_client=self.session,
                )
            result = self._app.acquire_token_for_client(scopes=SCOPES)
        except (requests.RequestException, msal.exceptions.MsalServiceError, ValueError) as exc:
            raise SourceError(f"Entra ID på {self.authority} gav ingen token ({exc}).") from exc
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            raise SourceError(
                f"Entra ID gav ingen token: {result.get('error', '')} "
                f"{result.get('error_description', '')}; kontrollera client_id och "
                "client_secret.".replace("  ", " ")
            )
        return str(token)
