"""Shared fixtures: real databases (SQLite file, PostgreSQL) and paths to fixture data.

Package-specific fixtures live in tests/<package>/conftest.py; the loopback site server is
tests/site.py.
"""

from __future__ import annotations

import gc
import os
import socket
import tracemalloc
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.pg import PG_URL_DEFAULT, pg_schema
from tests.site import Site

FIXTURES = Path(__file__).parent / "fixtures"

# No per-example deadline (Hypothesis's default is 200 ms): on a shared two-core machine running
# the suite on two processes it measures the load, not the code (a 32 ms example took 478 ms).
settings.register_profile("mfawatch", deadline=None)
settings.load_profile("mfawatch")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pg-url",
        default=os.environ.get("MFAWATCH_TEST_PG_URL", PG_URL_DEFAULT),
        help="PostgreSQL URL for the storage suite (env MFAWATCH_TEST_PG_URL); 'none' to skip",
    )


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The tests/fixtures folder."""
    return FIXTURES


@pytest.fixture(scope="session")
def pg_url(request: pytest.FixtureRequest) -> str:
    """The PostgreSQL test database's URL (`--pg-url`); the test is skipped with `--pg-url none`.

    Tests never use it as it is: they make a schema of their own with `tests.pg.pg_schema`.
    """
    url = str(request.config.getoption("--pg-url"))
    if url == "none":
        pytest.skip("PostgreSQL disabled with --pg-url none")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file in tmp_path, or a new schema in PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mfawatch.sqlite3'}"
        return
    with pg_schema(request.getfixturevalue("pg_url")) as url:
        yield url


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections for the whole test.

    A socket binds it and does not listen: connecting is refused, and nothing else (a server of
    the other xdist worker, an outgoing connection's ephemeral port) can take the port meanwhile,
    as it could one that was only found free and closed again.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file URL (for tests that are not about the storage dialect)."""
    return f"sqlite:///{tmp_path / 'mfawatch.sqlite3'}"


# --- loopback test site (owned by the fetch layer; see tests/site.py) -------------------------


@pytest.fixture(scope="session")
def _site_session() -> Iterator[Site]:
    with Site(FIXTURES) as site:
        yield site


@pytest.fixture
def site(_site_session: Site) -> Site:
    """The loopback test site serving tests/fixtures plus named misbehaviours, reset for each test."""
    _site_session.reset()
    return _site_session


# --- end of loopback test site ---------------------------------------------------------------


# --- leak guard --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_leaked_resources() -> Iterator[None]:
    """Fail the test that left a socket, transport, event loop or file unclosed.

    Once the test's other fixtures are torn down, a full collection runs the finalizers of what
    the test dropped (an exception's traceback often keeps a socket in a reference cycle); each
    ResourceWarning they give becomes this test's error. Without it such a leak is reported in
    whichever later test of the worker the collector happens to run in.

    What outlives the test is then frozen (`gc.freeze`), so the next test's collection walks only
    the objects made since: a full walk of a worker's heap after each test would cost minutes
    over the suite (0.1 s a test on a loaded machine). The price: a cycle of objects that outlived
    their test and were dropped later is never collected (what is kept across tests is closed by
    its fixture's teardown).
    """
    yield
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    gc.freeze()
    leaks = [_describe(w) for w in caught if issubclass(w.category, ResourceWarning)]
    if leaks:
        pytest.fail("left unclosed:\n" + "\n".join(leaks), pytrace=False)


def _describe(warning: warnings.WarningMessage) -> str:
    """The warning, the addresses of a transport, and where it was made (when tracemalloc runs,
    PYTHONTRACEMALLOC=20, and can tell: not for instances of Python classes on 3.11)."""
    lines = [str(warning.message)]
    source = warning.source
    get_extra_info = getattr(source, "get_extra_info", None)
    if callable(get_extra_info):
        protocol = getattr(source, "_protocol", None)
        lines.append(
            f"    sockname {get_extra_info('sockname')}, peername {get_extra_info('peername')}, "
            f"protocol {type(protocol).__module__}.{type(protocol).__qualname__}"
        )
    made = tracemalloc.get_object_traceback(source) if source is not None else None
    if made is not None:
        lines.extend("    " + line for line in made.format())
    return "\n".join(lines)
