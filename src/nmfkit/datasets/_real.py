"""Loaders for the small real datasets bundled in ``nmfkit/datasets/_data``.

Every loader returns a :class:`sklearn.utils.Bunch` with samples as rows (the
scikit-learn orientation): ``X``, ``description`` (a few lines), ``attribution``
(one line; full licence notes in ``_data/ATTRIBUTION.md``) and, where relevant,
``obs`` (per-sample metadata indexed like ``X``'s rows) and ``var`` (per-feature
metadata).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._base import open_data, read_csr_npz

__all__ = [
    "load_mice_protein",
    "load_breast_cancer_sbs96",
    "load_pbmc68k",
    "load_mouse10k",
    "load_digits",
    "load_microbiome_atlas",
]

_MICE_LABELS = ["Genotype", "Treatment", "Behavior", "class"]


def load_mice_protein() -> Bunch:
    """Load the UCI Mice Protein Expression data (77 proteins, 1,080 measurements).

    Expression levels of 77 proteins in the cerebral cortex of control and
    trisomic (Ts65Dn, a Down-syndrome model) mice, with or without memantine,
    stimulated to learn (context-shock) or not (shock-context); about 15
    measurements per mouse.

    The data are returned as in the file, with two caveats worth knowing before
    fitting NMF:

    - **1,396 missing values** are kept as NaN (NMF with a mask handles them).
    - **One value is slightly negative** (``-0.062``, a measurement artefact);
      it is kept as is. NMF needs ``X >= 0``, so clip it (``X.clip(lower=0)``)
      or drop that row before fitting; nmfkit never clips input silently.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` : DataFrame (1080, 77) of float64, index ``MouseID``, one column per
        protein (e.g. ``DYRK1A_N``);
        ``obs`` : DataFrame (1080, 4) with categorical ``Genotype`` (Control /
        Ts65Dn), ``Treatment`` (Memantine / Saline), ``Behavior`` (C/S, S/C) and
        ``class`` (8 groups, e.g. ``c-CS-m``), indexed like ``X``;
        ``target`` : Series, the ``class`` column;
        ``description``, ``attribution`` : str.

    Examples
    --------
    >>> from nmfkit.datasets import load_mice_protein
    >>> data = load_mice_protein()
    >>> data.X.shape, int(data.X.isna().sum().sum())
    ((1080, 77), 1396)
    """
    with open_data("uci_mice_protein_Data_Cortex_Nuclear.csv.gz") as handle:
        frame = pd.read_csv(handle, compression="gzip", encoding="utf-8-sig", index_col="MouseID")
    obs = frame[_MICE_LABELS].astype("category")
    X = frame.drop(columns=_MICE_LABELS).astype(np.float64)
    X.columns.name = "protein"
    return Bunch(
        X=X,
        obs=obs,
        target=obs["class"],
        description=(
            "Mice Protein Expression (UCI id 342): 77 protein levels in the cortex of 72 mice,\n"
            "1,080 measurements (rows) labelled by genotype, treatment, behaviour and class.\n"
            "Kept as in the file: 1,396 NaNs and one value below zero (-0.062)."
        ),
        attribution=(
            "Higuera, Gardiner & Cios (2015), Mice Protein Expression, UCI Machine Learning "
            "Repository, CC BY 4.0"
        ),
    )


def load_breast_cancer_sbs96() -> Bunch:
    """Load the SBS-96 mutational catalog of 21 breast cancers (Nik-Zainal et al. 2012).

    The file is a mutational catalog, **mutation types × samples (96 × 21)**, the
    orientation of the signature literature. ``X`` is its **transpose**, samples ×
    mutation types (21 × 96), so that NMF's ``W`` holds per-sample exposures and
    ``H`` the signatures; the original orientation is kept in ``catalog``.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` : DataFrame (21, 96) of float64 mutation counts, index the sample
        names (e.g. ``PD4199a``), columns the mutation types such as ``A[C>A]A``
        in the file's (alphabetical) order;
        ``catalog`` : DataFrame (96, 21) of int64, the file as is (index named
        ``MutationType``; the file's header calls it ``Mutation Types``);
        ``var`` : DataFrame (96, 2) with ``substitution`` (e.g. ``C>A``) and
        ``context`` (the trinucleotide, e.g. ``ACA``), indexed like ``X.columns``;
        ``description``, ``attribution`` : str.

    Examples
    --------
    >>> from nmfkit.datasets import load_breast_cancer_sbs96
    >>> data = load_breast_cancer_sbs96()
    >>> data.X.shape, data.catalog.shape, data.X.columns[0]
    ((21, 96), (96, 21), 'A[C>A]A')
    """
    with open_data("sigprofiler_21BRCA_SBS96.txt") as handle:
        catalog = pd.read_csv(handle, sep="\t", index_col=0)
    catalog.index.name = "MutationType"
    catalog.columns.name = "sample"
    X = catalog.T.astype(np.float64)
    types = catalog.index.to_series()
    var = pd.DataFrame(
        {
            "substitution": types.str[2:5].to_numpy(),
            "context": (types.str[0] + types.str[2] + types.str[6]).to_numpy(),
        },
        index=catalog.index,
    )
    return Bunch(
        X=X,
        catalog=catalog,
        var=var,
        description=(
            "SBS-96 mutation counts of 21 breast-cancer genomes (Nik-Zainal et al. 2012).\n"
            "X is samples x mutation types (21 x 96), the transpose of the file's 96 x 21\n"
            "catalog, which is kept as `catalog`."
        ),
        attribution=(
            "21 breast cancers, Nik-Zainal et al. (2012) Cell 149:979-993; SigProfilerExtractor "
            "example data, Alexandrov Lab, BSD-2-Clause"
        ),
    )


def load_pbmc68k() -> Bunch:
    """Load 700 peripheral blood mononuclear cells × 765 genes of UMI counts (10x PBMC 68k subset).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` : scipy.sparse.csr_matrix (700, 765) of float64 integer-valued UMI
        counts, 174,400 non-zeros;
        ``obs`` : DataFrame indexed by cell barcode with categorical
        ``bulk_labels`` (10 sorted cell types, e.g. ``CD14+ Monocyte``) and
        ``louvain`` (11 clusters ``'0'``–``'10'``);
        ``var`` : DataFrame indexed by gene symbol (no columns);
        ``description``, ``attribution`` : str.

    Examples
    --------
    >>> from nmfkit.datasets import load_pbmc68k
    >>> data = load_pbmc68k()
    >>> data.X.shape, data.X.nnz
    ((700, 765), 174400)
    """
    X, labels = read_csr_npz("pbmc68k_reduced_counts.npz")
    obs = pd.DataFrame(
        {
            "bulk_labels": pd.Categorical(labels["bulk_labels"]),
            "louvain": pd.Categorical(
                labels["louvain"], categories=sorted(set(labels["louvain"]), key=int)
            ),
        },
        index=pd.Index(labels["barcodes"], name="barcode"),
    )
    var = pd.DataFrame(index=pd.Index(labels["genes"], name="gene"))
    return Bunch(
        X=X,
        obs=obs,
        var=var,
        description=(
            "UMI counts of 700 PBMCs over 765 highly variable genes (10x Fresh 68k PBMCs,\n"
            "scanpy's pbmc68k_reduced), sparse CSR, with cell-type (bulk_labels) and\n"
            "louvain cluster labels."
        ),
        attribution=(
            "10x Genomics, Fresh 68k PBMCs (Donor A), CC BY 4.0; subset as bundled in scanpy "
            "(BSD-3-Clause)"
        ),
    )


def load_mouse10k() -> Bunch:
    """Load 10,000 mouse cells × 1,000 genes of UMI counts (10x Genomics, scanpy test data).

    The genes are the first 1,000 in genome order (not selected for
    variability), so most are sparsely expressed: 6.9 % of entries are non-zero.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` : scipy.sparse.csr_matrix (10000, 1000) of float64 integer-valued
        UMI counts, 691,914 non-zeros;
        ``obs`` : DataFrame indexed by cell barcode (no columns);
        ``var`` : DataFrame indexed by Ensembl ``gene_ids`` (unique) with
        columns ``gene_symbol`` (not unique: 999 distinct) and ``gene_ids``;
        ``description``, ``attribution`` : str.

    Examples
    --------
    >>> from nmfkit.datasets import load_mouse10k
    >>> data = load_mouse10k()
    >>> data.X.shape
    (10000, 1000)
    """
    X, labels = read_csr_npz("mouse10x_10k_subset_counts.npz")
    obs = pd.DataFrame(index=pd.Index(labels["barcodes"], name="barcode"))
    var = pd.DataFrame(
        {"gene_symbol": labels["gene_symbol"], "gene_ids": labels["gene_ids"]},
        index=pd.Index(labels["gene_ids"], name="gene_id"),
    )
    return Bunch(
        X=X,
        obs=obs,
        var=var,
        description=(
            "UMI counts of 10,000 mouse cells over the first 1,000 genes in genome order\n"
            "(10x Genomics, from scanpy's test data), sparse CSR, 6.9 % non-zero."
        ),
        attribution=(
            "10x Genomics mouse single-cell data, CC BY 4.0; subset from scanpy's test data "
            "(BSD-3-Clause)"
        ),
    )


def load_digits() -> Bunch:
    """Load the 1,797 8×8 handwritten digits (UCI optdigits, as bundled in scikit-learn).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` : ndarray (1797, 64) of float64 pixel intensities 0–16, each row an
        image flattened in row-major order;
        ``target`` : ndarray (1797,) of int64 digit labels 0–9;
        ``images`` : ndarray (1797, 8, 8) of float64, ``X`` reshaped;
        ``feature_names`` : list of str, ``pixel_<row>_<col>``;
        ``description``, ``attribution`` : str.

    Examples
    --------
    >>> from nmfkit.datasets import load_digits
    >>> data = load_digits()
    >>> data.X.shape, data.images.shape
    ((1797, 64), (1797, 8, 8))
    """
    with open_data("sklearn_digits.csv.gz") as handle:
        values = pd.read_csv(handle, compression="gzip", header=None).to_numpy(np.int64)
    X = values[:, :-1].astype(np.float64)
    return Bunch(
        X=X,
        target=values[:, -1].copy(),
        images=X.reshape(-1, 8, 8),
        feature_names=[f"pixel_{i}_{j}" for i in range(8) for j in range(8)],
        description=(
            "1,797 handwritten digits as 8x8 images with pixel values 0-16 (UCI optdigits,\n"
            "as bundled in scikit-learn); X is the flattened images, target the digit."
        ),
        attribution=(
            "Alpaydin & Kaynak (1998), Optical Recognition of Handwritten Digits, UCI Machine "
            "Learning Repository, CC BY 4.0; via scikit-learn (BSD-3-Clause)"
        ),
    )


def load_microbiome_atlas() -> Bunch:
    """Load the HITChip Atlas of the human gut microbiota (1,151 samples × 130 genera).

    The counts file is genera × samples (130 × 1,151); ``X`` is its
    **transpose**, samples × genera, so NMF's ``W`` holds per-sample community
    weights and ``H`` the community profiles.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` : DataFrame (1151, 130) of float64 integer-valued abundances, index
        the sample ids (``Sample-1`` ...), columns the genus-level groups;
        ``obs`` : DataFrame (1151, 9) indexed like ``X`` with ``age``, ``sex``,
        ``nationality``, ``DNA_extraction_method``, ``project``, ``diversity``,
        ``bmi_group``, ``subject`` and ``time`` (missing entries as NaN; the
        file's redundant ``sample`` column, equal to the index, is dropped);
        ``description``, ``attribution`` : str.

    Examples
    --------
    >>> from nmfkit.datasets import load_microbiome_atlas
    >>> data = load_microbiome_atlas()
    >>> data.X.shape, data.obs.shape
    ((1151, 130), (1151, 9))
    """
    with open_data("atlas1006_genus_counts.csv.gz") as handle:
        counts = pd.read_csv(handle, compression="gzip", index_col=0)
    with open_data("atlas1006_sample_metadata.csv") as handle:
        obs = pd.read_csv(handle, index_col=0)
    X = counts.T.astype(np.float64)
    X.index.name = "sample"
    X.columns.name = "genus"
    if "sample" in obs.columns and (obs["sample"].astype(str) == obs.index.astype(str)).all():
        obs = obs.drop(columns="sample")
    obs.index.name = "sample"
    obs = obs.reindex(X.index)
    return Bunch(
        X=X,
        obs=obs,
        description=(
            "HITChip Atlas: genus-level abundances of 130 bacterial groups in 1,151 gut\n"
            "microbiota samples (1,006 Western adults, some sampled repeatedly), with age,\n"
            "sex, nationality, BMI group, subject and time; X is samples x genera."
        ),
        attribution=(
            "Lahti et al. (2014) Nature Communications 5:4344, HITChip Atlas, Dryad "
            "doi:10.5061/dryad.pk75d, CC0 1.0"
        ),
    )
