"""nmfkit.signatures: catalogs in any orientation/row order, matching, consistency, refits, COSMIC."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import nnls

import nmfkit
from nmfkit.datasets import load_breast_cancer_sbs96
from nmfkit.exceptions import NMFInputError
from nmfkit.signatures import (SBS96_TYPES, average_consistency, cosine_similarity, load_cosmic,
                               match_signatures, random_signatures, read_catalog, refit_error,
                               refit_exposures, sbs96_types, simulate_catalog, to_catalog)


@pytest.fixture(scope="module")
def breast():
    return load_breast_cancer_sbs96()


def test_sbs96_type_orders():
    lex, sub = sbs96_types(), sbs96_types("substitution")
    assert len(set(lex)) == 96 and set(lex) == set(sub) and lex == sorted(lex)
    assert tuple(lex) == SBS96_TYPES
    assert sub[:5] == ["A[C>A]A", "A[C>A]C", "A[C>A]G", "A[C>A]T", "C[C>A]A"]
    assert [t[2:5] for t in sub[::16]] == ["C>A", "C>G", "C>T", "T>A", "T>C", "T>G"]


def test_read_catalog_any_orientation_and_row_order(breast, tmp_path):
    ref = read_catalog(breast.catalog)
    assert ref.shape == (21, 96) and list(ref.columns) == list(SBS96_TYPES)
    np.testing.assert_array_equal(ref.to_numpy(), breast.X.to_numpy())
    shuffled = breast.catalog.loc[sbs96_types("substitution")]
    variants = {
        "substitution-major frame": shuffled,
        "samples x types frame": shuffled.T,
        "reversed rows": breast.catalog.iloc[::-1],
    }
    # SigProfiler text file, GEL-style TSV (header one field short), PCAWG-style CSV
    sp_path = tmp_path / "sp.txt"
    shuffled.rename_axis("MutationType").to_csv(sp_path, sep="\t")
    gel_path = tmp_path / "gel.tsv"
    gel_path.write_text("\t".join(shuffled.columns) + "\n" + shuffled.to_csv(sep="\t", header=False))
    pcawg = shuffled.copy()
    pcawg.insert(0, "Trinucleotide", [t[0] + t[2] + t[6] for t in pcawg.index])
    pcawg.insert(0, "Mutation type", [t[2:5] for t in pcawg.index])
    pcawg_path = tmp_path / "pcawg.csv"
    pcawg.to_csv(pcawg_path, index=False)
    for name, source in {**variants, "sigprofiler": sp_path, "gel": gel_path, "pcawg": pcawg_path}.items():
        got = read_catalog(source)
        assert list(got.columns) == list(SBS96_TYPES), name
        pd.testing.assert_frame_equal(got.loc[ref.index], ref, check_names=False, obj=name)
    back = to_catalog(ref)
    assert back.shape == (96, 21) and back.index[0] == "A[C>A]A"


@pytest.mark.parametrize("edit, match", [
    (lambda c: c.rename(index={"A[C>A]A": "A[C>X]A"}), r"unknown mutation-type name.*'A\[C>X\]A'"),
    (lambda c: c.rename(index={"A[C>A]A": "T[G>T]T"}), "reverse-complement"),
    (lambda c: c.iloc[1:], "not 96: missing A\\[C>A\\]A"),
    (lambda c: pd.concat([c, c.iloc[:1]]), "twice"),
    (lambda c: c - 60, "negative counts"),
    (lambda c: c.astype(float).where(c > 100), "NaN"),
    (lambda c: c.reset_index(drop=True), "no SBS-96 mutation-type names"),
])
def test_bad_catalogs_are_explained(breast, edit, match):
    with pytest.raises(NMFInputError, match=match):
        read_catalog(edit(breast.catalog))


def test_read_catalog_bad_source(tmp_path):
    with pytest.raises(NMFInputError, match="does not exist"):
        read_catalog(tmp_path / "nope.tsv")
    with pytest.raises(NMFInputError, match="DataFrame"):
        read_catalog(np.ones((96, 3)))


def test_cosine_matching_and_consistency():
    rng = np.random.default_rng(0)
    S = rng.random((4, 96))
    perm = [2, 0, 3, 1]
    m = match_signatures(S, S[perm])
    assert [perm[j] for j in m.cols] == list(m.rows) and m.mean == pytest.approx(1.0)
    C = cosine_similarity(S, S[perm])
    assert C.shape == (4, 4) and np.allclose(C[m.rows, m.cols], 1.0)
    noisy = [S, S[perm], S * rng.uniform(0.9, 1.1, S.shape)]
    acs = average_consistency(noisy)
    assert len(acs.pairs) == 3 and 0.99 < acs.mean <= 1.0
    ref = pd.DataFrame(S, index=["a", "b", "c", "d"], columns=list(SBS96_TYPES))
    assert match_signatures(S[[1, 3]], ref).names == ["b", "d"]
    with pytest.raises(NMFInputError, match="all-zero"):
        cosine_similarity(np.zeros((1, 96)), S)
    with pytest.raises(NMFInputError, match="at least 2"):
        average_consistency([S])


def test_refits_recover_exposures():
    sig = random_signatures(3, random_state=0).to_numpy()
    E = np.random.default_rng(1).gamma(2.0, 500.0, (6, 3))
    X = E @ sig
    np.testing.assert_allclose(refit_exposures(X, sig), E, rtol=1e-8)
    np.testing.assert_allclose(refit_exposures(X, sig, loss="kl", tol=1e-12, max_iter=5000), E, rtol=1e-3)
    sim = simulate_catalog(sig, 8, random_state=2)
    Xs = sim.X.to_numpy()
    Ef = refit_exposures(Xs, sig)
    for i in range(len(Xs)):  # the same as SciPy's NNLS, sample by sample
        np.testing.assert_allclose(Ef[i], nnls(sig.T, Xs[i])[0], rtol=1e-6, atol=1e-8)
    res = refit_error(Xs, sig)
    assert res.error == pytest.approx(((Xs - Ef @ sig) ** 2).mean(), rel=1e-10)
    kl = refit_error(Xs, sig, loss="kl")
    R = kl.exposures @ sig
    expected = np.where(Xs > 0, Xs * np.log(np.where(Xs > 0, Xs, 1) / R), 0) - Xs + R
    assert kl.error == pytest.approx(expected.mean(), rel=1e-6)
    with pytest.raises(NMFInputError, match="shape"):
        refit_exposures(Xs, sig[:, :90])
    with pytest.raises(NMFInputError, match="loss"):
        refit_exposures(Xs, sig, loss="is")


def test_simulated_catalog_is_poisson_from_known_signatures():
    sig = random_signatures(2, random_state=0)
    sim = simulate_catalog(sig, 400, mutations=(2000, 2000), random_state=0)
    assert sim.X.shape == (400, 96) and (sim.X.to_numpy() % 1 == 0).all()
    np.testing.assert_allclose(sim.exposures.sum(axis=1), 2000)
    mean = sim.exposures @ sim.signatures
    z = (sim.X.to_numpy().sum() - mean.sum()) / np.sqrt(mean.sum())
    assert abs(z) < 4
    with pytest.raises(NMFInputError, match="96"):
        simulate_catalog(np.ones((2, 95)), 3)


@pytest.mark.parametrize("loss", ["frobenius", "kl"])
def test_nmf_recovers_known_signatures_from_poisson_catalogs(loss):
    truth = random_signatures(4, concentration=0.3, random_state=3)
    sim = simulate_catalog(truth, 60, mutations=(500, 5000), random_state=4)
    model = nmfkit.NMF(4, loss=loss, max_iter=3000, tol=1e-7, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
        model.fit(sim.X)
    match = match_signatures(model.components_, truth)
    assert match.cosine.min() >= 0.95, match.cosine


def test_breast_cancers_nmf_fits_better_than_convex_nmf(breast):
    """On the real 21 breast cancers (K=4), NMF's training error is below ConvexNMF's, as it
    must be at optimum (a convex-NMF solution is a feasible NMF solution)."""
    X = read_catalog(breast.catalog).to_numpy()
    nmf = nmfkit.NMF(4, max_iter=3000, tol=1e-8, random_state=0)
    W = nmf.fit_transform(X)
    cnmf = nmfkit.ConvexNMF(4, solver="lbfgsb", max_iter=200, tol=1e-8, random_state=0)
    Wc = cnmf.fit_transform(X)
    err = lambda W, H: ((X - W @ H) ** 2).mean()  # noqa: E731
    assert err(W, nmf.components_) < err(Wc, cnmf.components_)
    # the convex basis: non-negative combinations of the genomes
    assert (cnmf.combination_ >= 0).all()
    np.testing.assert_allclose(cnmf.components_, cnmf.combination_ @ X, rtol=1e-8)


def _cosmic_file(path, order="lexicographic"):
    sig = random_signatures(3, random_state=5)
    table = sig.T.loc[sbs96_types(order)].rename(columns=lambda c: c.replace("sig", "SBS"))
    table.rename_axis("Type").to_csv(path, sep="\t")
    return sig


def test_load_cosmic_from_a_path(tmp_path):
    sig = _cosmic_file(tmp_path / "cosmic.txt", order="substitution")
    cosmic = load_cosmic(tmp_path / "cosmic.txt")
    assert list(cosmic.index) == ["SBS1", "SBS2", "SBS3"] and list(cosmic.columns) == list(SBS96_TYPES)
    np.testing.assert_allclose(cosmic.to_numpy(), sig.to_numpy())
    assert match_signatures(sig.iloc[[2, 0]], cosmic).names == ["SBS3", "SBS1"]
    with pytest.raises(FileNotFoundError, match="SigProfilerAssignment"):
        load_cosmic(tmp_path / "missing.txt")


def test_load_cosmic_from_an_installed_sigprofilerassignment(tmp_path, monkeypatch):
    folder = tmp_path / "site" / "SigProfilerAssignment" / "data" / "Reference_Signatures" / "GRCh37"
    folder.mkdir(parents=True)
    (tmp_path / "site" / "SigProfilerAssignment" / "__init__.py").write_text("raise ImportError('not imported')\n")
    sig = _cosmic_file(folder / "COSMIC_v3.4_SBS_GRCh37.txt")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    np.testing.assert_allclose(load_cosmic().to_numpy(), sig.to_numpy())
    with pytest.raises(FileNotFoundError, match="no COSMIC v3.3 SBS GRCh37"):
        load_cosmic(version="3.3")


def test_load_cosmic_without_package_or_path_says_how_to_get_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "SigProfilerAssignment" else real(name, *a))
    with pytest.raises(FileNotFoundError, match="pip install SigProfilerAssignment"):
        load_cosmic()
