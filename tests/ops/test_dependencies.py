"""Every package the code imports is declared in pyproject.toml, and the lock files pin a
version of each declared package that its bounds allow (both locks alike)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCAL = {"center", "config", "tests", "bench", "wsgi", "migrations"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements(group: str | None = None) -> list[Requirement]:
    project = _pyproject()["project"]
    raw = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return [Requirement(line) for line in raw]


def _declared() -> set[str]:
    groups = [None, *_pyproject()["project"]["optional-dependencies"]]
    return {canonicalize_name(r.name) for group in groups for r in _requirements(group)}


def _imported_modules() -> dict[str, Path]:
    """Top-level module -> one file importing it, over the code, tests and benchmarks."""
    files = [ROOT / "wsgi.py", *[p for folder in ("center", "config", "tests", "bench")
                                 for p in (ROOT / folder).rglob("*.py")]]
    found: dict[str, Path] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path)
    return {name: path for name, path in found.items()
            if name not in LOCAL and name not in sys.stdlib_module_names
            and name != "__future__"}


#: Modules of optional extras that need a system library and may not be installed here
#: (their import is guarded), by the distribution that provides them.
NOT_INSTALLED_OPTIONAL = {"icu": "pyicu"}


def test_every_imported_package_is_declared() -> None:
    declared = _declared()
    distributions = packages_distributions()
    undeclared = []
    for module, path in sorted(_imported_modules().items()):
        dists = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not dists and module in NOT_INSTALLED_OPTIONAL:
            dists = {NOT_INSTALLED_OPTIONAL[module]}
        if not dists & declared:
            undeclared.append(f"{module} ({', '.join(sorted(dists)) or 'not installed'}; "
                              f"{path.relative_to(ROOT)})")
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {canonicalize_name(name): version
            for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s\\;]+)",
                                            text, re.MULTILINE)}


def test_the_locks_pin_what_pyproject_allows() -> None:
    runtime, test = _pins("requirements.lock"), _pins("requirements-test.lock")
    problems = []
    for lock, pins, groups in (("requirements.lock", runtime, [None, "semantic"]),
                               ("requirements-test.lock", test, [None, "semantic", "test"])):
        for requirement in (r for group in groups for r in _requirements(group)):
            version = pins.get(canonicalize_name(requirement.name))
            if version is None:
                problems.append(f"{requirement.name} is not in {lock}")
            elif not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{lock} pins {requirement.name}=={version}, outside "
                                f"{requirement.specifier}")
    assert not problems, "run `make lock`: " + "; ".join(problems)
    differing = {name: (version, test[name]) for name, version in runtime.items()
                 if test.get(name) != version}
    assert not differing, f"the two locks disagree: {differing}"


def test_every_pin_has_hashes() -> None:
    for lock in ("requirements.lock", "requirements-test.lock"):
        entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text().strip())
        unhashed = [e.split()[0] for e in entries
                    if not e.startswith("#") and "--hash=sha256:" not in e]
        assert not unhashed, f"{lock}: no hash for {unhashed}"
