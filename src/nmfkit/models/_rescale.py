"""Fits of data far from unit scale, in the data's units (see :mod:`nmfkit.models._base`,
"Data far from unit scale").

A model with ``_rescale`` fits ``X / s`` (``s`` a power of two, :func:`nmfkit._scale.data_scale`)
and :func:`scale_methods` wraps its fit, ``transform`` and ``score`` so that what they return
is in ``X``'s units: codes times ``s``, objectives times ``s ** beta``. All-missing rows and
columns get zero codes / loadings (a defined result: nothing observed, nothing explained).
"""

from __future__ import annotations

import numpy as np

__all__ = ["RESCALING_MODELS", "finite_guard", "scale_methods", "unobserved"]


#: Estimators that rescale data far from unit scale (a model may also set ``_rescale``).
RESCALING_MODELS = frozenset({"NMF", "SparseNMF"})

def _loss_factor(scale: float, beta) -> float:
    """``scale ** beta`` (inf where it overflows)."""
    try:
        return float(scale) ** float(beta)
    except OverflowError:
        return float("inf")


def unobserved(data):
    """``(rows, columns)`` of a NumPy ``X`` with no observed entry (None if there are none)."""
    if not isinstance(data.values, np.ndarray):
        return None
    nan = np.isnan(data.values)
    rows, cols = np.flatnonzero(nan.all(axis=1)), np.flatnonzero(nan.all(axis=0))
    return (rows, cols) if rows.size or cols.size else None


def _zero_unobserved(W, H, unobserved):
    """Codes of all-missing samples and loadings of all-missing features set to 0 (the
    defined result: nothing observed, nothing explained; the objective is unchanged)."""
    rows, cols = unobserved
    W, H = W.copy(), H.copy()
    if hasattr(W, "iloc"):
        W.iloc[rows, :] = 0.0
        H.iloc[:, cols] = 0.0
    else:
        W[rows, :] = 0.0
        H[:, cols] = 0.0
    return W, H


def _scaled_result(result, scale: float, unobserved=None):
    """An NMFResult of ``X / scale`` in ``X``'s units: ``W`` times ``scale``, objectives times
    ``scale ** beta`` (kept in the rescaled units where that overflows); all-missing rows
    and columns get zero codes / loadings."""
    from dataclasses import replace

    if unobserved:
        W, H = _zero_unobserved(result.W, result.H, unobserved)
        result = replace(result, W=W, H=H)
    if scale == 1.0:
        return result

    f = _loss_factor(scale, result.beta)
    info = dict(result.info, data_scale=scale)
    loss, history = result.loss * f, tuple(v * f for v in result.loss_history)
    kept = all(np.isfinite(v) and (v != 0 or v0 == 0)
               for v, v0 in zip((loss, *history), (result.loss, *result.loss_history)))
    if kept:
        info["loss_units"] = "X"
        for key in ("divergence", "loss_before_refine"):
            if info.get(key) is not None:
                info[key] = info[key] * f
        if "reconstruction_err" in info:
            info["reconstruction_err"] = info["reconstruction_err"] * np.sqrt(f)
    else:
        loss, history = result.loss, result.loss_history
        info["loss_units"] = "X / data_scale"
    return replace(result, W=result.W * scale, loss=loss, loss_history=history, info=info)


def scale_methods(cls) -> None:
    """Wrap a rescaling model's fit, transform and score so results are in ``X``'s units."""
    import functools

    def wrap(name, after):
        method = cls.__dict__.get(name)
        if method is None or getattr(method, "_scale_wrapped", False):
            return

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            out = method(self, *args, **kwargs)
            s = getattr(self, "_data_scale", 1.0)
            if s == 1.0 and not (after in (after_fit, after_fit_transform)
                                 and getattr(self, "_unobserved", None)):
                return out
            return after(self, out, s)

        wrapper._scale_wrapped = True
        setattr(cls, name, wrapper)

    def after_fit(self, out, s):
        main = out is self.result_
        if getattr(self, "_scaled_fit", None) is not self.result_:
            self.result_ = _scaled_result(self.result_, s, self._unobserved)
            if self._unobserved:
                self.components_ = self.result_.H
            self._scaled_fit = self.result_
            self.loss_ = self.result_.loss
            self.loss_history_ = self.result_.loss_history
            self.reconstruction_err_ = self.result_.reconstruction_err
        if main or not hasattr(out, "loss_history"):
            return self.result_ if main else out
        return _scaled_result(out, s, self._unobserved)

    def after_codes(self, out, s):
        return out * s

    def after_score(self, out, s):
        return out * _loss_factor(s, getattr(self, "_beta", 2.0))

    def after_fit_transform(self, out, s):
        fitted = self.result_.W
        after_fit(self, self.result_, s)
        return self.result_.W if out is fitted else out * s

    if "_fit_result" in cls.__dict__:
        wrap("_fit_result", after_fit)
    else:
        wrap("fit_transform", after_fit_transform)
    wrap("transform", after_codes)
    wrap("score", after_score)


def _finite(a) -> bool:
    """Whether every entry of an array, DataFrame or tensor is finite (checked where it lives)."""
    from ..backends import get_namespace, is_sparse

    if a is None or is_sparse(a):
        return True
    if hasattr(a, "to_numpy") and not hasattr(a, "device"):
        a = a.to_numpy()
    if not hasattr(a, "shape"):
        return True
    b = get_namespace(a)
    return bool(b.all(b.isfinite(a)))


def _zero_rows(codes, unobserved):
    """Codes of samples with no observed entry set to 0 (NumPy arrays and DataFrames)."""
    rows = unobserved[0] if unobserved else ()
    if not len(rows) or not hasattr(codes, "shape") or len(codes.shape) != 2:
        return codes
    if hasattr(codes, "iloc"):
        codes = codes.copy()
        codes.iloc[rows, :] = 0.0
    elif isinstance(codes, np.ndarray) and codes.shape[0] > int(rows.max()):
        codes = codes.copy()
        codes[rows, :] = 0.0
    return codes


def finite_guard(cls) -> None:
    """Wrap ``cls``'s fit and ``transform``: a fit ending with non-finite factors raises
    ``FloatingPointError`` (naming the model and the fix) instead of returning them, and the
    codes of samples with no observed entry (all NaN) are 0, the defined result."""
    import functools

    for name in ("fit_transform", "_fit_result", "transform"):
        method = cls.__dict__.get(name)
        if method is None or getattr(method, "_finite_guarded", False):
            continue

        def make(method):
            @functools.wraps(method)
            def guarded(self, *args, **kwargs):
                out = method(self, *args, **kwargs)
                missing = getattr(self, "_last_unobserved", None)
                if missing is not None and not hasattr(out, "loss_history"):
                    out = _zero_rows(out, missing)
                parts = [getattr(out, "W", out), getattr(self, "components_", None)]
                if not all(_finite(p) for p in parts):
                    raise FloatingPointError(
                        f"{type(self).__name__}: the fit diverged (its factors hold NaN or inf, "
                        f"stop: {getattr(self, 'stop_reason_', 'unknown')}); check the scale and "
                        "the values of X and of a custom start, or use another solver or init"
                    )
                return out

            guarded._finite_guarded = True
            return guarded

        setattr(cls, name, make(method))
