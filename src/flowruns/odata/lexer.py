"""Tokens of OData URL expressions (``$filter``, ``$orderby``, ``$expand``, ``$apply`` …).

The lexer works on the option's decoded text and remembers each token's character position,
so every syntax error can name where it is. Literal forms follow the OData ABNF: quoted strings
with ``''`` escapes, GUIDs, dates, date-times, times of day, numbers (``INF``/``NaN`` too) and
prefixed literals such as ``duration'PT1H'`` or ``ns.runStatus'failed'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from flowruns.errors import BadRequest


class QuerySyntaxError(BadRequest):
    """A query option that does not parse or bind; the message names the position."""

    def __init__(self, option: str, position: int, problem: str) -> None:
        super().__init__(f"{option}: {problem} (at position {position}).", target=option)
        self.option = option
        self.position = position


class Kind(Enum):
    IDENTIFIER = "identifier"  # also qualified names: ns.type
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"  # also doubles: 1.5, 1e3, INF, NaN
    DATE = "date"
    DATE_TIME = "dateTime"
    TIME = "time"
    GUID = "guid"
    TYPED = "typed"  # prefix'text': duration, binary, enum values
    PARAMETER = "parameter"  # @alias
    SYMBOL = "symbol"  # ( ) , : / ; = * $it, $count …
    END = "end"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    position: int
    value: str = ""  # a string's unescaped content; a typed literal's quoted part

    def is_word(self, *words: str) -> bool:
        """An identifier equal to one of the lower-case ``words`` in any case: the ABNF's
        keywords are quoted strings, which RFC 5234 makes case-insensitive."""
        return self.kind is Kind.IDENTIFIER and self.text.lower() in words

    def is_symbol(self, *symbols: str) -> bool:
        return self.kind is Kind.SYMBOL and self.text in symbols


_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
# Numbers are [0-9], never \d: \d also matches the digits of other scripts, which int() and
# float() then accept. Such a digit is no token at all, so the text is a 400.
_DATE = r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}"
_TIME = r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,12})?)?"
# '+' in an offset often arrives as a space when a client forgets to percent-encode it.
_OFFSET = r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2}|\x20[0-9]{2}:[0-9]{2}(?![0-9:]))"
_IDENT = r"[^\W\d]\w*"
_QUALIFIED = rf"{_IDENT}(?:\.{_IDENT})*"

_PATTERNS: list[tuple[Kind, re.Pattern[str]]] = [
    (Kind.GUID, re.compile(_GUID + r"(?![\w-])")),
    (Kind.DATE_TIME, re.compile(rf"{_DATE}T{_TIME}{_OFFSET}")),
    (Kind.DATE, re.compile(_DATE + r"(?![\w:])")),
    (Kind.TIME, re.compile(_TIME + r"(?![\w:])")),
    (
        Kind.DECIMAL,
        re.compile(
            r"[-+]?(?:[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|INF(?!\w))"
            r"|NaN(?!\w)"
        ),
    ),
    (Kind.INTEGER, re.compile(r"[-+]?[0-9]+(?![\w.])")),
    (Kind.PARAMETER, re.compile(rf"@{_IDENT}")),
    (Kind.SYMBOL, re.compile(r"\$(?:it|this|root|count|ref|value|levels)\b|[(),:/;=*-]")),
]
_WORD = re.compile(rf"\$?{_QUALIFIED}(?:\.\*)?")
_SPACE = re.compile(r"[ \t]+")


def _quoted(text: str, start: int, option: str) -> tuple[str, int]:
    """The content of the quoted string opening at ``start`` and the index after it."""
    parts: list[str] = []
    i = start + 1
    while True:
        end = text.find("'", i)
        if end < 0:
            raise QuerySyntaxError(option, start, "unterminated string literal")
        parts.append(text[i:end])
        if text.startswith("''", end):
            parts.append("'")
            i = end + 2
            continue
        return "".join(parts), end + 1


def tokenize(text: str, option: str) -> list[Token]:
    """Every token of ``text``, ending with an ``END`` token; spaces are dropped."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        space = _SPACE.match(text, i)
        if space:
            i = space.end()
            continue
        char = text[i]
        if char == "'":
            value, end = _quoted(text, i, option)
            tokens.append(Token(Kind.STRING, text[i:end], i, value))
            i = end
            continue
        for kind, pattern in _PATTERNS:
            match = pattern.match(text, i)
            if match:
                tokens.append(Token(kind, match.group(), i))
                i = match.end()
                break
        else:
            word = _WORD.match(text, i)
            if word is None:
                raise QuerySyntaxError(option, i, f"unexpected character '{char}'")
            end = word.end()
            if end < len(text) and text[end] == "'" and not word.group().startswith("$"):
                value, after = _quoted(text, end, option)
                tokens.append(Token(Kind.TYPED, text[i:after], i, value))
                i = after
                continue
            tokens.append(Token(Kind.IDENTIFIER, word.group(), i))
            i = end
    tokens.append(Token(Kind.END, "", len(text)))
    return tokens


def split_top_level(text: str, separator: str, offset: int, option: str) -> list[tuple[str, int]]:
    """``text`` cut at ``separator`` outside parentheses and quotes, with each part's offset."""
    parts: list[tuple[str, int]] = []
    depth, start, quoted = 0, 0, False
    for i, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise QuerySyntaxError(option, offset + i, "unbalanced ')'")
        elif char == separator and depth == 0:
            parts.append((text[start:i], offset + start))
            start = i + 1
    if depth != 0 or quoted:
        raise QuerySyntaxError(option, offset + len(text), "unbalanced parentheses or quotes")
    parts.append((text[start:], offset + start))
    return parts
