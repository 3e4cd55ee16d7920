"""Hidden fields a page sends back to the server: versions, revisions and row numbers.

They are typed by nobody, so anything but a small whole number means the page was damaged
or forged. Such a value gives the form an error (the view answers 400 or re-renders it),
never a server error from ``int()`` or from a database that cannot hold the number.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms.validators import StopValidation

#: Larger than any version, revision or row id the database holds (PostgreSQL integer).
MAX_COUNTER = 2**31 - 1


class CounterField(HiddenField):
    """A hidden whole number from 0 to `MAX_COUNTER`; ``data`` is an int, or None if empty.

    With ``required=True`` an empty value is an error too (the form needs the number).
    """

    def __init__(self, *args: Any, required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.required = required

    def process_data(self, value: Any) -> None:
        self.data = None if value in (None, "") else int(value)

    def pre_validate(self, form: Any) -> None:
        if self.required and self.data is None and not self.process_errors:
            raise StopValidation(_l("This page is out of date or damaged: reload it and try "
                                    "again."))

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or valuelist[0] in ("", None):
            self.data = None
            return
        raw = str(valuelist[0]).strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) <= MAX_COUNTER):
            self.data = None
            raise ValueError(_l("This page is out of date or damaged: reload it and try again."))
        self.data = int(raw)

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)
