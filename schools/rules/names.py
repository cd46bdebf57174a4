"""Vietnamese ordering of personal names for class lists — pure Python, no ICU, no locale.

Class lists sort by given name (the last word), then the middle names (in order), then the family
name (the first word). Words compare in Vietnamese alphabetical order::

    a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y

(f, j, w, z — found in minority-language and foreign names — take their Latin places, digits come
before letters, other symbols after; punctuation such as the apostrophe in "H'Hen" is ignored).

Tones are a second-level difference, as in Vietnamese dictionaries and in ICU's Vietnamese rules:
two words are first compared on their letters with every tone removed (so "Hà" < "Hai" and
"Hoà" ties "Hòa" — old- and new-style tone placement sort together); only when those letters are
equal does the tone decide, in the order

    no tone (ngang) < huyền (`) < sắc (´) < hỏi (ˀ) < ngã (~) < nặng (.)

This is the usual order of school software and Vietnamese keyboard/collation tables; printed
dictionaries (Hoàng Phê) put hỏi and ngã before sắc — change ``TONE_ORDER`` to switch.

Case never matters, and NFC, NFD or mixed input give the same key. Full ties (same letters, tones
and words) are broken by the case-folded NFC text, then the NFC text, so distinct names never
compare equal: the key is a total order and sorting is deterministic.

``vietnamese_sort_key`` returns a tuple for ``sorted``; ``vietnamese_sort_string`` returns a string
that orders the same way byte-wise, to store in a column and ``ORDER BY … COLLATE "C"`` in
PostgreSQL without any ICU collation.
"""

from __future__ import annotations

import unicodedata

ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
# Combining tone marks (NFD), in sort order after "no tone".
TONE_ORDER = ("\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # huyền, sắc, hỏi, ngã, nặng
_TONE_RANK = {mark: rank for rank, mark in enumerate(TONE_ORDER, start=1)}
# Combining marks that make a separate letter of the alphabet: breve (ă), circumflex (â ê ô), horn (ơ ư).
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}
_DIGIT_BASE = 1
_LETTER_BASE = 20
_OTHER_BASE = 100
_LETTER_RANK = {letter: _LETTER_BASE + index for index, letter in enumerate(ALPHABET)}
_EQUIVALENT = {"ð": "đ"}  # U+00F0 eth, often typed for Đ (U+0110) in legacy data

WordKey = tuple[tuple[int, ...], tuple[int, ...]]
_EMPTY_WORD: WordKey = ((), ())


def _clean(full_name: str) -> str:
    """NFC, control characters dropped, whitespace runs collapsed to one space."""
    words = unicodedata.normalize("NFC", full_name).split()
    words = ["".join(ch for ch in word if unicodedata.category(ch) != "Cc") for word in words]
    return " ".join(word for word in words if word)


def _char_rank(base: str) -> int | None:
    if base in _LETTER_RANK:
        return _LETTER_RANK[base]
    if "0" <= base <= "9":
        return _DIGIT_BASE + ord(base) - ord("0")
    if unicodedata.category(base).startswith("P"):
        return None  # punctuation is ignorable
    return _OTHER_BASE + ord(base)


def _word_key(word: str) -> WordKey:
    """(letters, tones) of one word; letters with modifiers composed (ă, ơ…), tones collected."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFD", word).casefold())
    letters: list[int] = []
    tones: list[int] = []
    index = 0
    while index < len(decomposed):
        base = _EQUIVALENT.get(decomposed[index], decomposed[index])
        index += 1
        marks = ""
        while index < len(decomposed) and unicodedata.combining(decomposed[index]):
            marks += decomposed[index]
            index += 1
        if unicodedata.combining(base):  # a stray mark with no base letter
            continue
        letter_marks = "".join(mark for mark in marks if mark in _LETTER_MARKS)
        composed = unicodedata.normalize("NFC", base + letter_marks)
        rank = _char_rank(composed if composed in _LETTER_RANK else base)
        if rank is not None:
            letters.append(rank)
        tones.extend(_TONE_RANK[mark] for mark in marks if mark in _TONE_RANK)
    return tuple(letters), tuple(tones)


def split_name(full_name: str) -> tuple[str, tuple[str, ...], str]:
    """(family name, middle names, given name) of a full name written family-first.
    A one-word name is all given name."""
    words = _clean(full_name).split(" ")
    words = [word for word in words if word]
    if not words:
        return "", (), ""
    if len(words) == 1:
        return "", (), words[0]
    return words[0], tuple(words[1:-1]), words[-1]


def vietnamese_sort_key(full_name: str) -> tuple:
    """Sort key for a full name written family-first ("Nguyễn Thị Minh Anh"): given name, then the
    middle names, then the family name, in Vietnamese order (see the module docstring)."""
    family, middle, given = split_name(full_name)
    cleaned = _clean(full_name)
    return (
        _word_key(given) if given else _EMPTY_WORD,
        tuple(_word_key(word) for word in middle),
        _word_key(family) if family else _EMPTY_WORD,
        (cleaned.casefold(), cleaned),
    )


def _encode_word(word: WordKey) -> str:
    letters, tones = word
    # Fixed-width ranks keep numeric order; "!" ends a run and sorts before every digit, so a
    # shorter run (a prefix) sorts first, as in tuple comparison.
    return "".join(f"{rank:06x}" for rank in letters) + "!" + "".join(f"{tone:x}" for tone in tones) + "!"


def vietnamese_sort_string(full_name: str) -> str:
    """The sort key as one string whose code-point (UTF-8 byte) order equals the tuple order of
    ``vietnamese_sort_key`` — store it and sort with ``COLLATE "C"``."""
    given, middle, family, (folded, cleaned) = vietnamese_sort_key(full_name)
    return (
        _encode_word(given)
        + "".join(_encode_word(word) for word in middle)
        + " "  # ends the middle names; sorts before any word encoding
        + _encode_word(family)
        + "\x1f"
        + folded
        + "\x01"
        + cleaned
    )
