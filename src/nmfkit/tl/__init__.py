"""NMF for AnnData in scanpy's conventions: ``nmfkit.tl`` as ``scanpy.tl``.

Each function takes an ``anndata.AnnData`` (cells or samples as obs, features as var),
fits on ``adata.X`` or a layer (dense, scipy.sparse, or backed for :func:`nmf`) and
stores its result under ``key_added`` in one layout (:mod:`nmfkit._anndata`), like
``sc.tl.pca``:

- ``adata.obsm[f"X_{key}"]``: codes (n_obs, k), e.g. ``X_nmf`` (usable as
  ``sc.pp.neighbors(adata, use_rep="X_nmf")``);
- ``adata.varm[key.upper()]``: loadings (n_vars, k), e.g. ``NMF``, zero rows for
  features not used (not highly variable);
- ``adata.uns[key]``: parameters, loss history, convergence, ``features_used``,
  ``component_names``; h5ad-safe (None is stored as ``"None"``).

Nothing else of ``adata`` changes. ``copy=True`` returns a modified copy; otherwise
the functions write in place (:func:`nmf`, :func:`contrastive_nmf` return None,
:func:`rank_search` and :func:`extract_signatures` return their full result).
:meth:`nmfkit.NMFResult.from_anndata` reads a stored result back; ``nmfkit.pl``
plots it.

- :func:`nmf`: NMF (:class:`nmfkit.NMF`, or :class:`nmfkit.MiniBatchNMF` streaming a
  backed file);
- :func:`contrastive_nmf`: programs enriched in one group of cells against another;
- :func:`rank_search`: the rank, by restarts and cross-validation;
- :func:`extract_signatures`: mutational signatures of a catalog stored as AnnData.
"""

from __future__ import annotations

from ._contrastive import contrastive_nmf
from ._nmf import nmf
from ._selection import extract_signatures, rank_search

__all__ = ["nmf", "contrastive_nmf", "rank_search", "extract_signatures"]
