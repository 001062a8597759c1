"""Named choices, each kind owned by one module: bases, methods, boundaries, backends.

A :class:`Registry` is the one list of what a parameter may be. Validation messages, the
command line's ``choices`` and help, and the live viewer's trackbar all read from it, so
adding an entry is the only edit a new choice needs outside its own implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from ..errors import InvalidArgumentError

__all__ = ["Entry", "Registry"]


class Entry(Protocol):
    """What every registered choice has: a name and a one-line description."""

    @property
    def name(self) -> str: ...

    @property
    def help(self) -> str: ...


E = TypeVar("E", bound=Entry)


class Registry(Generic[E]):
    """An ordered, read-only set of named entries of one kind (e.g. 'basis')."""

    def __init__(self, kind: str, entries: list[E]) -> None:
        self.kind = kind
        self._entries = {e.name: e for e in entries}
        # Other spellings accepted for an entry (e.g. 'wrap' for 'periodic').
        self._aliases = {a: e.name for e in entries for a in getattr(e, "aliases", ())}
        if len(self._entries) != len(entries) or set(self._aliases) & set(self._entries):
            raise ValueError(f"duplicate {kind} names in {[e.name for e in entries]}")

    @property
    def names(self) -> tuple[str, ...]:
        """Every name, in registration order."""
        return tuple(self._entries)

    def names_where(self, keep: Callable[[E], bool]) -> tuple[str, ...]:
        """Names of the entries ``keep`` accepts (a subset with a property in common)."""
        return tuple(name for name, e in self._entries.items() if keep(e))

    def check(self, value: Any, *, allowed: tuple[str, ...] | None = None, param: str = "") -> str:
        """Return the entry name ``value`` spells (of ``allowed``, if given), else raise.

        Aliases resolve to their entry's name. The error names the parameter (``param``,
        default the registry's kind), the value and every allowed name.
        """
        allowed = self.names if allowed is None else allowed
        if isinstance(value, str):
            value = self._aliases.get(value, value)
        if not isinstance(value, str) or value not in allowed:
            raise InvalidArgumentError(
                f"Invalid {param or self.kind} {value!r}; expected one of {allowed}"
            )
        return value

    def help(self, names: tuple[str, ...] | None = None) -> str:
        """One line per entry: ``name: description`` (command-line help, docs)."""
        chosen = self.names if names is None else names
        return "; ".join(f"{n}: {self._entries[n].help}" for n in chosen)

    def __getitem__(self, name: str) -> E:
        return self._entries[self.check(name)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[E]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)})"
