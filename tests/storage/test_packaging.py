"""The migrations ship inside the package and are found without depending on the working directory."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_open_db_from_another_directory(tmp_path: Path) -> None:
    """open_db migrates a new database when run from a directory with no alembic.ini in sight."""
    code = (
        "from storage.engine import open_db; from storage import migrate; "
        "db = open_db('sqlite:///elsewhere.sqlite3'); "
        "print(migrate.current_revision(db.engine) == migrate.head_revision()); db.dispose()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
    assert (tmp_path / "elsewhere.sqlite3").is_file()


def test_wheel_contains_the_migrations(tmp_path: Path) -> None:
    """The built wheel carries env.py, script.py.mako and every revision under storage/migrations."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("mfawatch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    revisions = {
        f"storage/migrations/versions/{p.name}"
        for p in (REPO / "storage" / "migrations" / "versions").glob("*.py")
    }
    assert {"storage/migrations/env.py", "storage/migrations/script.py.mako"} <= names
    assert revisions and revisions <= names
