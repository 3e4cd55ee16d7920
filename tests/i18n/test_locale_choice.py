"""The language is chosen naturally: the browser's the first time, the switch after that,
kept in a cookie for visitors and on the account for members."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from center.auth.models import User
from center.core.db import db
from tests.world import World


def _lang(client: FlaskClient, path: str = "/login", **headers: str) -> str:
    html = client.get(path, headers=headers).get_data(as_text=True)
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def test_the_browser_chooses_the_first_time(client: FlaskClient, world: World) -> None:
    assert _lang(client, **{"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}) == "ru"
    assert _lang(client, **{"Accept-Language": "ko-KR"}) == "ko"
    assert _lang(client, **{"Accept-Language": "de-DE"}) == "en"


def test_a_visitors_choice_is_kept_in_a_cookie_over_the_browsers(client: FlaskClient,
                                                                  world: World) -> None:
    response = client.post("/language", data={"locale": "ko", "next": "/calls"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/calls"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("locale=ko;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert _lang(client, **{"Accept-Language": "ru"}) == "ko"


def test_every_page_offers_the_switch_to_visitors(client: FlaskClient, world: World) -> None:
    html = client.get(f"/{world.a.slug}/").get_data(as_text=True)
    for code, name in (("en", "English"), ("ko", "한국어"), ("ru", "Русский")):
        assert f'name="locale" value="{code}" lang="{code}"' in html and name in html


def test_a_members_choice_is_stored_on_the_account(login, client: FlaskClient, app,
                                                   world: World) -> None:
    email = world.a.emails["applicant"]
    login(email)
    client.post("/language", data={"locale": "ru", "next": "/"})
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user.locale == "ru"
    client.delete_cookie("locale")
    assert _lang(client, **{"Accept-Language": "ko"}) == "ru"


def test_an_unknown_language_is_refused_and_changes_nothing(client: FlaskClient,
                                                            world: World) -> None:
    response = client.post("/language", data={"locale": "xx"})
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers or "locale=" not in response.headers["Set-Cookie"]


def test_the_switch_never_sends_a_visitor_to_another_site(client: FlaskClient,
                                                          world: World) -> None:
    response = client.post("/language", data={"locale": "ru", "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_fields_are_described_by_ids_that_exist(client: FlaskClient, world: World) -> None:
    html = client.post(f"/{world.a.slug}/register", data={}).get_data(as_text=True)
    described = re.findall(r'aria-describedby="([^"]*)"', html)
    assert described, "the refused form marks its fields"
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    for value in described:
        assert value != "None"
        assert set(value.split()) <= ids, value
