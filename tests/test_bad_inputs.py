"""The bad-input catalogue (issue 18): every public estimator, every functional form and every
CLI sub-command, fed the same ~45 bad or edge inputs.

Each input either raises :class:`~nmfkit.exceptions.NMFInputError` (or the documented standard
exception: ``TypeError`` for an unknown keyword argument) whose message names the argument, the
problem and a fix, or returns a finite, non-trivial result. A CLI sub-command exits 2 with one
``error:`` line and leaves no output folder behind.

A new estimator is covered by adding one line to ``MODELS`` (and a function form to ``FORMS``).
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit
from nmfkit.exceptions import NMFInputError

RNG = np.random.default_rng(0)
N, F, K = 12, 8, 2
BASE = (RNG.random((N, K)) @ RNG.random((K, F)) + 0.05)
Y_LABELS = np.array([0, 1] * (N // 2))
BATCH = np.array(["a", "b"] * (N // 2))
FIX = re.compile(r"\b(pass|use|choose|convert|drop|clip|impute|replace|rescale|reshape|raise|lower|"
                 r"select|check|add|give|mark|keep|fit|refit|leave|set|remove|encode|write|label)\b|e\.g\.", re.I)
FAST = {"max_iter": 15}


# -- the estimators and function forms (one line each) ----------------------------------------
def _bg(X):
    return BASE[:, : np.shape(X)[1]] if np.ndim(X) == 2 and np.shape(X)[1] <= F else BASE


MODELS = {
    "NMF": (lambda k, **p: nmfkit.NMF(k, **p), None),
    "MiniBatchNMF": (lambda k, **p: nmfkit.MiniBatchNMF(k, batch_size=4, **p), None),
    "ConvexNMF": (lambda k, **p: nmfkit.ConvexNMF(k, **p), None),
    "SemiNMF": (lambda k, **p: nmfkit.SemiNMF(k, **p), None),
    "NonnegativeAutoencoder": (lambda k, **p: nmfkit.NonnegativeAutoencoder(k, **p), None),
    "ContrastiveNMF": (lambda k, **p: nmfkit.ContrastiveNMF(k, n_restarts=1, **p),
                       lambda m, X: m.fit_transform(X, X_background=_bg(X))),
    "SymmetricNMF": (lambda k, **p: nmfkit.SymmetricNMF(k, n_neighbors=3, **p), None),
    "SparseNMF": (lambda k, **p: nmfkit.SparseNMF(k, **p), None),
    "TriNMF": (lambda k, **p: nmfkit.TriNMF(k, k, **p), None),
    "ArchetypalAnalysis": (lambda k, **p: nmfkit.ArchetypalAnalysis(k, **p), None),
    "DeepNMF": (lambda k, **p: nmfkit.DeepNMF((k,), **p), None),
    "SupervisedNMF": (lambda k, **p: nmfkit.SupervisedNMF(k, **p),
                      lambda m, X: m.fit_transform(X, Y_LABELS[: X.shape[0]] if np.ndim(X) == 2 else Y_LABELS)),
    "JointNMF": (lambda k, **p: nmfkit.JointNMF(k, **p),
                 lambda m, X: m.fit_transform(X, batch=BATCH[: X.shape[0]] if np.ndim(X) == 2 else BATCH)),
}

FORMS = {
    "nmf": lambda X, k, **p: nmfkit.nmf(X, k, **p),
    "contrastive_nmf": lambda X, k, **p: nmfkit.contrastive_nmf(X, _bg(X), k, n_restarts=1, **p),
    "symmetric_nmf": lambda X, k, **p: nmfkit.symmetric_nmf(X, k, n_neighbors=3, **p),
    "sparse_nmf": lambda X, k, **p: nmfkit.sparse_nmf(X, k, **p),
    "tri_nmf": lambda X, k, **p: nmfkit.tri_nmf(X, k, k, **p),
    "archetypal_analysis": lambda X, k, **p: nmfkit.archetypal_analysis(X, k, **p),
    "deep_nmf": lambda X, k, **p: nmfkit.deep_nmf(X, (k,), **p),
    "supervised_nmf": lambda X, k, **p: nmfkit.supervised_nmf(X, Y_LABELS, k, **p),
    "joint_nmf": lambda X, k, **p: nmfkit.joint_nmf(X, BATCH, k, **p),
}
FORM_TARGET = {"nmf": "NMF", "contrastive_nmf": "ContrastiveNMF", "symmetric_nmf": "SymmetricNMF",
               "sparse_nmf": "SparseNMF", "tri_nmf": "TriNMF",
               "archetypal_analysis": "ArchetypalAnalysis", "deep_nmf": "DeepNMF",
               "supervised_nmf": "SupervisedNMF", "joint_nmf": "JointNMF"}
#: Models for which mixed-sign data is valid input (they take real data).
MIXED_SIGN = {"SemiNMF", "ConvexNMF", "NonnegativeAutoencoder", "SymmetricNMF", "ArchetypalAnalysis",
              "symmetric_nmf", "archetypal_analysis"}  # models for which negative data is valid input


# -- the data catalogue: (kind, X) and what must happen -----------------------------------------
def _with(values, at=(0, 0)):
    X = BASE.copy()
    X[at] = values
    return X


def _frame(non_numeric=False):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(BASE, columns=[f"g{j}" for j in range(F)])
    if non_numeric:
        df["name"] = [f"s{i}" for i in range(N)]
    return df


def _sparse_negative():
    S = sp.random(N, F, density=0.5, random_state=0, format="csr") + sp.eye(N, F, format="csr")
    S.data[0] = -1.0
    return S


def _torch_grad():
    torch = pytest.importorskip("torch")
    return torch.tensor(BASE, requires_grad=True)


ERROR, OK, EITHER = "error", "ok", "either"
DATA = {
    "negative": (lambda: _with(-1.0), ERROR),
    "nan": (lambda: _with(np.nan), EITHER),  # masked where handle_missing="mask", else an error
    "inf": (lambda: _with(np.inf), ERROR),
    "empty_rows": (lambda: np.zeros((0, F)), ERROR),
    "empty_cols": (lambda: np.zeros((N, 0)), ERROR),
    "one_by_one": (lambda: np.ones((1, 1)), EITHER),
    "all_zero": (lambda: np.zeros((N, F)), ERROR),
    "zero_row": (lambda: _with(0.0, (0, slice(None))), EITHER),
    "zero_col": (lambda: _with(0.0, (slice(None), 0)), EITHER),
    "huge_1e30_f64": (lambda: BASE * 1e30, EITHER),
    "huge_1e300_f64": (lambda: BASE * 1e300, EITHER),
    "huge_1e19_f32": (lambda: (BASE * 1e19).astype(np.float32), EITHER),
    "huge_1e30_f32": (lambda: (BASE * 1e30).astype(np.float32), EITHER),
    "tiny_subnormal_f32": (lambda: (BASE * 1e-40).astype(np.float32), EITHER),
    "tiny_1e-300_f64": (lambda: BASE * 1e-300, EITHER),
    "tiny_1e-8_f64": (lambda: BASE * 1e-8, EITHER),
    "tiny_1e-30_f32": (lambda: (BASE * 1e-30).astype(np.float32), EITHER),
    "int_dtype": (lambda: np.round(BASE * 10).astype(np.int64) + 1, OK),
    "bool_dtype": (lambda: np.eye(N, F, dtype=bool) | (BASE > 1.0), EITHER),
    "complex": (lambda: BASE.astype(complex), ERROR),
    "object_numbers": (lambda: BASE.astype(object), EITHER),
    "strings": (lambda: np.full((N, F), "a"), ERROR),
    "frame_non_numeric": (lambda: _frame(True), ERROR),
    "frame_numeric": (lambda: _frame(False), OK),
    "sparse_negative": (_sparse_negative, ERROR),
    "torch_requires_grad": (_torch_grad, EITHER),
    "one_dim": (lambda: BASE[0], ERROR),
    "three_dim": (lambda: BASE[None], ERROR),
    "none": (lambda: None, ERROR),
}

# parameters: (kind, params, the argument the message must name)
PARAMS = {
    "k_zero": ({"k": 0}, None),
    "k_too_big": ({"k": 100}, None),
    "k_float": ({"k": 2.5}, None),
    "k_string": ({"k": "2"}, None),
    "max_iter_zero": ({"max_iter": 0}, "max_iter"),
    "tol_negative": ({"tol": -1.0}, "tol"),
    "tol_nan": ({"tol": float("nan")}, "tol"),
    "max_time_negative": ({"max_time": -1.0}, "max_time"),
    "random_state_negative": ({"random_state": -1}, "random_state"),
    "random_state_string": ({"random_state": "seed"}, "random_state"),
    "random_state_float": ({"random_state": 1.5}, "random_state"),
    "loss_every_zero": ({"loss_every": 0}, "loss_every"),
    "loss_every_float": ({"loss_every": 2.5}, "loss_every"),
    "loss_unknown": ({"loss": "cosine"}, "loss"),
    "verbose_string": ({"verbose": "yes"}, "verbose"),
}


# -- outcome checks ------------------------------------------------------------------------------
def _as_np(a):
    if hasattr(a, "detach"):
        assert a.grad_fn is None and not a.requires_grad, "autograd graph kept in the result"
        a = a.detach().cpu().numpy()
    if hasattr(a, "to_numpy"):
        a = a.to_numpy()
    return np.asarray(a, dtype=float)


def _outputs(out):
    if hasattr(out, "W") and hasattr(out, "loss"):
        return [out.W, out.H], [out.loss, *out.loss_history]
    if isinstance(out, tuple):
        return list(out), []
    return [out], []


def assert_clear_error(exc, arg):
    text = str(exc)
    assert "\n" not in text.strip(), f"multi-line error: {text!r}"
    if arg is not None:
        assert arg in text, f"message does not name {arg!r}: {text}"
    assert FIX.search(text), f"message names no fix: {text}"


def assert_sound_result(out, model=None):
    arrays, losses = _outputs(out)
    if type(out).__name__ == "ContrastiveResult":  # D(X | .) - alpha D(Y | .): may be < 0
        losses = [v for v in losses if not np.isfinite(v)]
    for a in arrays:
        a = _as_np(a)
        assert np.isfinite(a).all(), "non-finite entries in a result"
        assert np.abs(a).max() > 0, "an all-zero (trivial) result"
    for v in losses:
        assert np.isfinite(v) and v >= 0, f"objective {v} reported"
    if model is not None and hasattr(model, "components_"):
        comp = _as_np(model.components_)
        assert np.isfinite(comp).all() and np.abs(comp).max() > 0


def check(call, expect, arg="X"):
    """Run ``call``; an NMFInputError must be clear, a result must be sound."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = call()
        except NMFInputError as exc:
            assert expect != OK, f"valid input refused: {exc}"
            assert_clear_error(exc, arg)
            return "error"
    assert expect != ERROR, "bad input accepted"
    if isinstance(out, tuple) and len(out) == 2 and hasattr(out[1], "get_params"):
        assert_sound_result(out[0], out[1])
    else:
        assert_sound_result(out)
    return "ok"


def _fit_model(name, X, k=K, **params):
    make, fit = MODELS[name]
    model = make(k, **{**FAST, **params})
    out = (fit or (lambda m, X: m.fit_transform(X)))(model, X)
    return out, model


XFAIL = {
    # (model or form, kind): reason, where a kind still fails (never silently skipped); none now
}
#: Models that factor a graph built from X's distances: an all-zero X is a valid (constant) graph.
GRAPH_MODELS = {"SymmetricNMF", "symmetric_nmf"}


def _maybe_xfail(who, kind):
    reason = XFAIL.get((who, kind))
    if reason:
        pytest.xfail(reason)


# -- data kinds × estimators and forms -----------------------------------------------------------
@pytest.mark.parametrize("kind", list(DATA))
@pytest.mark.parametrize("name", list(MODELS))
def test_estimator_data(name, kind):
    _maybe_xfail(name, kind)
    make_X, expect = DATA[kind]
    if kind in ("negative", "sparse_negative") and name in MIXED_SIGN:
        expect = EITHER
    if kind == "all_zero" and name in GRAPH_MODELS:
        expect = EITHER
    X = make_X()
    check(lambda: _fit_model(name, X), expect, _data_arg(kind))


@pytest.mark.parametrize("kind", list(DATA))
@pytest.mark.parametrize("form", list(FORMS))
def test_function_form_data(form, kind):
    _maybe_xfail(form, kind)
    make_X, expect = DATA[kind]
    if kind in ("negative", "sparse_negative") and form in MIXED_SIGN:
        expect = EITHER
    if kind == "all_zero" and form in GRAPH_MODELS:
        expect = EITHER
    X = make_X()
    check(lambda: FORMS[form](X, K, **FAST), expect, _data_arg(kind))


def _data_arg(kind):
    """The argument an error must name: X, except for a 1 x 1 matrix (k is then too large)."""
    return None if kind == "one_by_one" else "X"


def test_nan_with_handle_missing_error_is_refused():
    for name in ("NMF", "MiniBatchNMF", "SupervisedNMF", "ContrastiveNMF"):
        with pytest.raises(NMFInputError, match=r"NaN") as info:
            _fit_model(name, _with(np.nan), handle_missing="error")
        assert_clear_error(info.value, None)


# -- parameter kinds ----------------------------------------------------------------------------
def _takes(make, param):
    try:
        return param in make(K).get_params()
    except Exception:  # pragma: no cover
        return False


@pytest.mark.parametrize("kind", list(PARAMS))
@pytest.mark.parametrize("name", list(MODELS))
def test_estimator_params(name, kind):
    params, arg = PARAMS[kind]
    make = MODELS[name][0]
    k = params.get("k", K)
    rest = {p: v for p, v in params.items() if p != "k"}
    if any(not _takes(make, p) for p in rest):
        pytest.skip(f"{name} has no {', '.join(rest)} parameter")  # not a bad input for it
    _maybe_xfail(name, kind)
    check(lambda: _fit_model(name, BASE, k, **rest), ERROR, arg)


def _form_takes(form, param):
    params = inspect.signature(getattr(nmfkit, form)).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return _takes(MODELS[FORM_TARGET[form]][0], param)
    return param in params


@pytest.mark.parametrize("kind", list(PARAMS))
@pytest.mark.parametrize("form", list(FORMS))
def test_function_form_params(form, kind):
    params, arg = PARAMS[kind]
    k = params.get("k", K)
    rest = {p: v for p, v in params.items() if p != "k"}
    if any(not _form_takes(form, p) for p in rest):
        pytest.skip(f"{form} has no {', '.join(rest)} parameter")
    _maybe_xfail(form, kind)
    check(lambda: FORMS[form](BASE, k, **{**FAST, **rest}), ERROR, arg)


@pytest.mark.parametrize("name", list(MODELS))
def test_unknown_keyword_is_a_type_error_naming_it(name):
    with pytest.raises(TypeError, match="no_such_option"):
        MODELS[name][0](K, no_such_option=1)


@pytest.mark.parametrize("form", list(FORMS))
def test_function_form_unknown_keyword(form):
    with pytest.raises(TypeError, match="no_such_option"):
        FORMS[form](BASE, K, no_such_option=1)


@pytest.mark.parametrize("name", list(MODELS))
def test_max_time_zero_gives_a_sound_start(name):
    if not _takes(MODELS[name][0], "max_time"):
        pytest.skip(f"{name} has no max_time")
    _maybe_xfail(name, "max_time_zero")
    check(lambda: _fit_model(name, BASE, max_time=0.0), EITHER)


@pytest.mark.parametrize("name", [n for n in MODELS if n not in ("SymmetricNMF",)])
def test_transform_with_other_features_is_refused(name):
    out, model = _fit_model(name, BASE)
    if not hasattr(model, "transform"):
        pytest.skip(f"{name} has no transform")
    with pytest.raises(NMFInputError) as info:
        model.transform(BASE[:, :-1])
    assert_clear_error(info.value, None)
    assert "feature" in str(info.value)


def test_background_with_other_features_is_refused():
    with pytest.raises(NMFInputError) as info:
        nmfkit.contrastive_nmf(BASE, BASE[:, :-1], K, n_restarts=1, max_iter=5)
    assert_clear_error(info.value, None)


def test_nmf_rescaled_results_are_in_the_data_units():
    """The factors of X * s are s times those of X (rescaling is exact: powers of two)."""
    X = BASE / 2.0 ** np.ceil(np.log2(BASE.max()))  # largest entry in [0.5, 1)
    ref = nmfkit.nmf(X, K, random_state=0, tol=0, max_iter=30)
    for s in (2.0 ** 600, 2.0 ** -600, 2.0 ** 50, 2.0 ** -20):
        res = nmfkit.nmf(X * s, K, random_state=0, tol=0, max_iter=30)
        np.testing.assert_allclose(res.W / s, ref.W, rtol=1e-12)
        np.testing.assert_allclose(res.H, ref.H, rtol=1e-12)
        assert res.info["data_scale"] == s
        np.testing.assert_allclose(res.loss, ref.loss * s ** 2, rtol=1e-12) if abs(np.log2(s)) < 500 \
            else np.testing.assert_allclose(res.loss, ref.loss, rtol=1e-12)  # kept in X / s units
    for loss in ("kl", "frobenius"):  # the cases: KL at 1e-8 (was W = 0, loss < 0)
        res = nmfkit.nmf(BASE * 1e-8, K, loss=loss, random_state=0)
        assert res.loss > 0 and res.W.max() > 0 and np.isfinite(res.W).all()
        rel = np.linalg.norm(BASE * 1e-8 - res.W @ res.H) / np.linalg.norm(BASE * 1e-8)
        assert rel < 0.05, rel


def test_all_missing_row_and_column_get_zero_codes():
    X = BASE.copy()
    X[0] = np.nan
    X[:, 1] = np.nan
    res = nmfkit.nmf(X, K, random_state=0)
    assert np.all(res.W[0] == 0) and np.all(res.H[:, 1] == 0)
    assert np.isfinite(res.W).all() and res.W[1:].max() > 0


# -- the CLI: every sub-command, bad files and folders ------------------------------------------
def _files(tmp):
    h5py = pytest.importorskip("h5py")
    X = BASE
    np.savetxt(tmp / "good.csv", X, delimiter=",")
    (tmp / "inf.csv").write_text("1,2\n3,1e999\n2,1\n")
    (tmp / "text.csv").write_text("1,a\n3,b\n2,c\n")
    (tmp / "empty.csv").write_text("")
    np.savez(tmp / "good.npz", X=X)
    raw = (tmp / "good.npz").read_bytes()
    (tmp / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    import scipy.io

    scipy.io.mmwrite(tmp / "good.mtx", sp.csr_matrix(X))
    text = (tmp / "good.mtx").read_text()
    (tmp / "trunc.mtx").write_text(text[: len(text) // 2])
    with h5py.File(tmp / "plain.h5ad", "w") as f:
        f["foo"] = X
    (tmp / "garbage.h5ad").write_bytes(b"not an hdf5 file")
    (tmp / "ragged.tsv").write_text("1\t2\t3\n4\t5\n6\t7\t8\n")
    import gzip

    packed = gzip.compress((tmp / "good.csv").read_bytes())
    (tmp / "trunc.csv.gz").write_bytes(packed[: len(packed) // 2])
    (tmp / "adir").mkdir()
    (tmp / "exists").mkdir()
    return tmp


BAD_FILES = ["missing.csv", "adir", "inf.csv", "text.csv", "empty.csv", "ragged.tsv", "trunc.csv.gz",
             "trunc.npz", "trunc.mtx", "plain.h5ad", "garbage.h5ad"]
COMMANDS = {
    "fit": lambda f: ["fit", f, "-k", "2", "--out", "OUT", "-q"],
    "rank": lambda f: ["rank", f, "--ks", "1-2", "--restarts", "2", "--out", "OUT", "-q"],
    "contrast": lambda f: ["contrast", f, "good.csv", "-k", "1", "--out", "OUT", "-q"],
    "contrast_background": lambda f: ["contrast", "good.csv", f, "-k", "1", "--out", "OUT", "-q"],
    "signatures_extract": lambda f: ["signatures", "extract", f, "--out", "OUT", "-q"],
    "signatures_assign": lambda f: ["signatures", "assign", f, "--out", "OUT", "-q"],
}


def run_cli(argv, tmp, capsys, monkeypatch):
    from nmfkit.cli import main

    monkeypatch.chdir(tmp)
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    err = [line for line in err if "warning" not in line.lower()]
    return code, err


def _no_leftovers(tmp):
    hidden = [p.name for p in tmp.iterdir() if p.name.startswith(".")]
    assert not hidden, f"staging folders left behind: {hidden}"
    assert not (tmp / "OUT").exists(), "an output folder was written for bad input"


@pytest.mark.parametrize("bad", BAD_FILES)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_bad_input_files(command, bad, tmp_path, capsys, monkeypatch):
    tmp = _files(tmp_path)
    code, err = run_cli(COMMANDS[command](bad), tmp, capsys, monkeypatch)
    assert code == 2, (code, err)
    assert len(err) == 1 and "error:" in err[0], err
    assert FIX.search(err[0]), err
    _no_leftovers(tmp)


@pytest.mark.parametrize("command", ["fit", "rank", "contrast", "signatures_extract", "demo"])
def test_cli_existing_output_needs_force(command, tmp_path, capsys, monkeypatch):
    tmp = _files(tmp_path)
    argv = (["demo", "--out", "OUT", "-q"] if command == "demo" else COMMANDS[command]("good.csv"))
    argv = [a if a != "OUT" else "exists" for a in argv]
    code, err = run_cli(argv, tmp, capsys, monkeypatch)
    assert code == 2 and len(err) == 1 and "--force" in err[0], err


def test_cli_report_of_a_missing_or_foreign_folder(tmp_path, capsys, monkeypatch):
    tmp = _files(tmp_path)
    for target in ("missing_dir", "adir"):
        code, err = run_cli(["report", target], tmp, capsys, monkeypatch)
        assert code == 2 and len(err) == 1 and FIX.search(err[0]), err


def test_cli_unwritable_output_folder(tmp_path, capsys, monkeypatch):
    """A parent folder that refuses writes: one line naming the folder asked for, no staging."""
    from pathlib import Path

    tmp = _files(tmp_path)
    real_mkdir = Path.mkdir

    def refuse(self, *a, **kw):
        if self.name.startswith(".OUT") or self.name == "OUT":
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *a, **kw)

    monkeypatch.setattr(Path, "mkdir", refuse)
    code, err = run_cli(COMMANDS["fit"]("good.csv"), tmp, capsys, monkeypatch)
    assert code == 2 and len(err) == 1, err
    assert "OUT" in err[0] and "not writable" in err[0] and ".tmp" not in err[0], err
    _no_leftovers(tmp)


@pytest.mark.parametrize("argv", [
    ["fit", "good.csv", "-k", "2", "--out", "OUT", "--bogus"],
    ["fit", "good.csv", "-k", "x", "--out", "OUT"],
    ["fit", "good.csv", "-k", "0", "--out", "OUT"],
    ["fit", "good.csv", "-k", "99", "--out", "OUT"],
    ["fit", "good.csv", "-k", "2", "--out", "OUT", "--seed", "-1"],
    ["fit", "good.csv", "-k", "2", "--out", "OUT", "--tol", "-1"],
    ["rank", "good.csv", "--ks", "0-3", "--out", "OUT"],
    ["contrast", "good.csv", "good.csv", "-k", "1", "--out", "OUT", "--alpha", "-1"],
    ["signatures", "extract", "good.csv", "--out", "OUT", "--replicates", "0"],
    ["info", "--bogus"],
    ["demo", "--bogus"],
    ["report"],
    ["no-such-command"],
])
def test_cli_bad_options_are_one_line(argv, tmp_path, capsys, monkeypatch):
    tmp = _files(tmp_path)
    code, err = run_cli(argv, tmp, capsys, monkeypatch)
    assert code == 2 and len(err) == 1 and "error:" in err[0], err
    _no_leftovers(tmp)


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e-8])
def test_cli_fit_far_from_unit_scale_is_finite(scale, tmp_path, capsys, monkeypatch):
    """The issue's case: `nmfkit fit` on X * 1e300 wrote W with 0 and 1e300 and 'relative error
    nan'; now the factors are rescaled back and finite (or the command exits 2)."""
    np.savetxt(tmp_path / "x.csv", BASE * scale, delimiter=",")
    code, err = run_cli(["fit", "x.csv", "-k", "2", "--out", "OUT", "-q", "--max-iter", "30"],
                        tmp_path, capsys, monkeypatch)
    if code == 2:
        assert len(err) == 1
        return
    assert code == 0
    res = nmfkit.io.load_result(tmp_path / "OUT" / "result.npz")
    W, H = np.asarray(res.W), np.asarray(res.H)
    assert np.isfinite(W).all() and np.isfinite(H).all() and W.max() > 0
    rel = np.linalg.norm(BASE - (W / scale) @ H) / np.linalg.norm(BASE)
    assert rel < 0.1, rel
    import json

    summary = json.loads((tmp_path / "OUT" / "summary.json").read_text())
    assert summary["relative_error"] == pytest.approx(rel, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("bad", ["nan", "zero"])
def test_cli_fit_never_writes_a_non_finite_or_trivial_fit(bad, tmp_path, capsys, monkeypatch):
    """Whatever a model returns, `nmfkit fit` exits 2 rather than write NaN or W H = 0."""
    from dataclasses import replace

    real = nmfkit.nmf

    def broken(*args, **kw):
        res = real(*args, **kw)
        fill = np.nan if bad == "nan" else 0.0
        return replace(res, W=np.full_like(res.W, fill))

    monkeypatch.setattr(nmfkit, "nmf", broken)
    tmp = _files(tmp_path)
    code, err = run_cli(COMMANDS["fit"]("good.csv"), tmp, capsys, monkeypatch)
    assert code == 2 and len(err) == 1, err
    assert ("diverged" if bad == "nan" else "trivial") in err[0]
    _no_leftovers(tmp)


# -- rank selection on degenerate data: the right cause and a fix that changes something ---------
def test_rank_search_on_a_tiny_matrix_names_cv_fraction_and_a_new_value():
    from nmfkit.selection import rank_search

    with pytest.raises(NMFInputError) as info:
        rank_search(BASE[:3, :3], [1, 2], n_restarts=2, random_state=1)  # a draw holding none out
    text = str(info.value)
    assert "cv_fraction=0.1 held out none of the 9 observed entries" in text
    suggested = float(re.search(r"e\.g\. cv_fraction=([0-9.]+)", text).group(1))
    assert suggested > 0.1  # never the current value


@pytest.mark.parametrize("axis", [0, 1])
def test_rank_search_with_an_all_missing_line_says_so(axis):
    from nmfkit.selection import rank_search

    X = BASE.copy()
    if axis == 0:
        X[2] = np.nan
    else:
        X[:, 2] = np.nan
    with pytest.raises(NMFInputError, match=r"1 (row|column)\(s\) \[2\] with no observed entry"):
        rank_search(X, [1, 2], n_restarts=2, random_state=0)


@pytest.mark.parametrize("name", [n for n in MODELS if _takes(MODELS[n][0], "handle_missing")])
def test_all_missing_sample_gets_zero_codes_in_every_masked_model(name):
    """The defined result for a sample with no observed entry: zero codes, in fit and transform."""
    _maybe_xfail(name, "all_missing_row")
    X = BASE.copy()
    X[0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        codes, model = _fit_model(name, X)
        codes = _as_np(codes)
        assert np.all(codes[0] == 0) and np.isfinite(codes).all() and codes[1:].max() > 0
        if name != "ContrastiveNMF":  # its transform takes no NaN rows of the target (check_data)
            again = _as_np(model.transform(X))
            assert np.all(again[0] == 0) and again[1:].max() > 0


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="POSIX signals")
def test_a_killed_run_leaves_no_staging_folder_after_the_next_run(tmp_path):
    """SIGKILL cannot be cleaned up by the killed process; the next run writing the same
    output sweeps its hidden staging folder (a live run's folder is kept)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from nmfkit._files import staged_dir

    code = ("import sys, time\nfrom nmfkit._files import staged_dir\n"
            "with staged_dir(sys.argv[1], False) as d:\n"
            "    (d / 'W.tsv').write_text('half')\n    print('ready', flush=True)\n    time.sleep(60)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "out")], env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    live = [p.name for p in tmp_path.iterdir()]
    with staged_dir(tmp_path / "other", False) as d:  # another output: the live stage is kept
        (d / "x").write_text("1")
    assert all((tmp_path / n).exists() for n in live)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.1)
    assert any(n.startswith(".out.tmp-") for n in os.listdir(tmp_path))  # what SIGKILL leaves
    with staged_dir(tmp_path / "out", False) as d:
        (d / "W.tsv").write_text("full")
    assert sorted(os.listdir(tmp_path)) == ["other", "out"]
    assert (tmp_path / "out" / "W.tsv").read_text() == "full"
