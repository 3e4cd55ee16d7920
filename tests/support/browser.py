"""Helpers for browser tests: screenshots and signing in through the real form."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def screenshot(page, name: str) -> Path:  # noqa: ANN001
    """Save a full-page screenshot under test-artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, email: str, password: str) -> None:  # noqa: ANN001
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


# --- axe-core in every page a browser test visits ------------------------------------------

AXE = ROOT / "tests" / "browser" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
#: Violations of these impacts fail the test; "minor" and "moderate" ones are left to review.
AXE_FAILING = ("serious", "critical")
#: Run axe once each HTML document (not a frame, a PDF or a JSON answer) has loaded, and
#: report its serious and critical violations to the test through a binding.
_AXE_RUNNER = """
(() => {
  if (window.top !== window) return;
  window.addEventListener('load', () => {
    if (document.contentType !== 'text/html' || typeof axe === 'undefined') return;
    window.__axeDone = axe.run(document, {resultTypes: ['violations']}).then(result => {
      const failing = %s;
      const violations = result.violations.filter(v => failing.includes(v.impact)).map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
      }));
      return window.__axeReport({url: location.href, lang: document.documentElement.lang,
                                 violations});
    }).catch(() => null);
  });
})();
"""


class AxeWatch:
    """Check every page of a browser context with axe-core; collect what fails."""

    def __init__(self, context) -> None:  # noqa: ANN001
        if not AXE.exists():
            raise RuntimeError(f"{AXE} is missing: `make install-test` installs axe-core")
        self.reports: list[dict] = []
        context.add_init_script(path=str(AXE))
        context.add_init_script(script=_AXE_RUNNER % list(AXE_FAILING))
        context.expose_binding("__axeReport", lambda _source, report: self.reports.append(report))

    def settle(self, page) -> None:  # noqa: ANN001
        """Wait for the check of the page being shown, which may still be running."""
        for _attempt in range(3):  # a navigation may replace the page meanwhile
            if page.is_closed():
                return
            page.wait_for_load_state()
            try:
                page.evaluate("() => window.__axeDone || null")
                return
            except PlaywrightError:
                continue

    def failures(self) -> list[str]:
        return [f"{r['url']} ({r['lang']}): {v['impact']} {v['id']}: {v['help']} at "
                f"{', '.join(v['nodes'])}"
                for r in self.reports for v in r["violations"]]

    @property
    def pages_checked(self) -> int:
        return len(self.reports)


# --- what a label reads in another language --------------------------------------------------

_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@lru_cache(maxsize=4)
def _catalogue(locale: str) -> dict[str, str]:
    from center.translations import tools

    return {m.id: m.string for m in tools.load(locale)
            if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string}


def shown_as(text: str, locale: str, **values: str) -> str:
    """What the English ``text`` reads as in ``locale``, for locating it on a page: the
    message's translation, with ``values`` put in; for a fragment of a longer message, the
    longest part of its translation without placeholders. Text that is no message (a name)
    stays as it is."""
    catalogue = _catalogue(locale)
    if text in catalogue:
        return catalogue[text] % values if values else catalogue[text]
    containing = [msgid for msgid in catalogue if text in msgid]
    if len(containing) != 1:
        return text
    return max(_PLACEHOLDER.split(catalogue[containing[0]]), key=len).strip(" .,:;")
