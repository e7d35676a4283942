"""The signed state of a delta client: ``$deltatoken`` in a deltaLink, ``$skiptoken`` in the
nextLinks of a delta round.

A token is signed like a skiptoken (:class:`~flowruns.odata.skiptoken.SkipTokenCodec`) and
bound to the tenant and the collection it was issued for; it carries the round's ``$select``
and ``$filter`` (a client does not repeat them), the change log's epoch, when it was issued,
and its place in the log:

- ``state`` (a deltaLink): the key from which the next round reads changes (inclusive);
- ``initial`` (a nextLink of the first round, which reads the current state in ``id`` order):
  the key the round's deltaLink will start from, and the last ``id`` read;
- ``changes`` (a nextLink of a later round): the key of the last change returned and the
  round's horizon.

A token that was altered, is of another tenant or collection, or holds anything of another
shape is a 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

from flowruns.errors import InvalidRequest
from flowruns.odata.skiptoken import SkipTokenCodec, fingerprint

_VERSION = 1
_INT64 = range(-(2**63), 2**63)

Key = tuple[int, int]


class Round(Enum):
    """What a token continues."""

    STATE = "state"
    INITIAL = "initial"
    CHANGES = "changes"


_ROUND_NAMES = frozenset(r.value for r in Round)


@dataclass(frozen=True)
class DeltaToken:
    """A delta client's place: see the module's description of ``key``, ``upper`` and
    ``after_id`` for each kind of round."""

    round: Round
    epoch: str
    issued: int  # ticks
    select: str | None
    filter: str | None
    key: Key
    upper: Key | None = None
    after_id: str | None = None


def _key(value: Any) -> Key | None:
    match value:
        case [int() as txn, int() as position] if (
            type(txn) is int and type(position) is int and txn in _INT64 and position in _INT64
        ):
            return (txn, position)
    return None


def _text(value: Any) -> bool:
    return value is None or (isinstance(value, str) and "\x00" not in value)


class DeltaTokens:
    """Issues and reads the tokens of one tenant's delta of one collection."""

    def __init__(self, codec: SkipTokenCodec, tenant: str, collection: str) -> None:
        self._codec = codec
        self._bound_to = _binding(tenant, collection)

    def encode(self, token: DeltaToken) -> str:
        return self._codec.sign(
            [
                _VERSION,
                self._bound_to,
                token.round.value,
                token.epoch,
                token.issued,
                token.select,
                token.filter,
                list(token.key),
                None if token.upper is None else list(token.upper),
                token.after_id,
            ]
        )

    def decode(self, text: str, option: str) -> DeltaToken:
        """The token ``text`` given as ``option`` (``$deltatoken``, ``$skiptoken``), or 400."""
        expected = Round.STATE if option == "$deltatoken" else None
        match self._codec.verified(text):
            case [
                int() as version,
                str() as bound_to,
                str() as round_name,
                str() as epoch,
                int() as issued,
                select,
                filter_,
                key,
                upper,
                after_id,
            ] if (
                version == _VERSION
                and bound_to == self._bound_to
                and round_name in _ROUND_NAMES
                and type(issued) is int
                and _text(select)
                and _text(filter_)
                and _text(after_id)
                and _key(key) is not None
                and (upper is None or _key(upper) is not None)
            ):
                token = DeltaToken(
                    Round(round_name),
                    epoch,
                    issued,
                    select,
                    filter_,
                    _key(key) or (0, 0),
                    _key(upper),
                    after_id,
                )
                if _fits(token, expected):
                    return token
        raise InvalidRequest(
            f"The {option} is not valid for this request; start again with a new delta() request.",
            target=option,
        )


@lru_cache(maxsize=1024)
def _binding(tenant: str, collection: str) -> str:
    """What a token of ``tenant``'s delta of ``collection`` is bound to (a digest, so
    computed once per pair)."""
    return fingerprint("delta", tenant, collection)


def _fits(token: DeltaToken, expected: Round | None) -> bool:
    """Whether the token has what its round needs, and is the kind its option carries."""
    if expected is Round.STATE:
        return token.round is Round.STATE
    if token.round is Round.INITIAL:
        return token.after_id is not None
    return token.round is Round.CHANGES and token.upper is not None
