"""The storage layer under the catalog (knowledge) and the audit trail, accounts and training
records (guardrails, copilot): an SQLite file in the home, or a shared PostgreSQL database.

The bottom layer: it imports no other package of the project.
"""

from .database import (
                       POSTGRESQL,
                       SQLITE,
                       Connection,
                       Database,
                       Location,
                       PostgresDatabase,
                       Row,
                       SQLiteDatabase,
                       as_database,
                       check_postgres_url,
                       open_database,
                       redact_url,
)
from .errors import (
                       DatabaseUrlError,
                       SchemaError,
                       StorageBusyError,
                       StorageError,
                       StorageUnavailableError,
)
from .migrations import (
                       Migration,
                       Schema,
                       current_version,
                       grant,
                       open_schema,
                       require,
                       status,
                       upgrade,
)

__all__ = ["POSTGRESQL", "SQLITE", "Connection", "Database", "DatabaseUrlError", "Location",
           "Migration", "PostgresDatabase", "Row", "SQLiteDatabase", "Schema", "SchemaError",
           "StorageBusyError", "StorageError", "StorageUnavailableError", "as_database",
           "check_postgres_url", "current_version", "grant", "open_database", "open_schema",
           "redact_url", "require", "status", "upgrade"]
