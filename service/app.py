"""The running service's wiring: settings, the database and the loaded reference data."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from filelock import FileLock
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from service import schema
from service.calendar import (
    AptRule,
    Calendars,
    TermDefaults,
    TermSpan,
    apt_span,
    load_calendars,
    store_calendars,
)
from service.config import Config
from service.db import make_engine, session_factory, transaction
from service.directory import Directory, load_directory, load_directory_file, store_directory
from service.links import (
    ACTIVITIES,
    CALENDAR,
    DASHBOARD,
    DONE,
    SETTINGS,
    UNDO,
    LinkSigner,
    signing_keys,
)
from service.models import Person, Plan, Term
from service.occurrences import bump_data_version, is_expanded, sync_occurrences
from service.plans.importer import ImportResult, plan_files, read_plan_file, store_plan
from service.plans.limits import Limits
from service.plans.tables import ReadOptions, Vocabulary
from service.reassignment import reassign_orphans, standing
from service.roles import RoleVocabulary, default_vocabulary

log = logging.getLogger(__name__)


@dataclass
class App:
    config: Config

    @cached_property
    def engine(self) -> Engine:
        return make_engine(
            self.config.database_url,
            echo=bool(self.config.get("database", "echo")),
            lock_wait=self.lock_wait,
        )

    @property
    def lock_wait(self) -> float:
        """Seconds a writer waits for another process's SQLite lock before giving up."""
        return float(self.config.get("database", "lock_wait_seconds", 30))

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @property
    def tz(self) -> ZoneInfo:
        return self.config.timezone

    def local_date(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def display_path(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.config.base_dir))
        except ValueError:
            return str(path)

    # -- reference data --------------------------------------------------------------------
    @property
    def term_defaults(self) -> TermDefaults:
        return TermDefaults.from_settings(self.config.section("calendar"))

    @property
    def apt_rule(self) -> AptRule:
        c = self.config.section("calendar")
        return AptRule(
            int(c.get("apt_weekday", 2)),
            int(c.get("apt_nth", 1)),
            tuple(int(m) for m in c.get("apt_skip_months", [7])),
        )

    def calendars(self, session: Session) -> Calendars:
        c = self.config.section("calendar")
        return load_calendars(
            session,
            defaults=self.term_defaults,
            country=str(c.get("holidays_country", "SE")),
            categories=tuple(c.get("holiday_categories", ["public", "de_facto"])),
            committee=self.committee,
        )

    @property
    def committee(self) -> str:
        """The default committee's name; an administration's section in the calendars file
        names its own (Calendars.of(code).committee)."""
        return str(self.config.get("report", "committee", "nämnden"))

    @cached_property
    def signer(self) -> LinkSigner:
        return make_signer(self.config)

    @property
    def public_url(self) -> str:
        return str(self.config.get("web", "public_url", "")).rstrip("/")

    def directory(self, session: Session) -> Directory:
        return load_directory(session)

    def plan_directory(self) -> Directory | None:
        """The directory a plan is checked against before it is stored (a dry run): the
        configured file, or, with none configured (people come from an HR export or a sync),
        the store's once it is up to date; None when neither exists yet."""
        if str(self.config.get("plans", "directory", "")).strip():
            path = self.config.path("plans", "directory")
            return load_directory_file(path, self.display_path(path)) if path.is_file() else None
        if schema.current(self.engine).standing is not schema.Standing.CURRENT:
            return None
        with self.sessions() as session:
            return load_directory(session)

    def plan_vocabulary(self) -> RoleVocabulary:
        """The roles a plan is checked against without storing it; the bundled ones when there
        is no directory yet."""
        directory = self.plan_directory()
        return directory.vocabulary if directory is not None else default_vocabulary()

    # -- set-up ----------------------------------------------------------------------------
    def init(self, now: datetime) -> list[ImportResult]:
        """Create the schema and, into an empty store, load the bundled directory, calendars and
        plans. Running it again changes nothing."""
        with self._init_lock():
            return self._init(now)

    def _init_lock(self) -> AbstractContextManager[object]:
        """Instances starting together on a fresh SQLite file take turns: otherwise both would
        create the tables, and the slower one would fail on a snapshot the faster one made
        stale. (On PostgreSQL an advisory lock does it, see _init.)"""
        url = self.config.database_url
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            return FileLock(url.removeprefix("sqlite:///") + ".init-lock", timeout=600)
        return nullcontext()

    @property
    def may_migrate_on_start(self) -> bool:
        """Whether a store behind the code is upgraded when the service starts (see config)."""
        policy = str(self.config.get("database", "migrate_on_start", "sqlite"))
        return policy == "always" or (policy == "sqlite" and self.engine.dialect.name == "sqlite")

    def _init(self, now: datetime) -> list[ImportResult]:
        postgres = self.engine.dialect.name == "postgresql"
        if not postgres and schema.current(self.engine).standing is not schema.Standing.CURRENT:
            schema.upgrade(self.engine, lock=False, may_migrate=self.may_migrate_on_start, now=now)
        with transaction(self.sessions) as session:
            if postgres:
                # Instances starting together on a fresh database: one creates and loads, the
                # others wait for it here and then find the store initialised. DDL is
                # transactional on PostgreSQL, so the schema is built under the lock too.
                session.execute(select(func.pg_advisory_xact_lock(schema.MIGRATE_LOCK)))
                schema.upgrade(
                    self.engine,
                    connection=session.connection(),
                    may_migrate=self.may_migrate_on_start,
                    now=now,
                )
            if session.scalar(select(func.count()).select_from(Plan)):
                return []
            self.load_reference_data(session, now)
            results = [
                self.import_plan(session, path, now)
                for path in plan_files(self.config.path("plans", "folder"))
            ]
            self.sync(session, now, force=True)
            return results

    def load_reference_data(self, session: Session, now: datetime) -> None:
        """The directory and calendars files into the store; all or nothing (InputError).

        With `[plans] directory = ""` people come only from `bevakning directory import` or
        `sync`, so a reload of the calendars never undoes them."""
        if str(self.config.get("plans", "directory", "")).strip():
            directory_path = self.config.path("plans", "directory")
            directory = load_directory_file(directory_path, self.display_path(directory_path))
            store_directory(session, directory)
        calendars_path = self.config.path("plans", "calendars")
        directory = self.directory(session)
        store_calendars(
            session,
            calendars_path,
            self.display_path(calendars_path),
            default_rule=self.apt_rule,
            units=directory.unit_administrations(),
            administrations=list(directory.organisation.administrations),
            span=self.apt_span(session, now),
        )
        bump_data_version(session)

    def apt_span(self, session: Session, now: datetime) -> tuple[date, date]:
        """The years APT rules are expanded over (see calendar.apt_span)."""
        terms = [TermSpan(t.name, t.start, t.end) for t in session.scalars(select(Term))]
        return apt_span(terms, self.local_date(now))

    def reload(self, now: datetime, *, dry_run: bool = False) -> dict[str, object]:
        """Reload the directory and calendars files; the people who left hand their open
        occurrences to their successors. With dry_run everything is checked and rolled back."""
        self.init(now)
        session = self.sessions()
        try:
            session.begin()
            before = {p.email.lower(): p.active for p in session.scalars(select(Person))}
            stood = standing(session)
            self.load_reference_data(session, now)
            after = {p.email.lower(): p.active for p in session.scalars(select(Person))}
            moved = reassign_orphans(session, self.directory(session), now, before=stood)
            self.sync(session, now)
            summary: dict[str, object] = {
                "ok": True,
                "dry_run": dry_run,
                "people": sum(after.values()),
                "added": sorted(e for e, a in after.items() if a and e not in before),
                "left": sorted(e for e, a in after.items() if not a and before.get(e)),
                "reassigned": [
                    {"occurrence": m.occurrence_id, "from": m.from_email, "to": m.to_email}
                    for m in moved
                ],
                # The administrations with a calendar section of their own, and their committee.
                "calendars": {
                    code: own.committee
                    for code, own in sorted(self.calendars(session).administrations.items())
                },
            }
            if dry_run:
                session.rollback()
            else:
                session.commit()
            return summary
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def read_options(self, *, strict: bool = False) -> ReadOptions:
        """The plan readers' limits and headings from [plans]; --strict from the command."""
        plans = self.config.section("plans")
        extra = str(plans.get("headers", "") or "")
        return ReadOptions(
            limits=Limits.from_settings(plans),
            vocabulary=Vocabulary.load(self.config.path("plans", "headers") if extra else None),
            strict=strict,
        )

    def import_plan(
        self,
        session: Session,
        path: Path,
        now: datetime,
        *,
        actor: str = "import",
        strict: bool = False,
    ) -> ImportResult:
        options = replace(
            self.read_options(strict=strict), roles=self.directory(session).vocabulary
        )
        spec, digest = read_plan_file(path, self.display_path(path), options)
        result = store_plan(
            session,
            spec,
            now=now,
            today=self.local_date(now),
            source_file=self.display_path(path),
            source_hash=digest,
            actor=actor,
        )
        if spec.indicators:
            # Definitions follow the file; measured values are only ever added (never removed).
            from service import indicators

            plan = session.scalars(select(Plan).where(Plan.slug == spec.slug)).one()
            indicators.store_specs(session, plan, spec.indicators, now=now, actor=actor)
        bump_data_version(session)
        return result

    def sync(self, session: Session, now: datetime, *, force: bool = False) -> int:
        """Bring the occurrences in line with plans, directory and calendars (cheap when
        nothing changed). A successor first inherits the open occurrences of the person they
        replaced, so expansion does not give them fresh copies beside the old ones."""
        s = self.config.section("schedule")
        today = self.local_date(now)
        horizon = int(s.get("horizon_days", 400))
        checkin_every = str(s.get("checkin_every", "term"))
        if not force and is_expanded(session, today, horizon, checkin_every):
            return 0
        directory = self.directory(session)
        reassign_orphans(session, directory, now)
        return sync_occurrences(
            session,
            directory,
            self.calendars(session),
            today=today,
            now=now,
            horizon_days=horizon,
            checkin_every=checkin_every,
            force=True,
        )


def utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def make_signer(config: Config) -> LinkSigner:
    web = config.section("web")
    keys = signing_keys(str(web.get("secret_keys", "")), config.base_dir / "var" / "secret.key")
    return LinkSigner(
        keys,
        max_age={
            DONE: timedelta(days=int(web.get("link_max_age_days", 60))),
            UNDO: timedelta(days=int(web.get("link_max_age_days", 60))),
            # "Mina inställningar" is in every mail, like the mark-done links: same lifetime.
            SETTINGS: timedelta(days=int(web.get("link_max_age_days", 60))),
            # "Mina aktiviteter" acts like a bundle of mark-done links: the same lifetime.
            ACTIVITIES: timedelta(days=int(web.get("link_max_age_days", 60))),
            DASHBOARD: timedelta(days=int(web.get("dashboard_link_max_age_days", 14))),
            CALENDAR: timedelta(days=int(web.get("calendar_link_max_age_days", 400))),
        },
    )
