"""Fixtures for the projects tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from center.core import pdf as core_pdf


@pytest.fixture(scope="session", autouse=True)
def _stop_pdf_workers() -> Iterator[None]:
    yield
    core_pdf.shutdown()
