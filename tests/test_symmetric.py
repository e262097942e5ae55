"""SymmetricNMF (SymNMF graph clustering) and the membership helpers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

from nmfkit.exceptions import NMFInputError
from nmfkit.models._membership import cluster_labels, memberships
from nmfkit.models.symmetric import SymmetricNMF, symmetric_nmf, symnmf_affinity

pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")


@parametrize_with_checks([SymmetricNMF(n_components=2, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
