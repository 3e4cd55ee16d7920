"""Every setting the portal reads is in README.md's configuration tables."""

from __future__ import annotations

import re
from pathlib import Path

from config.settings import DEFAULTS

README = Path(__file__).resolve().parents[2] / "README.md"
GUNICORN = Path(__file__).resolve().parents[2] / "config" / "gunicorn.py"


def _documented() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Configuration"):text.index("## Production")]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def test_every_setting_is_documented_with_default_and_meaning() -> None:
    read = set(DEFAULTS) | {"SECRET_KEY", "CENTER_INSTANCE_PATH"}
    read |= set(re.findall(r'os\.environ\.(?:get|setdefault)\(\s*"([A-Z_]+)"',
                           GUNICORN.read_text()))
    assert "GUNICORN_WORKERS" in read and "PROMETHEUS_MULTIPROC_DIR" in read
    missing = sorted(read - _documented())
    assert not missing, f"settings missing from README.md's tables: {missing}"


def test_every_row_has_a_default_and_a_meaning() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Configuration"):text.index("## Production")]
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            assert len(cells) == 3 and all(cells), line
