"""A real OpenLDAP server (Debian's slapd) of the test's own: a temp config and database, an
ephemeral port on 127.0.0.1, StartTLS with the tests' CA, and an Active Directory-like schema
(department, userAccountControl) on top of inetOrgPerson.

The service account may read at most `size_limit` entries per search, as AD's MaxPageSize
does, so only a paged search gets everyone.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.fakes.tls import Certificates, make_certificates

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SUFFIX = "dc=exempel,dc=se"
ROOT_DN = f"cn=admin,{SUFFIX}"
SERVICE_DN = f"cn=bevakning,ou=tjanstekonton,{SUFFIX}"
SERVICE_PASSWORD = "hemligt-ldap"
PEOPLE = f"ou=personal,{SUFFIX}"

# department, userAccountControl and company with Active Directory's own OIDs; the class is the
# test's.
AD_SCHEMA = """
attributetype ( 1.2.840.113556.1.2.141 NAME 'department'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.146 NAME 'company'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.1.1 NAME 'adUser' SUP top AUXILIARY
  MAY ( department $ userAccountControl $ company ) )
"""


@dataclass(frozen=True)
class LdapPerson:
    uid: str
    name: str
    mail: str
    title: str = ""
    department: str = ""
    office: str = ""
    manager_uid: str = ""
    disabled: bool = False
    company: str = ""

    @property
    def dn(self) -> str:
        return f"uid={self.uid},{PEOPLE}"


def _ldif_value(name: str, value: str) -> str:
    if value.isascii() and not value.startswith((" ", ":", "<")):
        return f"{name}: {value}"
    import base64

    return f"{name}:: {base64.b64encode(value.encode()).decode()}"


def people_ldif(people: list[LdapPerson]) -> str:
    blocks = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: exempel\n"
        "o: Exempelkommun",
        f"dn: ou=tjanstekonton,{SUFFIX}\nobjectClass: organizationalUnit\nou: tjanstekonton",
        f"dn: {SERVICE_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\n"
        f"cn: bevakning\nsn: bevakning\nuserPassword: {SERVICE_PASSWORD}",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: personal",
    ]
    for p in people:
        lines = [
            f"dn: {p.dn}",
            "objectClass: inetOrgPerson",
            "objectClass: adUser",
            f"uid: {p.uid}",
            _ldif_value("cn", p.name),
            _ldif_value("sn", p.name.split()[-1]),
            _ldif_value("displayName", p.name),
            f"mail: {p.mail}",
            f"userAccountControl: {514 if p.disabled else 512}",
        ]
        if p.title:
            lines.append(_ldif_value("title", p.title))
        if p.department:
            lines.append(_ldif_value("department", p.department))
        if p.company:
            lines.append(_ldif_value("company", p.company))
        if p.office:
            lines.append(_ldif_value("physicalDeliveryOfficeName", p.office))
        if p.manager_uid:
            lines.append(f"manager: uid={p.manager_uid},{PEOPLE}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


class Slapd:
    def __init__(self, folder: Path, people: list[LdapPerson], *, size_limit: int = 100) -> None:
        self.folder = folder
        self.people = people
        self.size_limit = size_limit
        self.certificates: Certificates = make_certificates(folder / "tls")
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def settings(self, **overrides: object) -> dict[str, object]:
        """[directory.ldap] settings that point at this server."""
        values: dict[str, object] = {
            "url": self.url,
            "security": "starttls",
            "ca_file": str(self.certificates.ca_file),
            "bind_dn": SERVICE_DN,
            "password": SERVICE_PASSWORD,
            "base_dn": PEOPLE,
            "filter": "(&(objectClass=inetOrgPerson)(mail=*))",
            "page_size": 50,
            "timeout": 10,
        }
        values.update(overrides)
        return values

    def _config(self) -> Path:
        schema = self.folder / "ad.schema"
        schema.write_text(AD_SCHEMA, encoding="utf-8")
        (self.folder / "db").mkdir(exist_ok=True)
        c = self.certificates
        config = self.folder / "slapd.conf"
        n = self.size_limit
        limit = f"size.soft={n} size.hard={n} size.prtotal=unlimited"
        config.write_text(
            f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {schema}
pidfile {self.folder / "slapd.pid"}
argsfile {self.folder / "slapd.args"}
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {c.ca_file}
TLSCertificateFile {c.cert_file}
TLSCertificateKeyFile {c.key_file}
database mdb
maxsize 104857600
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw root-secret
directory {self.folder / "db"}
limits dn.exact="{SERVICE_DN}" {limit}
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
""",
            encoding="utf-8",
        )
        return config

    def start(self) -> Slapd:
        if not Path(SLAPD).exists():
            raise RuntimeError(
                "slapd is not installed: apt-get install slapd ldap-utils (.ci/run does it)"
            )
        config = self._config()
        ldif = self.folder / "people.ldif"
        ldif.write_text(people_ldif(self.people), encoding="utf-8")
        subprocess.run(
            [SLAPADD, "-f", str(config), "-l", str(ldif)], check=True, capture_output=True
        )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        # -d 0: stay in the foreground (no fork), so the test owns and ends the process.
        self._process = subprocess.Popen(
            [SLAPD, "-f", str(config), "-h", self.url, "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"slapd stopped: {self._process.stderr.read()!r}")  # type: ignore[union-attr]
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return self
            time.sleep(0.05)  # waiting for slapd to listen, not for time to pass
        raise RuntimeError("slapd did not start listening within 20 s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            self._process = None

    def __enter__(self) -> Slapd:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
