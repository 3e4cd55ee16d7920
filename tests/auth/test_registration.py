"""Registration by e-mail link, which never tells whether an address has an account."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from center.auth.models import PendingRegistration, User
from center.core.db import all_tenants, db
from center.tenants.models import Membership
from tests.auth.helpers import link_path, mails_to
from tests.world import World

FORM = {"name": "Nodira Karimova", "email": "Nodira@Botany.example",
        "password": "a long enough pw", "confirm": "a long enough pw"}


def _register(client, world: World, **changes: str):  # noqa: ANN001, ANN202
    return client.post(f"/{world.a.slug}/register", data={**FORM, **changes})


def test_registration_mails_a_link_that_creates_the_applicant(app, client, world) -> None:
    response = _register(client, world)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "nodira@botany.example")) \
            is None
    mail = mails_to(app, "nodira@botany.example")[-1]
    assert "Confirm your registration" in mail.subject
    path = link_path(mail.body, "/register/confirm/")
    assert client.get(path).status_code == 200  # a page with a button: scanners only GET
    response = client.post(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/{world.a.slug}/dashboard")
    with app.app_context(), all_tenants():
        user = db.session.scalar(select(User).where(User.email == "nodira@botany.example"))
        roles = db.session.scalars(select(Membership.role).where(Membership.user_id == user.id))
        assert list(roles) == ["applicant"]
        assert user.password_hash.startswith("$argon2id$")
        assert db.session.scalar(select(func.count()).select_from(PendingRegistration).where(
            PendingRegistration.email == "nodira@botany.example")) == 0
    assert "Welcome" in mails_to(app, "nodira@botany.example")[-1].subject
    assert client.get(f"/{world.a.slug}/dashboard").status_code == 200
    # The link is used up.
    client.post("/logout")
    assert client.post(path).status_code == 404
    assert "expired or was already used" in client.get(path).get_data(as_text=True)


def test_registering_an_existing_address_answers_the_same_and_mails_its_owner(
        app, world: World) -> None:
    answers = []
    for email in ("nodira@botany.example", world.b.emails["officer"]):
        client = app.test_client()
        response = _register(client, world, email=email.upper())
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        answers.append((response.status_code, response.headers["Location"],
                        page.replace(email, "EMAIL")))
    assert answers[0] == answers[1]
    assert "Check your e-mail" in answers[0][2]
    mail = mails_to(app, world.b.emails["officer"])[-1]
    assert "already has an account" in mail.body and "/register/confirm/" not in mail.body
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == world.b.emails["officer"]))
        assert owner.name == "Officer of beta"  # nothing about the account changed


def test_registration_errors_are_shown_next_to_fields_and_keep_input(client, world) -> None:
    response = _register(client, world, email="not-an-address", password="short",
                         confirm="other")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="email-error"' in html and 'id="password-error"' in html
    assert 'id="confirm-error"' in html
    assert 'value="Nodira Karimova"' in html
    assert "short" not in html.split("<form", 1)[1].split("</form>")[0].replace(
        "shortcut", "")  # a password is never sent back


def test_a_common_password_is_refused_next_to_the_field(client, world: World) -> None:
    response = _register(client, world, password="password2026!", confirm="password2026!")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="password-error"' in html and "most commonly used" in html


def test_two_links_for_one_address_make_one_account_and_no_error(app, client, world) -> None:
    _register(client, world)
    _register(client, world, name="Nodira K.")
    first, second = (link_path(m.body, "/register/confirm/")
                     for m in mails_to(app, "nodira@botany.example"))
    assert client.post(first).status_code == 302
    client.post("/logout")
    assert client.post(second).status_code == 404  # every link of the address is used up
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(
            User.email == "nodira@botany.example")) == 1


def test_concurrent_confirmations_give_one_account_and_no_server_error(
        app, world: World) -> None:
    clients = [app.test_client() for _ in range(4)]
    for index, c in enumerate(clients):
        c.post(f"/{world.a.slug}/register", data={**FORM, "name": f"Nodira {index}"})
    paths = [link_path(m.body, "/register/confirm/")
             for m in mails_to(app, "nodira@botany.example")]
    codes: list[int] = []
    barrier = threading.Barrier(len(clients))

    def confirm(c, path: str) -> None:  # noqa: ANN001
        barrier.wait()
        codes.append(c.post(path).status_code)

    threads = [threading.Thread(target=confirm, args=pair)
               for pair in zip(clients, paths, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One creates the account; the others find it made (302 to sign in) or their link used
    # up (404): never a server error.
    assert len(codes) == 4 and set(codes) <= {302, 404} and 302 in codes
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(
            User.email == "nodira@botany.example")) == 1


def test_huge_or_nul_values_get_a_clear_client_error(client, world: World) -> None:
    huge = _register(client, world, name="N" * 100_000, email="a" * 100_000 + "@x.example")
    assert huge.status_code == 422
    assert _register(client, world, name="Nodira\x00").status_code == 400
    assert client.post("/login", data={"email": "x@y.example", "password": "p\x00w"}
                       ).status_code == 400
    assert client.post("/login", data={"email": "e" * 400_000, "password": "p" * 400_000}
                       ).status_code == 422
