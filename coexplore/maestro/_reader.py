"""Tokens and a cursor over them for MAESTRO's ``.m`` files (private to :mod:`coexplore.maestro.dfsl`).

MAESTRO's tokenizer splits on blanks and ``, - > ( ) : ;``; here ``-`` and ``>`` stay inside names
(``Conv2d-1``) and brackets are tokens, so that a missing one is a syntax error with its line and
column. Comments (``//``) and the separators ``, ; :`` are dropped, as MAESTRO drops them.
"""

from __future__ import annotations

import re

from coexplore.errors import SpecError

__all__ = ["PUNCT", "Reader", "Tok", "read_int"]

TOKEN = re.compile(r"//[^\n]*|[A-Za-z0-9_.'\->]+|[^\s,;:]")
PUNCT = frozenset("{}()")
SINGLE_OK = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.'->{}()")


class Tok:
    """A token and its line; its column is worked out only when an error names it."""

    __slots__ = ("i", "line", "reader", "text")

    def __init__(self, text: str, line: int, i: int, reader: Reader) -> None:
        self.text, self.line, self.i, self.reader = text, line, i, reader

    @property
    def col(self) -> int:
        return self.reader.column(self.i)

    @property
    def punct(self) -> bool:
        return self.text in PUNCT


class Reader:
    """A cursor over the tokens of a text; comments and the separators ``, ; :`` (which MAESTRO's
    tokenizer drops) are left out."""

    def __init__(self, text: str, where: str) -> None:
        self.where = where
        self.source = text.split("\n")
        self.texts: list[str] = []
        self.lines: list[int] = []
        self.close: dict[int, int] = {}  # index of a '{' -> index of its matching '}'
        texts, lines, stack = self.texts, self.lines, []
        seen: dict[str, tuple[list[str], list[int]]] = {}  # a line's tokens and where its braces are
        seen_get, add_texts, add_lines = seen.get, texts.extend, lines.extend  # bound once: a file has ~1e3 lines
        for ln, line in enumerate(self.source, start=1):
            hit = seen_get(line)  # networks repeat their lines (directives, blocks): each is tokenized once
            if hit is None:
                found = TOKEN.findall(line)
                if found and found[-1][:2] == "//":
                    found.pop()
                hit = seen[line] = (found, [k for k, t in enumerate(found) if t == "{" or t == "}"])
            found, braces = hit
            if found:
                if braces:
                    at = len(texts)
                    for k in braces:
                        if found[k] == "{":
                            stack.append(at + k)
                        elif stack:
                            self.close[stack.pop()] = at + k
                add_texts(found)
                add_lines([ln] * len(found))
        self.i = 0
        for bad in set(self.texts) - SINGLE_OK:
            if len(bad) == 1:
                i = self.texts.index(bad)
                raise self.error(Tok(bad, self.lines[i], i, self), "unexpected character")

    def column(self, i: int) -> int:
        """1-based column of token ``i`` (rescans its line)."""
        k = 0
        while i - k - 1 >= 0 and self.lines[i - k - 1] == self.lines[i]:
            k += 1
        matches = [m for m in TOKEN.finditer(self.source[self.lines[i] - 1]) if m.group()[:2] != "//"]
        return matches[k].start() + 1

    def tok_at(self, i: int) -> Tok:
        """Token ``i`` (for an error about a token read without one)."""
        return Tok(self.texts[i], self.lines[i], i, self)

    def _tok(self, i: int) -> Tok:
        return Tok(self.texts[i], self.lines[i], i, self)

    def peek(self) -> Tok | None:
        return self._tok(self.i) if self.i < len(self.texts) else None

    def error(self, tok: Tok | None, rule: str) -> SpecError:
        if tok is None:
            if not self.texts:
                return SpecError(f"{self.where}:1:1: syntax error: {rule}, got end of file")
            last = self._tok(len(self.texts) - 1)
            return SpecError(f"{self.where}:{last.line}:{last.col + len(last.text)}: syntax error: {rule}, "
                             "got end of file")
        return SpecError(f"{self.where}:{tok.line}:{tok.col}: syntax error: {rule}, got {tok.text!r}")

    def next(self, rule: str) -> Tok:
        i = self.i
        if i >= len(self.texts):
            raise self.error(None, rule)
        self.i = i + 1
        return Tok(self.texts[i], self.lines[i], i, self)

    def expect(self, text: str) -> Tok:
        i = self.i
        if i >= len(self.texts) or self.texts[i] != text:
            raise self.error(self.peek(), f"expected {text!r}")
        self.i = i + 1
        return Tok(text, self.lines[i], i, self)

    def word(self, rule: str) -> Tok:
        tok = self.next(rule)
        if tok.text in PUNCT:
            raise self.error(tok, rule)
        return tok


def read_int(r: Reader, tok: Tok, constants: dict[str, int], rule: str) -> int:
    if tok.text in constants:
        return constants[tok.text]
    if not (tok.text.isascii() and tok.text.isdigit()):
        raise r.error(tok, rule)
    return int(tok.text)
