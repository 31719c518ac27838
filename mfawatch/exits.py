"""Exit codes, and library errors turned into a message and one of them (only at the edge).

0 when everything worked, 1 when some source or item failed (each failure named), 2 for bad
usage or an invalid configuration (a database that cannot be opened or reached, belongs to
another program or is newer than this mfawatch counts: the `--db` given cannot be used). Nothing below the commands prints or exits.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from crawler.errors import ConfigError, MfawatchError
from mfawatch.terminal import echo
from storage.errors import DatabaseUnavailable, MigrationError, StorageError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def handle_errors(func: F) -> F:
    """Turn mfawatch errors into a clear message and the documented exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            echo(f"mfawatch: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except KeyError as exc:  # an unknown source key or article id
            echo(f"mfawatch: {exc.args[0] if exc.args else exc}", err=True)
            sys.exit(EXIT_USAGE)
        except (DatabaseUnavailable, MigrationError) as exc:  # the --db given cannot be used
            echo(f"mfawatch: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except (MfawatchError, StorageError) as exc:
            echo(f"mfawatch: {exc}", err=True)
            sys.exit(EXIT_FAILED)

    return wrapper  # type: ignore[return-value]
