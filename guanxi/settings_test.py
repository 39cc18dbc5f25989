"""Test settings: the normal settings with plain static storage and a fast password hasher."""

import os
import tempfile
from pathlib import Path

from guanxi.settings import *  # noqa: F403
from guanxi.settings import DATABASES, STORAGES

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
# Argon2 is deliberately slow; the tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def _sqlite_test_db_name():
    """A file, not ":memory:", so that worker processes started by the job tests (guanxi/framework/testing/
    workers.py) open the same test database; in /dev/shm (memory) where there is one, so it stays fast.
    One file per test process (pytest-xdist appends _gw0...); files left by killed runs are removed."""
    folder = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    for old in folder.glob("guanxi-test-*.sqlite3*"):
        pid = old.name.removeprefix("guanxi-test-").split(".", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and Path("/proc/self").exists():
            old.unlink(missing_ok=True)
    return str(folder / f"guanxi-test-{os.getpid()}.sqlite3")


if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": _sqlite_test_db_name()}
