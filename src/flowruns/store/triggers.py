"""A set of triggers that one store module keeps, declared once: each trigger's name and table,
the PostgreSQL functions they call, and each engine's statements that create them. Creating and
dropping them, the migrations, ``db copy`` (which drops some while it loads) and the schema
tests all read the declaration.

The statements are each engine's own procedural SQL, as a schema revision is: written out per
engine (by dialect name), not assembled from the dialect's expression pieces.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from flowruns.store.dialect import dialect_of


@dataclass(frozen=True)
class Triggers:
    """Triggers by name with their tables (``on``), created by ``create[dialect name]``; on
    PostgreSQL they call ``functions`` (names, no arguments), dropped with them."""

    on: Mapping[str, str]
    create: Mapping[str, Sequence[str]]
    functions: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[str]:
        return iter(self.on)

    def __len__(self) -> int:
        return len(self.on)

    def install(self, connection: Connection) -> None:
        """Create the triggers (and functions); their tables exist."""
        for statement in self.create[dialect_of(connection).name]:
            connection.execute(text(statement))  # text(): '%' is not a placeholder

    def uninstall(self, connection: Connection) -> None:
        """Drop what :meth:`install` created."""
        postgresql = dialect_of(connection).name == "postgresql"
        for trigger, table in self.on.items():
            connection.exec_driver_sql(
                f"DROP TRIGGER {trigger}" + (f" ON {table}" if postgresql else "")
            )
        if postgresql and self.functions:
            dropped = ", ".join(f"{function}()" for function in self.functions)
            connection.exec_driver_sql(f"DROP FUNCTION {dropped}")


def all_on(table: str, *names: str) -> dict[str, str]:
    """``names``, all triggers on ``table``."""
    return dict.fromkeys(names, table)
