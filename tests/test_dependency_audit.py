"""``make test`` audits dependencies: a vulnerability fails it, an unreachable source does not."""

from __future__ import annotations

import json
import sys

import pytest

from tests.support import dependency_audit


def _fake_pip_audit(tmp_path, report: dict | None, *, sleep: float = 0) -> list[str]:  # noqa: ANN001
    script = tmp_path / "fake_pip_audit.py"
    body = "import sys, time\n" f"time.sleep({sleep})\n"
    if report is None:
        body += "print('ConnectionError: could not reach the service', file=sys.stderr)\n"
        body += "sys.exit(1)\n"
    else:
        body += f"print({json.dumps(json.dumps(report))})\n"
    script.write_text(body)
    return [sys.executable, str(script)]


def test_a_known_vulnerability_fails_the_audit(tmp_path, capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("CI", raising=False)
    report = {"dependencies": [
        {"name": "flask", "version": "3.1.0", "vulns": []},
        {"name": "jinja2", "version": "3.0.0",
         "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["3.1.5"]}]}]}
    assert dependency_audit.run(_fake_pip_audit(tmp_path, report)) == 1
    assert "jinja2 3.0.0: GHSA-xxxx (fixed in 3.1.5)" in capsys.readouterr().out


def test_a_clean_audit_passes(tmp_path, capsys) -> None:  # noqa: ANN001
    report = {"dependencies": [{"name": "flask", "version": "3.1.0", "vulns": []},
                               {"name": "center", "skip_reason": "not on the index"}]}
    assert dependency_audit.run(_fake_pip_audit(tmp_path, report)) == 0
    assert "1 packages with no known vulnerability" in capsys.readouterr().out


@pytest.mark.parametrize("report", [
    None,
    {"dependencies": [{"name": "flask", "skip_reason": "Dependency not found"}]},
], ids=["error", "nothing-looked-up"])
def test_an_unreachable_source_is_reported_and_skipped(tmp_path, capsys, monkeypatch,  # noqa: ANN001
                                                       report) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert dependency_audit.run(_fake_pip_audit(tmp_path, report)) == 0
    assert "Dependency audit SKIPPED" in capsys.readouterr().out


def test_an_unreachable_source_is_skipped_under_ci_too(tmp_path, capsys,  # noqa: ANN001
                                                        monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert dependency_audit.run(_fake_pip_audit(tmp_path, None)) == 0
    assert "Dependency audit SKIPPED" in capsys.readouterr().out


def test_a_hanging_audit_times_out_and_is_skipped(tmp_path, capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(dependency_audit, "TOTAL_TIMEOUT", 1)
    assert dependency_audit.run(_fake_pip_audit(tmp_path, {}, sleep=30)) == 0
    assert "no answer within 1 s" in capsys.readouterr().out
