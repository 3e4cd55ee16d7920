"""The portal as the worker tests run it: ``flask --app 'tests.core.jobs_worker:create_worker_app()'
worker``, with the settings from the environment and one task that holds its first attempt."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from flask import Flask

from center import create_app
from center.core.jobs import Job, task

HOLD_TASK = "test.hold_first_attempt"


@task(HOLD_TASK)
def _hold_first_attempt(job: Job, *, gate: str) -> dict[str, Any]:
    """Attempt 1 reports that it runs, then waits for ``gate`` (the test kills the worker
    meanwhile); a later attempt finishes at once and says which process ran it."""
    job.advance(0, 1, f"attempt {job.attempts} in {os.getpid()}")
    if job.attempts == 1:
        deadline = time.monotonic() + 120
        while not Path(gate).exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the test never killed this worker")
            time.sleep(0.05)
    return {"attempt": job.attempts, "pid": os.getpid()}


def create_worker_app() -> Flask:
    return create_app()
