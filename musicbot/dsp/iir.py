"""``lfilter``: scipy's recursive (IIR) filter routine, without importing ``scipy.signal``.

Why: ``import scipy.signal`` also imports scipy.stats, scipy.interpolate, scipy.optimize and
scipy.spatial (scipy 1.17: +45 MiB resident and 0.6 s per process) for the one function the audio
path calls, and every render worker paid for it. The routine itself is scipy's own compiled
``_linear_filter``, which is all ``scipy.signal.lfilter`` calls for a recursive filter (a
denominator of two or more coefficients) after turning its arguments into arrays. Here its
extension module is loaded from its file on its own. Where that is not possible (another layout of
scipy), ``scipy.signal.lfilter`` itself is used: slower to import, the same numbers.
"""

from __future__ import annotations

import functools
import glob
import importlib.machinery
import importlib.util
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

_MODULE = "scipy.signal._sigtools"


@functools.cache
def _linear_filter() -> Callable[..., Any]:
    spec = importlib.util.find_spec("scipy")
    folder = os.path.join(os.path.dirname(spec.origin), "signal") if spec and spec.origin else ""
    paths = sorted(glob.glob(os.path.join(folder, "_sigtools.*")))
    for path in (p for p in paths if p.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))):
        try:
            loader = importlib.machinery.ExtensionFileLoader(_MODULE, path)
            module_spec = importlib.util.spec_from_file_location(_MODULE, path, loader=loader)
            if module_spec is None:
                continue
            module = importlib.util.module_from_spec(module_spec)
            loader.exec_module(module)
            routine: Callable[..., Any] = module._linear_filter
            return routine
        except (ImportError, AttributeError, OSError):
            continue
    import scipy.signal._sigtools as sigtools  # the whole of scipy.signal, as before

    fallback: Callable[..., Any] = sigtools._linear_filter
    return fallback


def lfilter(b: npt.ArrayLike, a: npt.ArrayLike, x: npt.ArrayLike, axis: int = -1,
            zi: npt.ArrayLike | None = None) -> Any:
    """``scipy.signal.lfilter`` for a recursive filter: y alone, or ``(y, zf)`` when ``zi`` is given.

    Same arguments and the same results, computed by the same compiled routine; ``a`` must have at
    least two coefficients (a plain FIR filter is not needed on the audio path)."""
    b_arr, a_arr = np.atleast_1d(b), np.atleast_1d(a)
    if b_arr.ndim != 1 or not b_arr.size or a_arr.ndim != 1 or a_arr.size < 2:
        raise ValueError("lfilter takes 1-d coefficient arrays, with at least two denominator coefficients")
    if zi is None:
        return _linear_filter()(b_arr, a_arr, np.asarray(x), axis)
    return _linear_filter()(b_arr, a_arr, np.asarray(x), axis, np.asarray(zi))
