"""Audit the installed packages for known vulnerabilities with pip-audit (``make test``).

Exit 1 when pip-audit reports a vulnerability. When the vulnerability source cannot be
reached (no network, a timeout, every package "not found"), say so plainly and exit 0: a
machine (or CI runner) that reaches only a package mirror cannot look vulnerabilities up, and
that must not fail the tests. pip-audit itself exits 0 when it could audit nothing at all,
so its JSON is read here rather than trusting its exit status.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: Seconds for the whole audit, and for each request pip-audit makes.
TOTAL_TIMEOUT = 180
REQUEST_TIMEOUT = 10


@dataclass
class Outcome:
    audited: int = 0
    skipped: list[str] = field(default_factory=list)
    vulnerable: list[str] = field(default_factory=list)


def read_report(report: dict) -> Outcome:
    """Sort pip-audit's JSON report into audited, skipped and vulnerable packages."""
    outcome = Outcome()
    for dep in report.get("dependencies", []):
        if dep.get("skip_reason"):
            outcome.skipped.append(dep["name"])
            continue
        outcome.audited += 1
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            outcome.vulnerable.append(
                f"{dep['name']} {dep.get('version', '?')}: {vuln.get('id')} (fixed in {fixes})")
    return outcome


def _unreachable(reason: str) -> int:
    print(f"Dependency audit SKIPPED: the vulnerability source could not be reached ({reason}).")
    return 0


def run(command: list[str]) -> int:
    """Run pip-audit and return the exit status ``make test`` should see."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TOTAL_TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired:
        return _unreachable(f"no answer within {TOTAL_TIMEOUT} s")
    try:
        outcome = read_report(json.loads(done.stdout))
    except (json.JSONDecodeError, AttributeError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return _unreachable(f"pip-audit exited {done.returncode}: {last[:200]}")
    if outcome.vulnerable:
        print(f"Dependency audit FAILED: {len(outcome.vulnerable)} known vulnerabilities:")
        for line in outcome.vulnerable:
            print(f"  {line}")
        return 1
    if outcome.audited == 0:
        return _unreachable(f"none of {len(outcome.skipped)} packages could be looked up")
    print(f"Dependency audit passed: {outcome.audited} packages with no known vulnerability"
          + (f"; {len(outcome.skipped)} not on the index (local packages): "
             f"{', '.join(outcome.skipped)}" if outcome.skipped else "."))
    return 0


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    if not pip_audit.exists():
        print(f"Dependency audit FAILED: {pip_audit} is missing; install the test extra "
              "(pip install -e '.[test]').")
        return 1
    return run([str(pip_audit), "--local", "--skip-editable", "--format", "json",
                "--progress-spinner", "off", "--timeout", str(REQUEST_TIMEOUT)])


if __name__ == "__main__":
    sys.exit(main())
