"""The one error tree of mfawatch, rooted in the lowest package. Every message names what failed,
where, and what to do about it.

    MfawatchError                       every error mfawatch raises on purpose (this module)
    ├── StorageError                    the database refused or failed (this module)
    │   ├── DatabaseUnavailable         the database URL is invalid or the server cannot be reached
    │   ├── DiskFull                    a write failed because the database's disk (or quota) is full
    │   ├── MigrationError              the schema could not be brought up to date
    │   ├── ArticleNotFound             no stored article has this URL, alias or id
    │   ├── VersionNotFound             the article has no such version (or it has no content)
    │   └── DiffInputError              a diff's input or a stored diff is malformed (stored_diffs)
    ├── CrawlerError                    what the crawler raises (`crawler.errors`)
    │   ├── ConfigError                 a YAML file is invalid; carries every problem
    │   ├── FetchError                  a URL could not be fetched (and its subclasses)
    │   └── ParseError                  a page could not be turned into items or an article
    ├── DigestError                     what the digest raises (`digest.errors`)
    │   ├── SinceError                  a --since/--until value that is not a time (digest.window)
    │   ├── CursorNameError             an invalid reviewer name (digest.window)
    │   ├── ReportFilterError           a digest filter that cannot be applied (digest.report)
    │   ├── AlertRuleError              an invalid watchlist rule (digest.alerts)
    │   ├── UnknownFormatError          a digest format that does not exist (digest.formats)
    │   └── NotifyError                 a channel refused or could not be parsed (digest.notify)
    └── AlreadyRunning, LockUnavailable the daemon lock (`mfawatch.lock`)

Every package imports this root from here, since storage imports nothing of ours. The CLI
turns the tree into messages and exit codes; nothing below the CLI prints.
"""

from __future__ import annotations


class MfawatchError(Exception):
    """Base of every error mfawatch raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled as their state, not their __init__ arguments: a parse worker process sends its
        # errors back to the crawler, and most subclasses take other arguments than `args`.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(
    cls: type[MfawatchError], args: tuple[object, ...], state: dict[str, object]
) -> MfawatchError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class StorageError(MfawatchError):
    """Base of every error the storage package raises on purpose."""


class DatabaseUnavailable(StorageError):
    """The database URL is invalid, or the database cannot be opened or reached."""


class DiskFull(StorageError):
    """A write failed because the disk (or the database's size limit) is full.

    Every write runs in a transaction that is rolled back whole on this error, so what was stored
    before is intact and nothing half-written remains.
    """

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(
            f"the disk holding the database {where} is full ({reason}); nothing was lost: "
            "everything stored before is intact and the write in progress was rolled back. "
            "Free some space and run again; it picks up where it stopped"
        )


class MigrationError(StorageError):
    """Alembic could not upgrade the schema to the version this code needs."""


class ArticleNotFound(StorageError):
    """No stored article has this canonical URL, alias or id."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"no stored article has the URL, alias or id {key!r} "
            "(check the spelling, or crawl it first with `mfawatch crawl --once`)"
        )


class VersionNotFound(StorageError):
    """The article has no version with this number, or that version carries no content."""

    def __init__(self, article_id: int, number: int, why: str = "does not exist") -> None:
        self.article_id = article_id
        self.number = number
        super().__init__(
            f"article {article_id}: version {number} {why} "
            "(see `mfawatch history` for the versions it has)"
        )


# SQLSTATEs of a transaction PostgreSQL aborted only because of another one: run again, it works.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected


def is_transient(exc: BaseException) -> bool:
    """True for a database error that a new try of the same transaction can get past.

    Two writers of one PostgreSQL database that lock the same rows in different orders (two
    batches of rechecks) make the server abort one of them with `deadlock detected`.
    """
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) in _TRANSIENT_SQLSTATES
