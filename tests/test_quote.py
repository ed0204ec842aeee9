"""seqlib.book.quote.round_bound: a printed bound is on the safe side of the value."""

from __future__ import annotations

import numpy as np
import pytest

from seqlib.book.quote import round_bound

SPECS = [".0e", ".1e", ".2e", ".0f", ".1f", ".2f", ".3f", ".0%", ".1%", ".2g", ".3g"]


@pytest.mark.parametrize("spec", SPECS)
def test_printed_bound_is_on_the_safe_side_and_tight(spec):
    rng = np.random.default_rng(0)
    xs = np.concatenate([10.0 ** rng.uniform(-15, 3, 300), rng.uniform(0.001, 1, 100)])
    for x in xs:
        for side in ("upper", "lower"):
            b = round_bound(x, spec, side)
            printed = float(format(b, spec).rstrip("%")) / (100 if spec.endswith("%") else 1)
            assert printed == pytest.approx(b, rel=1e-12, abs=1e-300)
            if side == "upper":
                assert printed >= x
            else:
                assert printed <= x
            # tight: the plain rounding when it is already safe, else one unit of
            # its last printed digit away from it
            plain = float(format(x, spec).rstrip("%")) / (100 if spec.endswith("%") else 1)
            digits, kind = int(spec[1]), spec[-1]
            if kind == "f":
                unit = 10.0 ** -digits
            elif kind == "%":
                unit = 10.0 ** -(digits + 2)
            else:
                unit = 10.0 ** (np.floor(np.log10(abs(plain or x))) - (digits + (kind == "e") or 1) + 1)
            assert abs(printed - plain) <= unit * (1 + 1e-9)


def test_examples():
    assert format(round_bound(3.068240106429698e-13, ".0e", "upper"), ".0e") == "4e-13"
    assert format(round_bound(0.13118, ".2f", "upper"), ".2f") == "0.14"
    assert format(round_bound(0.9878, ".2f", "lower"), ".2f") == "0.98"
    assert format(round_bound(4.44e-16, ".1e", "upper"), ".1e") == "4.5e-16"
    assert format(round_bound(0.5, ".2f", "upper"), ".2f") == "0.50"  # already exact


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=1.0, spec=".2f", side="up"), "side must be 'upper' or 'lower'"),
    (dict(x=1.0, spec="2f", side="upper"), "spec must look like"),
    (dict(x=float("nan"), spec=".2f", side="upper"), "x must be finite"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        round_bound(**kwargs)
