"""Bad and edge inputs the engine refuses with a clear error, or handles (issue 18, first items)."""

import numpy as np
import pytest

import nmfkit
from nmfkit.exceptions import NMFInputError


@pytest.fixture(scope="module")
def X():
    return nmfkit.datasets.make_low_rank(30, 20, 3, random_state=0).X


@pytest.mark.parametrize("call", [
    lambda X: nmfkit.nmf(X, 3, random_state=-1),
    lambda X: nmfkit.NMF(3, random_state=-1).fit(X),
    lambda X: nmfkit.selection.restarts(X, 3, 2, random_state=-1),
    lambda X: nmfkit.contrastive_nmf(X, X, 2, random_state=-1),
])
def test_negative_seed_is_a_clear_error(X, call):
    with pytest.raises(NMFInputError, match=r"random_state=-1 is negative; pass a seed >= 0"):
        call(X)


def test_all_zero_custom_start_is_refused(X):
    with pytest.raises(NMFInputError, match="initial W is all zeros"):
        nmfkit.nmf(X, 3, init="custom", W=np.zeros((30, 3)), H=np.ones((3, 20)))
    with pytest.raises(NMFInputError, match="initial H is all zeros"):
        nmfkit.nmf(X, 3, init="custom", W=np.ones((30, 3)), H=np.zeros((3, 20)))


def test_requires_grad_tensor_is_detached(X):
    torch = pytest.importorskip("torch")
    Xt = torch.tensor(X, requires_grad=True)
    res = nmfkit.nmf(Xt, 3, max_iter=20, tol=0, random_state=0)
    ref = nmfkit.nmf(torch.tensor(X), 3, max_iter=20, tol=0, random_state=0)
    assert res.W.grad_fn is None and not res.W.requires_grad and not res.H.requires_grad
    torch.testing.assert_close(res.H, ref.H)
    model = nmfkit.SemiNMF(2, max_iter=20, random_state=0).fit(Xt)
    assert not model.components_.requires_grad


def test_anndata_gets_a_hint_to_pass_its_matrix():
    anndata = pytest.importorskip("anndata")
    adata = anndata.AnnData(np.random.default_rng(0).random((10, 5)))
    with pytest.raises(NMFInputError, match=r"AnnData object; pass its matrix: adata\.X"):
        nmfkit.nmf(adata, 2)


def test_cli_usage_errors_are_one_line(capsys):
    from nmfkit.cli import main

    assert main(["fit", "--bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nmfkit fit: error:") and "--help" in err[0]
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice" in err[0]
