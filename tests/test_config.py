from __future__ import annotations

from pathlib import Path

import pytest

from service.config import Config, ConfigError, load_config
from tests.support import ROOT

REPO_CONFIG = ROOT / "config.toml"


def load(**environ: str) -> Config:
    return load_config(REPO_CONFIG, environ=environ)


def test_defaults_load_from_the_repo_config() -> None:
    config = load()
    assert config.source == REPO_CONFIG.resolve()
    assert config.base_dir == ROOT
    assert config.get("database", "url") == "sqlite:///var/bevakning.db"
    assert config.get("mail", "transport") == "files"
    assert config.get("mail.smtp", "port") == 25
    assert config.get("schedule", "remind_days_before") == [30, 7, 1]
    assert config.get("schedule", "checkin_every") == "term"
    assert config.get("digest", "enabled") is True
    assert config.get("calendar", "apt_skip_months") == [7]
    assert str(config.timezone) == "Europe/Stockholm"


def test_every_documented_section_is_in_the_repo_config() -> None:
    sections = set(load().sections)
    for name in (
        "database",
        "mail",
        "mail.smtp",
        "mail.ews",
        "mail.graph",
        "mail.files",
        "web",
        "schedule",
        "digest",
        "calendar",
    ):
        assert name in sections


def test_the_default_sqlite_file_lies_under_var_next_to_the_config() -> None:
    assert load().database_url == f"sqlite:///{ROOT / 'var' / 'bevakning.db'}"


def test_paths_resolve_against_the_config_files_folder() -> None:
    assert load().path("plans", "folder") == ROOT / "plans"


def test_database_url_is_overridden_from_the_environment() -> None:
    url = "postgresql+psycopg://bevakning@db.example.se/bevakning"
    config = load(BEVAKNING_DATABASE_URL=url)
    assert config.get("database", "url") == url
    assert config.database_url == url


def test_mail_transport_is_overridden_from_the_environment() -> None:
    assert load(BEVAKNING_MAIL_TRANSPORT="smtp").get("mail", "transport") == "smtp"


def test_a_nested_section_key_goes_to_the_nested_section_as_an_int() -> None:
    config = load(BEVAKNING_MAIL_SMTP_PORT="587", BEVAKNING_MAIL_SMTP_PASSWORD="hemligt")
    assert config.get("mail.smtp", "port") == 587
    assert config.get("mail.smtp", "password") == "hemligt"
    assert "smtp_port" not in config.section("mail")
    assert config.get("web", "port") == 8080


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("14, 3", [14, 3]), ("[14, 3, 1]", [14, 3, 1]), ("7", [7]), ("", [])],
)
def test_a_list_is_overridden_from_comma_separated_or_json_text(
    raw: str, expected: list[int]
) -> None:
    config = load(BEVAKNING_SCHEDULE_REMIND_DAYS_BEFORE=raw)
    assert config.get("schedule", "remind_days_before") == expected


def test_a_list_of_strings_is_overridden() -> None:
    config = load(BEVAKNING_CALENDAR_HOLIDAY_CATEGORIES="public")
    assert config.get("calendar", "holiday_categories") == ["public"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("false", False), ("0", False), ("nej", False), ("True", True), ("ja", True), ("1", True)],
)
def test_a_bool_is_overridden(raw: str, expected: bool) -> None:
    assert load(BEVAKNING_DIGEST_ENABLED=raw).get("digest", "enabled") is expected
    assert load(BEVAKNING_MAIL_FILES_PREVIEW=raw).get("mail.files", "preview") is expected


def test_unknown_variables_and_the_config_variable_are_ignored() -> None:
    config = load(
        BEVAKNING_DATABASE_NOPE="x",
        BEVAKNING_CONFIG="/nowhere.toml",
        OTHER_DATABASE_URL="x",
    )
    assert "nope" not in config.section("database")
    assert config.sections == load().sections


def test_the_environment_does_not_leak_between_loads() -> None:
    load(BEVAKNING_MAIL_TRANSPORT="graph")
    assert load().get("mail", "transport") == "files"


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("BEVAKNING_MAIL_SMTP_PORT", "tjugofem"),
        ("BEVAKNING_DIGEST_ENABLED", "kanske"),
        ("BEVAKNING_SCHEDULE_REMIND_DAYS_BEFORE", "30, sju"),
        ("BEVAKNING_SCHEDULE_REMIND_DAYS_BEFORE", "[30, 7"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_variable(var: str, raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(**{var: raw})
    assert var in str(info.value)
    assert repr(raw) in str(info.value)


def test_a_missing_file_is_a_clear_swedish_error(tmp_path: Path) -> None:
    missing = tmp_path / "saknas.toml"
    with pytest.raises(ConfigError) as info:
        load_config(missing, environ={})
    message = str(info.value)
    assert str(missing) in message
    assert "finns inte" in message and "--config" in message and "BEVAKNING_CONFIG" in message


def test_a_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "trasig.toml"
    broken.write_text("[database\nurl = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"trasig\.toml går inte att läsa"):
        load_config(broken, environ={})


def test_without_a_path_the_config_variable_names_the_file(tmp_path: Path) -> None:
    own = tmp_path / "egen.toml"
    own.write_text('[database]\nurl = "sqlite:///egen.db"\n', encoding="utf-8")
    config = load_config(None, environ={"BEVAKNING_CONFIG": str(own)})
    assert config.source == own.resolve()
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'egen.db'}"


def test_an_absolute_or_memory_sqlite_url_is_left_alone(tmp_path: Path) -> None:
    absolute = f"sqlite:///{tmp_path / 'a.db'}"
    assert load(BEVAKNING_DATABASE_URL=absolute).database_url == absolute
    assert load(BEVAKNING_DATABASE_URL="sqlite:///:memory:").database_url == "sqlite:///:memory:"


def test_with_overrides_returns_a_new_config() -> None:
    base = load()
    changed = base.with_overrides({"mail": {"transport": "smtp"}})
    assert changed.get("mail", "transport") == "smtp"
    assert base.get("mail", "transport") == "files"


def test_a_plain_postgresql_url_uses_the_psycopg_driver() -> None:
    from service.config import load_config
    from tests.support import ROOT

    config = load_config(
        ROOT / "config.toml", environ={"BEVAKNING_DATABASE_URL": "postgresql://u@db.example/b"}
    )
    assert config.database_url == "postgresql+psycopg://u@db.example/b"
