"""What the deployment files promise, checked without a Docker engine: migrations are a
release step and never part of a start; every long-running service has a health check; the
portal's processes wait for the release; the image installs from the lock file."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ("web", "worker", "scheduler")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _command(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_the_image_serves_without_migrating_and_installs_the_lock() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    # The last CMD is the start command (an earlier one belongs to HEALTHCHECK).
    cmd = [line for line in lines if line.startswith("CMD")][-1]
    assert "gunicorn" in cmd and "db upgrade" not in cmd and "config/gunicorn.py" in cmd
    installs = [line for line in lines if "pip install" in line]
    assert any("--require-hashes -r requirements.lock" in line for line in installs)
    assert all("--require-hashes" in line or "--no-deps" in line for line in installs)


def test_compose_runs_every_process_with_a_health_check() -> None:
    services = _compose()["services"]
    assert {"web", "worker", "scheduler", "postgres", "redis", "s3", "release"} <= set(services)
    for name, service in services.items():
        if name in ("release", "s3-bucket"):  # one-shot: they run to the end and exit
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert "gunicorn" in _command(services["web"])
    assert "readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert _command(services["worker"]).endswith("worker")
    assert _command(services["scheduler"]).endswith("scheduler")


def test_only_the_release_step_migrates_and_the_portal_waits_for_it() -> None:
    services = _compose()["services"]
    migrating = [name for name, s in services.items() if "db upgrade" in _command(s)]
    assert migrating == ["release"]
    assert "DATABASE_OWNER_URL" in services["release"]["environment"]
    for name in PORTAL:
        depends = services[name]["depends_on"]
        assert depends["release"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        environment = services[name]["environment"]
        assert environment["CENTER_ENV"] == "production"
        assert environment["STORAGE_URL"].startswith("s3://")
        assert environment["DATABASE_URL"].startswith("postgresql+psycopg://center_app:")
