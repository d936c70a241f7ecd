"""The CLIP byte-level BPE tokenizer without torch: same ids as open_clip's `SimpleTokenizer`.

Reads the gzipped merges file that open_clip ships (copied into each exported pack). Text is
cleaned as open_clip does (ftfy when installed, HTML unescape, whitespace collapse, lowercase),
split by the CLIP pre-tokenizer rule, byte-encoded, then merged by BPE rank.
"""

from __future__ import annotations

import gzip
import html
import unicodedata
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt
from ftfy import fix_text

START_TOKEN = "<start_of_text>"
END_TOKEN = "<end_of_text>"
# The merges file lists more merges than CLIP uses: the vocabulary is 256 bytes, their 256
# end-of-word forms, 48,894 merges and 2 special tokens = 49,408 ids.
_MERGE_COUNT = 49152 - 256 - 2
# Contractions the CLIP pattern splits off, in the order its alternation tries them.
_CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")
_END_OF_WORD = "</w>"


@lru_cache(maxsize=1)
def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable characters.

    Its order (printable bytes first, then the others) is the order of the first 256 token ids.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), 256)]
    mapping = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in mapping:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return mapping


def clean_text(text: str, lowercase: bool = True) -> str:
    text = html.unescape(html.unescape(fix_text(text))).strip()
    text = " ".join(text.split())
    return text.lower() if lowercase else text


def _is_letter(char: str) -> bool:
    return unicodedata.category(char).startswith("L")


def _is_number(char: str) -> bool:
    return unicodedata.category(char).startswith("N")


def _is_symbol(char: str) -> bool:
    return not (char.isspace() or _is_letter(char) or _is_number(char))


def pre_tokenize(text: str) -> Iterator[str]:
    """CLIP's split rule: special tokens, contractions, letter runs, single digits, symbol runs.

    The same as open_clip's regular expression (which needs the third-party `regex` module for
    Unicode classes), written as a scanner over Unicode categories.
    """
    position, length = 0, len(text)
    while position < length:
        rest = text[position:]
        head = rest[:4].lower()  # open_clip matches with IGNORECASE
        match = next((s for s in (START_TOKEN, END_TOKEN) if rest[: len(s)].lower() == s), None)
        if match is None:
            match = next((c for c in _CONTRACTIONS if head.startswith(c)), None)
        if match is not None:
            yield rest[: len(match)]
            position += len(match)
            continue
        char = text[position]
        if char.isspace():
            position += 1
            continue
        if _is_number(char):
            yield char
            position += 1
            continue
        same_kind = _is_letter if _is_letter(char) else _is_symbol
        end = position + 1
        while end < length and same_kind(text[end]):
            end += 1
        yield text[position:end]
        position = end


class ClipTokenizer:
    """Texts -> int64 [n, context_length] token ids, start and end tokens included, zero padded."""

    def __init__(self, vocab_path: Path, context_length: int, lowercase: bool = True) -> None:
        with gzip.open(vocab_path, "rt", encoding="utf-8") as stream:
            lines = stream.read().split("\n")
        merges = [tuple(line.split()) for line in lines[1 : _MERGE_COUNT + 1]]
        symbols = list(byte_to_unicode().values())
        vocabulary = [
            *symbols,
            *(symbol + _END_OF_WORD for symbol in symbols),
            *("".join(merge) for merge in merges),
            START_TOKEN,
            END_TOKEN,
        ]
        self.token_ids = {token: index for index, token in enumerate(vocabulary)}
        self.merge_ranks: dict[tuple[str, ...], int] = {merge: rank for rank, merge in enumerate(merges)}
        self.start_id = self.token_ids[START_TOKEN]
        self.end_id = self.token_ids[END_TOKEN]
        self.context_length = context_length
        self.lowercase = lowercase
        self._byte_symbols = byte_to_unicode()
        self._bpe_cache: dict[str, tuple[str, ...]] = {START_TOKEN: (START_TOKEN,), END_TOKEN: (END_TOKEN,)}

    def encode(self, text: str) -> list[int]:
        """Token ids of one text, without start/end tokens or truncation."""
        ids: list[int] = []
        for word in pre_tokenize(clean_text(text, self.lowercase)):
            symbols = "".join(self._byte_symbols[byte] for byte in word.encode("utf-8"))
            ids.extend(self.token_ids[piece] for piece in self._bpe(symbols))
        return ids

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.int64]:
        tokens = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.start_id, *self.encode(text), self.end_id]
            if len(ids) > self.context_length:
                # Truncated texts still end with the end token: the text tower pools at it.
                ids = [*ids[: self.context_length - 1], self.end_id]
            tokens[row, : len(ids)] = ids
        return tokens

    def _bpe(self, word: str) -> tuple[str, ...]:
        cached = self._bpe_cache.get(word)
        if cached is not None:
            return cached
        parts: tuple[str, ...] = (*word[:-1], word[-1] + _END_OF_WORD)
        while len(parts) > 1:
            pairs = set(pairwise(parts))
            best = min(pairs, key=lambda pair: self.merge_ranks.get(pair, _MERGE_COUNT))
            if best not in self.merge_ranks:
                break
            parts = _merge_pair(parts, best)
        self._bpe_cache[word] = parts
        return parts


def _merge_pair(parts: tuple[str, ...], pair: tuple[str, ...]) -> tuple[str, ...]:
    """Replace every left-to-right, non-overlapping occurrence of `pair` by its concatenation."""
    merged: list[str] = []
    index = 0
    while index < len(parts):
        if index + 1 < len(parts) and (parts[index], parts[index + 1]) == pair:
            merged.append(parts[index] + parts[index + 1])
            index += 2
        else:
            merged.append(parts[index])
            index += 1
    return tuple(merged)
