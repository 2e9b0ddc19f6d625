"""The operations one process may ask of another, each with the types of its arguments and result.

An operation is registered once, in a module both ends import::

    OPS = Ops()
    PLAYER = OPS.add("player", args=NoArgs, result=PlayerView)

``args`` and ``result`` are anything msgspec validates: Structs, frozen dataclasses (checked field by
field, nested ones too), lists, tuples, ``None``'s type. The caller names the ``OpSpec`` itself
(``bus.call(guild_id, PLAYER, NoArgs())`` is typed ``PlayerView``), never a string; the name only
travels on the wire, where the serving end looks the types up again and validates the arguments
before its handler sees them. Serving: ``Handlers().on(PLAYER, player_handler)`` checks each
handler's signature against its operation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

A = TypeVar("A")
R = TypeVar("R")

_ENCODER = msgspec.json.Encoder()

Handler = Callable[[int | None, Any], Awaitable[Any]]
"""Serves one operation: ``(guild_id or None for node-wide calls, validated args) -> result``."""


@dataclass(frozen=True)
class OpSpec(Generic[A, R]):
    """One operation: its wire name and the types its arguments and result are validated against."""

    name: str
    args: type[A]
    result: type[R]

    def encode_args(self, args: A) -> msgspec.Raw:
        """``args`` as JSON, checked against ``self.args`` (a ``TypeError`` for the caller's bug)."""
        return _checked(args, self.args, f"arguments of {self.name!r}")

    def decode_args(self, raw: msgspec.Raw | bytes) -> A:
        """Raises ``msgspec.ValidationError`` (or ``DecodeError``) naming the field that is wrong."""
        return msgspec.json.decode(raw, type=self.args)

    def encode_result(self, value: R) -> msgspec.Raw:
        return _checked(value, self.result, f"result of {self.name!r}")

    def decode_result(self, raw: msgspec.Raw | bytes) -> R:
        return msgspec.json.decode(raw, type=self.result)


def _checked(value: object, kind: type[Any], what: str) -> msgspec.Raw:
    # Encoding alone does not check types (a str where an int belongs encodes fine): decoding the
    # bytes again with the declared type does, so a mistake shows at the end that made it, not as
    # a puzzling refusal in another process.
    try:
        data = _ENCODER.encode(value)
        msgspec.json.decode(data, type=kind)
    except (TypeError, msgspec.EncodeError, msgspec.DecodeError) as err:
        raise TypeError(f"The {what} do not match its declared type: {err}") from err
    return msgspec.Raw(data)


class Ops:
    """The registry of operations, by name; the same on every process (a module both import)."""

    def __init__(self) -> None:
        self._specs: dict[str, OpSpec[Any, Any]] = {}

    def add(self, name: str, args: type[A], result: type[R]) -> OpSpec[A, R]:
        if not name or len(name) > 64:
            raise ValueError(f"An operation's name is 1 to 64 characters: {name!r}")
        if name in self._specs:
            raise ValueError(f"The operation {name!r} is registered twice")
        spec = OpSpec(name, args, result)
        self._specs[name] = spec
        return spec

    def get(self, name: str) -> OpSpec[Any, Any] | None:
        return self._specs.get(name)

    def __contains__(self, spec: object) -> bool:
        return isinstance(spec, OpSpec) and self._specs.get(spec.name) is spec


class Handlers(Mapping[str, Handler]):
    """The handlers a node serves, by operation name, each checked against its ``OpSpec`` by mypy."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def on(self, spec: OpSpec[A, R], handler: Callable[[int | None, A], Awaitable[R]]) -> Handlers:
        if spec.name in self._handlers:
            raise ValueError(f"Two handlers for {spec.name!r}")
        self._handlers[spec.name] = handler
        return self

    def __getitem__(self, name: str) -> Handler:
        return self._handlers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._handlers)

    def __len__(self) -> int:
        return len(self._handlers)
