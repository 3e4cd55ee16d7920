"""Form fields carry real ARIA references, never the text "None"."""

from __future__ import annotations


def test_fields_without_errors_or_hints_carry_no_dangling_aria(client, world, login) -> None:
    login(world.a.emails["applicant"])
    html = client.get("/account").get_data(as_text=True)
    assert 'aria-describedby="None"' not in html and 'aria-invalid="None"' not in html
    assert '="None"' not in html
