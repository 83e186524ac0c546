"""fp32 tolerances derived from the rounding error fp32 makes on the machine at hand.

Two fp32 evaluations of one function (two implementations, two kernels, two kernel sizes with
zero padding) differ only by rounding, and how large that rounding is depends on the CPU's
kernels (AVX2 and AVX-512 oneDNN/MKL kernels block and sum in different orders). So a fixed
absolute bound holds on one CPU only. Here the bound is measured: the same function evaluated in
fp64 (unit roundoff 1.1e-16, ~1e9 times finer) is the exact value, the reference implementation's
fp32 result differs from it by its rounding error ``err``, and an independent fp32 evaluation of
the same function then differs from the reference by about ``sqrt(2) * err``. A different
function (a wrong term, a wrong weight) differs by the size of that term instead, orders of
magnitude more.
"""
from __future__ import annotations

from typing import Sequence, Union

import torch

FP32_UNIT_ROUNDOFF = 2.0 ** -24
Tensors = Union[torch.Tensor, Sequence[torch.Tensor]]


def _as_list(t: Tensors) -> list:
    return [t] if isinstance(t, torch.Tensor) else list(t)


def max_abs_diff(a: Tensors, b: Tensors) -> float:
    return max((x.double() - y.double()).abs().max().item() for x, y in zip(_as_list(a), _as_list(b)))


def assert_same_function_fp32(actual: Tensors, expected: Tensors, exact: Tensors,
                              factor: float = 4.0, what: str = '',
                              reduction_terms: int = 1) -> tuple[float, float]:
    """``actual`` and ``expected``: fp32 outputs of two evaluations of one function; ``exact``: the
    ``expected`` evaluation run in fp64 on the same weights and inputs, or on the first samples of
    the batch only (the rounding error is then measured on those: fp64 convolutions are slow).

    Passes if ``max|actual - expected| <= factor * max|expected - exact|`` (``factor`` 4: room for
    ``actual``'s own rounding being up to ~2.8x ``expected``'s), floored at 16 fp32 unit roundoffs
    of the outputs' magnitude (for outputs that fp32 happens to round very little), times
    ``sqrt(reduction_terms)`` for results that are sums of that many terms (weight gradients: one
    term per batch element and position): two kernels that block such a sum differently (a
    sequential sum, a tree) have rounding errors that differ by up to ~sqrt(terms) in the usual
    random-rounding model, so the reference's own error, small by chance, is not a bound for the
    other's (seen: a depth-wise weight gradient, channels_last vs NCHW on AVX2, 4.2x).
    Returns (difference, tolerance)."""
    actual, expected, exact = _as_list(actual), _as_list(expected), _as_list(exact)
    assert len(actual) == len(expected) == len(exact)
    assert all(e.dtype == torch.float64 for e in exact), 'exact must be an fp64 evaluation'
    for i, (a, b, e) in enumerate(zip(actual, expected, exact)):
        assert a.shape == b.shape and b.shape[1:] == e.shape[1:], (i, a.shape, b.shape, e.shape)
    err = max_abs_diff([b[:len(e)] for b, e in zip(expected, exact)], exact)
    magnitude = max(e.abs().max().item() for e in exact)
    tol = max(factor * err, 16 * FP32_UNIT_ROUNDOFF * magnitude * reduction_terms ** 0.5)
    diff = max_abs_diff(actual, expected)
    assert diff <= tol, (f'{what}: fp32 results differ by {diff:.3g} (= {diff / magnitude:.3g} of the '
                         f'output magnitude {magnitude:.3g}), more than {factor} x the fp32 rounding '
                         f'error of the reference ({err:.3g} vs its fp64 evaluation): not rounding')
    return diff, tol
