"""A sequence-to-sequence task the book generates: numbers to English words.

The source is the decimal digits of a number, one token per digit; the
target is its English reading, one token per word, ended by EOS::

    "407"   -> four hundred seven <eos>          (M = 3, L = 4)
    "12045" -> twelve thousand forty five <eos>  (M = 5, L = 5)
    "60"    -> sixty <eos>                       (M = 2, L = 2)

No "and", no hyphens.  Source and target lengths differ and vary.  The
splits are drawn from different seeds; :func:`number_splits` keeps the
test numbers out of the training set and puts numbers with more digits
than any training number in a separate length-generalisation set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._validate import _describe, as_int_array, check_positive_int
from ..cells.init import _as_rng

__all__ = ["SRC_VOCAB", "TGT_VOCAB", "EOS", "BOS", "number_to_words", "encode_number", "decode_words",
           "sample_numbers", "NumberSplits", "number_splits", "reverse_sources"]

#: Source tokens: the ten digits, id = digit.
SRC_VOCAB: tuple[str, ...] = tuple("0123456789")
_ONES = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
#: Target tokens: EOS (id 0), BOS (id 1), then the words.
TGT_VOCAB: tuple[str, ...] = ("<eos>", "<bos>", "zero", *_ONES, *_TEENS, *_TENS, "hundred", "thousand")
EOS, BOS = 0, 1
_WORD_ID = {w: i for i, w in enumerate(TGT_VOCAB)}
_MAX = 999_999


def _below_1000(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100 - 1], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10 - 2])
        n %= 10
    if n >= 10:
        words.append(_TEENS[n - 10])
    elif n >= 1:
        words.append(_ONES[n - 1])
    return words


def _check_number(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {_describe(n)}")
    if not 0 <= n <= _MAX:
        raise ValueError(f"n must be in [0, {_MAX}], got {n}")
    return int(n)


def number_to_words(n: int) -> list[str]:
    """English words of ``0 <= n <= 999999``: ``407 -> ['four', 'hundred', 'seven']``."""
    n = _check_number(n)
    if n == 0:
        return ["zero"]
    words = []
    if n >= 1000:
        words += _below_1000(n // 1000) + ["thousand"]
    return words + _below_1000(n % 1000)


def encode_number(n: int) -> tuple[list[int], list[int]]:
    """(source ids, target ids): the digits of ``n`` and its words followed by EOS."""
    n = _check_number(n)
    return [int(d) for d in str(n)], [_WORD_ID[w] for w in number_to_words(n)] + [EOS]


def decode_words(ids: Sequence[int]) -> str:
    """Target ids as text, stopping at the first EOS: ``[6, 19, 10, 0] -> 'four hundred seven'``."""
    a = as_int_array(ids, "ids", ndim=1)
    out = []
    for i in a:
        if not 0 <= i < len(TGT_VOCAB):
            raise ValueError(f"ids must be target ids in [0, {len(TGT_VOCAB)}), got {int(i)}")
        if i == EOS:
            break
        out.append(TGT_VOCAB[i])
    return " ".join(out)


def sample_numbers(n: int, digits: Sequence[int], *, rng: np.random.Generator | int,
                   exclude: set[int] | frozenset[int] = frozenset()) -> np.ndarray:
    """``n`` distinct numbers whose digit count is drawn uniformly from ``digits``.

    Once every number of some digit count is used (there are only 9 with one
    digit), that count is drawn no more.  A number with d digits is uniform on ``[10^(d-1), 10^d)`` (``[1, 10)`` for
    d = 1; zero is never drawn).  Numbers in ``exclude`` are never drawn.

    Raises
    ------
    ValueError
        If a digit count is outside 1..6, or fewer than ``n`` distinct numbers
        are available.
    """
    n = check_positive_int(n, "n")
    rng = _as_rng(rng)
    ds = [int(d) for d in digits]
    if not ds or any(not 1 <= d <= 6 for d in ds):
        raise ValueError(f"digits must be digit counts in 1..6, got {list(digits)!r}")
    pools = {d: (10 ** (d - 1) if d > 1 else 1, 10 ** d) for d in set(ds)}
    available = sum(hi - lo for lo, hi in pools.values()) - sum(
        1 for x in exclude if any(lo <= x < hi for lo, hi in pools.values()))
    if available < n:
        raise ValueError(f"asked for n={n} distinct numbers with digits {sorted(set(ds))}, "
                         f"only {available} exist outside exclude")
    out: list[int] = []
    seen = set(exclude)
    full = {d: False for d in pools}
    while len(out) < n:
        d = ds[int(rng.integers(len(ds)))]
        lo, hi = pools[d]
        if full[d]:
            continue
        x = int(rng.integers(lo, hi))
        if x in seen:
            if all(v in seen for v in range(lo, hi)) if hi - lo <= 1000 else False:
                full[d] = True
            continue
        seen.add(x)
        out.append(x)
    return np.array(out, dtype=np.int64)


def reverse_sources(sources: Sequence[Sequence[int]]) -> list[list[int]]:
    """Each source reversed (the targets are not): Sutskever et al.'s trick."""
    return [list(s)[::-1] for s in sources]


@dataclass(frozen=True)
class NumberSplits:
    """Train / validation / test / length-generalisation numbers and their encodings."""

    numbers: dict[str, np.ndarray]
    sources: dict[str, list[list[int]]]
    targets: dict[str, list[list[int]]]


def number_splits(n_train: int = 3000, n_valid: int = 300, n_test: int = 300, n_long: int = 300, *,
                  train_digits: Sequence[int] = (1, 2, 3, 4), long_digits: Sequence[int] = (5,),
                  seed: int = 0) -> NumberSplits:
    """The book's splits, each drawn from its own seed (``seed``, ``seed+1``, ...).

    ``"train"``, ``"valid"`` and ``"test"`` hold numbers with ``train_digits``
    digits, pairwise disjoint; ``"long"`` holds numbers with ``long_digits``
    digits, lengths that training never sees.
    """
    if set(train_digits) & set(long_digits):
        raise ValueError(f"long_digits must not overlap train_digits, got {list(long_digits)} "
                         f"and {list(train_digits)}")
    nums: dict[str, np.ndarray] = {}
    used: set[int] = set()
    for i, (name, n, ds) in enumerate((("train", n_train, train_digits), ("valid", n_valid, train_digits),
                                       ("test", n_test, train_digits), ("long", n_long, long_digits))):
        nums[name] = sample_numbers(n, ds, rng=seed + i, exclude=frozenset(used))
        used |= set(int(x) for x in nums[name])
    src, tgt = {}, {}
    for name, arr in nums.items():
        pairs = [encode_number(int(x)) for x in arr]
        src[name] = [p[0] for p in pairs]
        tgt[name] = [p[1] for p in pairs]
    return NumberSplits(nums, src, tgt)
