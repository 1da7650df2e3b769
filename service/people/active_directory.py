"""Users from on-premises Active Directory over LDAP (ldap3), read with a paged search.

LDAPS or StartTLS with certificate checks; the service account's DN and password come from the
environment (BEVAKNING_DIRECTORY_LDAP_BIND_DN, BEVAKNING_DIRECTORY_LDAP_PASSWORD). AD gives at
most 1000 entries per search, so the search asks for pages (the paged results control).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

from ldap3 import NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException

from service.people.mapping import DirectoryEntry
from service.people.sources import SourceError

ACCOUNTDISABLE = 0x2  # userAccountControl bit of a disabled account
SECURITY = ("ldaps", "starttls", "none")


def _one(value: Any) -> str:
    """The first value of an attribute, whether ldap3 gives a list or a single value."""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return "" if value is None else str(value).strip()


class ActiveDirectory:
    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.url = str(settings.get("url") or "").strip()
        self.security = str(settings.get("security") or "starttls").strip().lower()
        self.base_dn = str(settings.get("base_dn") or "").strip()
        if not self.url or not self.base_dn:
            raise SourceError("[directory.ldap] behöver url och base_dn; ange domänkontrollanten.")
        if self.security not in SECURITY:
            raise SourceError(
                f"[directory.ldap] security är {self.security!r}; ange ldaps, starttls eller none."
            )
        self.ca_file = str(settings.get("ca_file") or "") or None
        self.bind_dn = str(settings.get("bind_dn") or "")
        self.password = str(settings.get("password") or "")
        self.filter = str(
            settings.get("filter") or "(&(objectCategory=person)(objectClass=user)(mail=*))"
        )
        self.name_attribute = str(settings.get("name_attribute") or "displayName")
        self.unit_attribute = str(settings.get("unit_attribute") or "physicalDeliveryOfficeName")
        self.administration_attribute = str(settings.get("administration_attribute") or "")
        self.page_size = int(settings.get("page_size") or 500)
        self.timeout = float(settings.get("timeout") or 30)

    def _connection(self) -> Connection:
        tls = None
        if self.security != "none":
            tls = Tls(
                validate=ssl.CERT_REQUIRED,
                version=ssl.PROTOCOL_TLS_CLIENT,
                ca_certs_file=self.ca_file,
            )
        server = Server(
            self.url,
            use_ssl=self.security == "ldaps",
            tls=tls,
            get_info=NONE,
            connect_timeout=int(self.timeout),
        )
        connection = Connection(
            server,
            user=self.bind_dn or None,
            password=self.password or None,
            read_only=True,
            raise_exceptions=True,
            receive_timeout=int(self.timeout),
        )
        connection.open()
        if self.security == "starttls":
            connection.start_tls()
        connection.bind()
        return connection

    def entries(self) -> list[DirectoryEntry]:
        attributes = [
            "mail", self.name_attribute, "title", "department", self.unit_attribute,
            "manager", "userAccountControl",
            *([self.administration_attribute] if self.administration_attribute else []),
        ]  # fmt: skip
        try:
            connection = self._connection()
            try:
                found = [
                    r
                    for r in connection.extend.standard.paged_search(
                        self.base_dn,
                        self.filter,
                        SUBTREE,
                        attributes=list(dict.fromkeys(attributes)),
                        paged_size=self.page_size,
                        generator=True,
                    )
                    if r.get("type") == "searchResEntry"
                ]
            finally:
                connection.unbind()
        except LDAPException as exc:
            raise SourceError(
                f"Active Directory på {self.url} gick inte att läsa ({type(exc).__name__}: "
                f"{exc}); kontrollera url, security, bind_dn, lösenordet och base_dn."
            ) from exc
        mail_of = {str(r["dn"]).lower(): _one(r["attributes"].get("mail")) for r in found}
        out = []
        for r in found:
            attrs = r["attributes"]
            control = _one(attrs.get("userAccountControl"))
            out.append(
                DirectoryEntry(
                    email=_one(attrs.get("mail")),
                    name=_one(attrs.get(self.name_attribute)),
                    title=_one(attrs.get("title")),
                    department=_one(attrs.get("department")),
                    unit=_one(attrs.get(self.unit_attribute)),
                    administration=_one(attrs.get(self.administration_attribute))
                    if self.administration_attribute
                    else "",
                    # A manager outside the search (another OU) has no address here.
                    manager_email=mail_of.get(_one(attrs.get("manager")).lower(), ""),
                    enabled=not (control.isdigit() and int(control) & ACCOUNTDISABLE),
                )
            )
        return out
