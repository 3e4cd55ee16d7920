"""The bundled list of common passwords, and the forms that refuse them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from center.auth import services
from center.auth.models import User
from center.auth.passwords import common_passwords, is_common_password
from center.core.db import db


def test_the_bundled_list_holds_the_ten_thousand_most_common() -> None:
    words = common_passwords()
    assert 9_000 < len(words) <= 10_000
    assert {"123456", "password", "qwerty", "iloveyou"} <= words


@pytest.mark.parametrize("password", [
    "password", "Password2026!", "  qwertyuiop  ", "iloveyou123", "1234567890",
    "aaaaaaaaaaaa", "abcabcabcabc", "sunshine!!!!", "dragon2026"])
def test_common_passwords_and_trivial_variants_are_refused(password: str) -> None:
    assert is_common_password(password)


@pytest.mark.parametrize("password", [
    "correct horse battery", "a long enough pw", "Nodira 2026 apricots", "ветер над степью",
    "해바라기 정원 2026"])
def test_uncommon_passwords_pass(password: str) -> None:
    assert not is_common_password(password)


def test_the_reset_form_refuses_a_common_password_next_to_the_field(app, client, world) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == world.a.emails["applicant"]))
        token = services.password_reset_token(user)
    response = client.post(f"/password/reset/{token}", data={
        "password": "qwertyuiop123", "confirm": "qwertyuiop123"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="password-error"' in html and "most commonly used" in html
