"""Diagnoses of the convolution exercises (notebook 6), shared by its visible
checks and the grader's hidden judges, so that both name a mistake the same way:
the arrays the usual mistakes give (a flipped or transposed kernel, a missing
bias, the padding on one side, ...), computed by torch, and a comparison that
says which one a wrong result is.

Only references live here (torch computes them); no exercise's NumPy answer.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def torch_conv(x, w, b, stride, padding, dout=None):
    """torch's conv2d (a cross-correlation) in float64: the output, and given
    ``dout`` the tuple (out, dx, dw, db) by autograd, as NumPy arrays."""
    tx, tw, tb = (torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in (x, w, b))
    out = F.conv2d(tx, tw, tb, stride=stride, padding=padding)
    if dout is None:
        return out.detach().numpy()
    out.backward(torch.tensor(np.asarray(dout, dtype=np.float64)))
    return out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


def forward_mistakes(x, w, b, stride, padding) -> list[tuple[str, np.ndarray]]:
    """(words, output) of the usual mistakes of a convolution's forward pass."""
    w = np.asarray(w, dtype=np.float64)
    mistakes = [("the kernel is flipped (a true convolution); torch computes a cross-correlation, no flip",
                 torch_conv(x, w[:, :, ::-1, ::-1].copy(), b, stride, padding)),
                ("the kernel is transposed (its rows and columns swapped): w[f, c, k, l] must multiply "
                 "x_pad[n, c, s*i + k, s*j + l]", torch_conv(x, w.transpose(0, 1, 3, 2).copy(), b, stride, padding)),
                ("the bias is missing", torch_conv(x, w, np.zeros_like(b), stride, padding))]
    if padding:
        one_side = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (padding, 0), (padding, 0)))
        mistakes.append(("the padding is applied to one side only; it goes on both sides",
                         torch_conv(one_side, w, b, stride, 0)))
        mistakes.append(("the padding is ignored", torch_conv(x, w, b, stride, 0)))
    if stride > 1:
        mistakes.append(("the stride is ignored", torch_conv(x, w, b, 1, padding)))
    return mistakes


def backward_mistakes(x, w, b, dout, stride, padding) -> dict[str, list[tuple[str, np.ndarray]]]:
    """(words, gradient) of the usual mistakes of a convolution's backward pass, by "dx", "dw", "db"."""
    w, dout = np.asarray(w, dtype=np.float64), np.asarray(dout, dtype=np.float64)
    _, dx, dw, db = torch_conv(x, w, b, stride, padding, dout)
    batch, _, out_h, out_w = dout.shape
    dx_mistakes = [("the kernel is flipped where it should not be (or not flipped where it should)",
                    torch_conv(x, w[:, :, ::-1, ::-1].copy(), b, stride, padding, dout)[1])]
    if w.shape[2] == w.shape[3]:        # a transposed non-square kernel gives another output shape
        dx_mistakes.append(("the kernel is transposed (its rows and columns swapped)",
                            torch_conv(x, w.transpose(0, 1, 3, 2).copy(), b, stride, padding, dout)[1]))
    return {
        "dx": dx_mistakes,
        "dw": [("the filter gradient is flipped in both spatial axes", dw[:, :, ::-1, ::-1]),
               ("the filter gradient has its rows and columns swapped (transposed)", dw.transpose(0, 1, 3, 2)),
               ("the filter gradient has the input channels and the filters swapped (shape (C, F, KH, KW) "
                "or transposed values); it has w's shape (F, C, KH, KW)", dw.transpose(1, 0, 2, 3)),
               ("the filter gradient is averaged over the batch instead of summed", dw / batch),
               ("the filter gradient of the first sample only (not summed over the batch)",
                torch_conv(np.asarray(x)[:1], w, b, stride, padding, dout[:1])[2])],
        "db": [("the bias gradient is averaged instead of summed", db / (batch * out_h * out_w)),
               ("the bias gradient is summed over the batch only (one number per position)", dout.sum(axis=0)),
               ("the bias gradient is summed over the wrong axes", dout.sum(axis=(1, 2, 3)))],
    }


def relative_error(found, expected) -> float:
    """Largest absolute difference over the largest entry of ``expected``."""
    found, expected = np.asarray(found, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(found - expected)) / max(np.max(np.abs(expected)), 1e-30))


def named_mistake(found, mistakes) -> str:
    """The words of the first mistake whose array ``found`` equals (to rounding), else ""."""
    found = np.asarray(found, dtype=np.float64)
    for words, wrong in mistakes:
        if np.shape(wrong) == found.shape and relative_error(found, wrong) < 1e-4:
            return f" It looks like {words}."
    return ""


def assert_matches(what: str, found, expected, tol: float, mistakes=()) -> None:
    """Fail unless ``found`` is an array of ``expected``'s shape within relative
    error ``tol``; the message names the mistake of ``mistakes`` it matches."""
    if not isinstance(found, np.ndarray):
        raise AssertionError(f"{what} should be a NumPy array, got {type(found).__name__}.")
    if found.shape != expected.shape:
        hint = next((f" It looks like {words}." for words, wrong in mistakes if np.shape(wrong) == found.shape), "")
        raise AssertionError(f"{what} has shape {found.shape}, expected {expected.shape}.{hint}")
    if not np.all(np.isfinite(found)):
        raise AssertionError(f"{what} contains nan or inf.")
    error = relative_error(found, expected)
    if error < tol:
        return
    worst = np.unravel_index(int(np.argmax(np.abs(found - expected))), found.shape)
    raise AssertionError(f"{what} is wrong: largest error {error:.1e} of the largest entry (a correct result "
                         f"gives < {tol:.0e}); at index {tuple(int(i) for i in worst)} found {found[worst]:.6g}, "
                         f"expected {expected[worst]:.6g}.{named_mistake(found, mistakes)}")
