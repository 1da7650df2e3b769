"""Sign-in with the municipality's account, against a local OpenID Connect provider."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from service.app import App
from service.models import Person
from service.web.app import create_app
from tests.fakes.oidc_provider import CLIENT_ID, OidcProvider
from tests.support import make_config
from tests.web.conftest import NOW, Clock, csrf_of, find_occurrence, reload

HEAD = "eva.ekstrom@example.se"  # förvaltningschef
ADMIN_GROUP = "8f0c2a6e-admins"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider() as running:
        yield running


@pytest.fixture
def oidc_app(tmp_path: Path, provider: OidcProvider) -> Iterator[App]:
    config = make_config(
        f"sqlite:///{tmp_path / 'oidc.db'}",
        tmp_path,
        web={"admin_password": "lösen"},
        web__oidc=provider.settings(admin_groups=[ADMIN_GROUP]),
    )
    app = App(config)
    app.init(NOW)
    yield app
    app.engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def web_app(oidc_app: App, clock: Clock) -> Starlette:
    return create_app(oidc_app, clock=clock)


@pytest.fixture
def browser(web_app: Starlette) -> Iterator[TestClient]:
    with TestClient(web_app, follow_redirects=False) as c:
        yield c


def email_of(app: App, role: str, **where: str) -> str:
    with app.sessions() as session:
        query = select(Person).where(Person.role == role)
        for name, value in where.items():
            query = query.where(getattr(Person, name) == value)
        person = session.scalars(query.order_by(Person.id)).first()
        assert person is not None
        return person.email


def start(browser: TestClient) -> str:
    """The app's redirect to the provider's authorization endpoint."""
    response = browser.get("/logga-in")
    assert response.status_code == 302
    return response.headers["location"]


def sign_in(browser: TestClient, provider: OidcProvider, email: str, **bend: object) -> object:
    back = provider.authorize(start(browser), email=email, **bend)  # type: ignore[arg-type]
    return browser.get(path_and_query(back))


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_the_sign_in_asks_for_a_code_with_pkce_state_and_nonce(
    browser: TestClient, provider: OidcProvider
) -> None:
    url = start(browser)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(provider.base_url + "/authorize?")
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert query["state"] and query["nonce"]
    assert query["redirect_uri"].endswith("/logga-in/svar")


def test_the_head_signs_in_and_sees_the_whole_administration_and_mina_aktiviteter(
    browser: TestClient, provider: OidcProvider
) -> None:
    response = sign_in(browser, provider, HEAD)
    assert response.status_code == 303 and response.headers["location"] == "/mitt"  # type: ignore[attr-defined]
    page = browser.get("/mitt")
    assert page.status_code == 200
    assert "Min översikt" in page.text and "Översikten visar Socialförvaltningen." in page.text
    mina = page.text.split('href="/mina/', 1)[1].split('"', 1)[0]
    assert "<h1>Mina aktiviteter</h1>" in browser.get(f"/mina/{mina}").text


@pytest.mark.parametrize(
    ("email", "scope", "shown", "hidden"),
    [
        (
            "magnus.lindahl@example.se",
            "hela kommunen",
            ["Handlingsplan tillitsfull dialog<", "Barn- och utbildningsförvaltningen<"],
            [],
        ),
        (
            "ulrika.falk@example.se",
            "Översikten visar Barn- och utbildningsförvaltningen.",
            ["Barn- och utbildningsförvaltningen<"],
            ["Plan för att stärka enhetschefer", "Handlingsplan tillitsfull dialog<"],
        ),
    ],
)
def test_the_kommundirektor_sees_every_plan_and_a_head_her_administrations(
    browser: TestClient,
    provider: OidcProvider,
    email: str,
    scope: str,
    shown: list[str],
    hidden: list[str],
) -> None:
    sign_in(browser, provider, email)
    page = browser.get("/mitt").text
    assert scope in page
    captions = "".join(
        part.split("</caption>", 1)[0].rsplit(", ", 1)[0] + "<"
        for part in page.split("<caption>")[1:]
    )
    assert all(title in captions for title in shown), captions
    assert not [title for title in hidden if title in captions], captions


def test_an_enhetschef_sees_only_their_unit(
    browser: TestClient, provider: OidcProvider, oidc_app: App
) -> None:
    email = email_of(oidc_app, "enhetschef")
    with oidc_app.sessions() as session:
        person = session.scalars(select(Person).where(Person.email == email)).one()
        name = person.name
        others = session.scalars(
            select(Person.name).where(Person.role == "enhetschef", Person.id != person.id)
        ).all()
    sign_in(browser, provider, email)
    page = browser.get("/mitt").text
    assert "enheten " in page and name in page
    assert not [n for n in others if n in page]  # no other unit's people on the page


def test_a_verksamhetschef_sees_their_area(
    browser: TestClient, provider: OidcProvider, oidc_app: App
) -> None:
    email = email_of(oidc_app, "verksamhetschef")
    with oidc_app.sessions() as session:
        chief = session.scalars(select(Person).where(Person.email == email)).one()
        inside = session.scalars(
            select(Person.name).where(
                Person.role == "enhetschef", Person.division_code == chief.division_code
            )
        ).all()
        outside = session.scalars(
            select(Person.name).where(
                Person.role == "enhetschef", Person.division_code != chief.division_code
            )
        ).all()
    sign_in(browser, provider, email)
    page = browser.get("/mitt").text
    assert "området " in page
    assert any(n in page for n in inside)
    assert not [n for n in outside if n in page]


def test_a_group_in_the_claim_makes_an_administrator_who_may_act(
    browser: TestClient, provider: OidcProvider, oidc_app: App
) -> None:
    email = email_of(oidc_app, "utvecklingschef")
    sign_in(browser, provider, email, groups=["andra", ADMIN_GROUP])
    assert "Administrera" in browser.get("/mitt").text
    admin = browser.get("/admin/oversikt")
    assert admin.status_code == 200 and "Inloggad som administratör" in admin.text
    occ = find_occurrence(oidc_app, "starka-enhetschefer", 1, "1")
    done = browser.post(
        "/admin/klarmarkera",
        data={
            "csrf": csrf_of(admin.text, "/admin/klarmarkera"),
            "occurrence_id": str(occ.id),
            "done_on": "2024-12-02",
        },
    )
    assert done.status_code == 303
    assert reload(oidc_app, occ.id).status == "done"


def test_without_the_group_there_is_no_admin_page(
    browser: TestClient, provider: OidcProvider, oidc_app: App
) -> None:
    sign_in(browser, provider, email_of(oidc_app, "utvecklingschef"), groups=["andra"])
    assert "Administrera" not in browser.get("/mitt").text
    assert browser.get("/admin/oversikt").status_code == 303


@pytest.mark.parametrize(
    ("bend", "why"),
    [
        ({"claims": {"aud": "en-annan-app"}}, "wrong audience"),
        ({"claims": {"iss": "https://login.example.net/fel"}}, "wrong issuer"),
        ({"claims": {"exp": 1_000_000_000, "iat": 999_999_000}}, "expired"),
        ({"nonce": "en-gammal-nonce"}, "another sign-in's nonce"),
    ],
)
def test_a_bent_id_token_is_refused(
    browser: TestClient, provider: OidcProvider, bend: dict[str, object], why: str
) -> None:
    response = sign_in(browser, provider, HEAD, **bend)
    assert response.status_code == 403, why  # type: ignore[attr-defined]
    assert "Inloggningen gick inte igenom" in response.text  # type: ignore[attr-defined]
    assert browser.get("/mitt").status_code == 303  # not signed in


def test_a_replayed_answer_is_refused(browser: TestClient, provider: OidcProvider) -> None:
    back = provider.authorize(start(browser), email=HEAD)
    assert browser.get(path_and_query(back)).status_code == 303
    page = browser.get("/mitt").text
    browser.post(
        "/logga-ut", data={"csrf": csrf_of(page)}
    )  # the session ends; the old answer comes back
    assert browser.get(path_and_query(back)).status_code == 403
    assert browser.get("/mitt").status_code == 303


def test_a_token_for_an_earlier_sign_in_is_refused(
    browser: TestClient, provider: OidcProvider
) -> None:
    first = parse_qs(urlsplit(start(browser)).query)["nonce"][0]
    response = sign_in(browser, provider, HEAD, nonce=first)
    assert response.status_code == 403  # type: ignore[attr-defined]


def test_someone_outside_the_directory_is_not_let_in(
    browser: TestClient, provider: OidcProvider
) -> None:
    response = sign_in(browser, provider, "okand@example.se")
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert "finns inte i Bevakning" in response.text  # type: ignore[attr-defined]


def signin_client(tmp_path: Path, oidc: dict[str, object]) -> TestClient:
    """A fresh app and browser for a provider of the test's own, which the test may stop."""
    app = App(make_config(f"sqlite:///{tmp_path / 'lone.db'}", tmp_path, web__oidc=oidc))
    app.init(NOW)
    return TestClient(create_app(app, clock=Clock(NOW)), follow_redirects=False)


def test_a_provider_that_does_not_answer_gets_a_try_again_page(tmp_path: Path) -> None:
    with OidcProvider() as lone:
        oidc = lone.settings()  # started and stopped: its address now refuses connections
    with signin_client(tmp_path, oidc) as browser:
        response = browser.get("/logga-in")
    assert response.status_code == 503
    assert "Kommunens inloggning svarar inte just nu" in response.text


def test_a_provider_gone_before_its_answer_is_redeemed_gets_a_try_again_page(
    tmp_path: Path,
) -> None:
    with OidcProvider() as lone:
        browser = signin_client(tmp_path, lone.settings())
        back = lone.authorize(start(browser), email=HEAD)
    # The code comes back after the provider stopped: its token endpoint does not answer.
    with browser:
        response = browser.get(path_and_query(back))
        assert response.status_code == 503
        assert "Kommunens inloggning svarar inte just nu" in response.text
        assert browser.get("/mitt").status_code == 303  # not signed in


def test_the_session_expires_after_the_configured_hours(
    browser: TestClient, provider: OidcProvider, clock: Clock
) -> None:
    sign_in(browser, provider, HEAD)
    clock.now = NOW + timedelta(hours=7, minutes=59)
    assert browser.get("/mitt").status_code == 200
    clock.now = NOW + timedelta(hours=8, minutes=1)
    response = browser.get("/mitt")
    assert response.status_code == 303 and response.headers["location"] == "/logga-in"


def test_sign_out_ends_the_session_and_needs_the_form(
    browser: TestClient, provider: OidcProvider
) -> None:
    sign_in(browser, provider, HEAD)
    page = browser.get("/mitt").text
    assert browser.post("/logga-ut", data={}).status_code == 403  # no CSRF field
    assert browser.get("/mitt").status_code == 200
    out = browser.post("/logga-ut", data={"csrf": csrf_of(page)})
    assert out.status_code == 303
    assert browser.get("/mitt").status_code == 303


def test_with_sign_in_configured_the_password_is_off(
    browser: TestClient, web_app: Starlette
) -> None:
    form = browser.get("/admin/login")
    assert "Logga in med kommunens konto" in form.text and 'type="password"' not in form.text
    # A valid form posted anyway, as a script would: the password is refused all the same.
    csrf = web_app.state.web.csrf.field_value(browser.cookies["bv_csrf"], "/admin/login")
    response = browser.post("/admin/login", data={"csrf": csrf, "password": "lösen"})
    assert response.status_code == 403
    assert browser.get("/admin/oversikt").status_code == 303


def test_without_sign_in_configured_the_password_still_works(
    tmp_path: Path,
) -> None:
    config = make_config(
        f"sqlite:///{tmp_path / 'pw.db'}", tmp_path, web={"admin_password": "lösen"}
    )
    app = App(config)
    app.init(NOW)
    try:
        with TestClient(create_app(app, clock=Clock(NOW)), follow_redirects=False) as c:
            form = c.get("/admin/login").text
            assert 'type="password"' in form
            signed = c.post("/admin/login", data={"csrf": csrf_of(form), "password": "lösen"})
            assert signed.status_code == 303
            assert c.get("/logga-in").headers["location"] == "/admin/login"
    finally:
        app.engine.dispose()


def test_the_overviews_report_links_work_signed_in_only(
    browser: TestClient, provider: OidcProvider
) -> None:
    assert browser.get("/mitt/rapport/tillitsfull-dialog.json").status_code == 303
    sign_in(browser, provider, HEAD)
    page = browser.get("/mitt").text
    assert 'href="/mitt/rapport/tillitsfull-dialog.json"' in page
    assert browser.get("/mitt/rapport/tillitsfull-dialog.json").status_code == 200


def test_someone_deactivated_while_signed_in_sees_no_overview_and_no_report(
    browser: TestClient, provider: OidcProvider, oidc_app: App
) -> None:
    sign_in(browser, provider, HEAD)
    assert browser.get("/mitt").status_code == 200
    with oidc_app.sessions() as session, session.begin():
        person = session.scalar(select(Person).where(Person.email == HEAD))
        assert person is not None
        person.active = False  # left the administration: the directory no longer holds her
    page = browser.get("/mitt")
    assert page.status_code == 403 and "Du finns inte i Bevakning" in page.text
    assert browser.get("/mitt/rapport/tillitsfull-dialog.json").status_code == 403
