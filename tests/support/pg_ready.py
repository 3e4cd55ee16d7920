"""Exit 0 when PostgreSQL answers at the URL given, trying to start a local cluster once."""

from __future__ import annotations

import glob
import subprocess
import sys
import time

import psycopg


def reachable(url: str) -> bool:
    try:
        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                        connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def start_local_cluster() -> None:
    """Start the Debian cluster if this machine has one that is stopped."""
    for conf in glob.glob("/etc/postgresql/*/main"):
        version = conf.split("/")[3]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                       check=False, capture_output=True)


def main(url: str) -> int:
    if reachable(url):
        return 0
    start_local_cluster()
    for _ in range(10):
        time.sleep(1)
        if reachable(url):
            return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
