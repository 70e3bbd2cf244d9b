"""Errors of the storage layer, the same whichever database is underneath.

The stores above (audit trail, accounts, training records, catalog) turn these into their own
errors; none of them needs to know which driver raised.
"""

from __future__ import annotations


class StorageError(Exception):
    """A database could not be opened, read or written."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


class StorageBusyError(StorageError):
    """Other writers held the lock for longer than the timeout (retrying may succeed)."""


class StorageUnavailableError(StorageError):
    """The database server cannot be reached, or the connection to it was lost.

    `outcome_unknown` is set when the connection broke while a COMMIT was on its way: the
    transaction may or may not have been stored, so it must not be retried blindly.
    """

    def __init__(self, where: str, reason: str, *, outcome_unknown: bool = False) -> None:
        self.outcome_unknown = outcome_unknown
        super().__init__(where, reason)


class SchemaError(StorageError):
    """The database's schema is not the version this code needs (older or newer)."""


class DatabaseUrlError(StorageError):
    """COPILOT_DATABASE_URL is not a URL this copilot can use."""
