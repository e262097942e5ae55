"""Plots of NMF results (matplotlib only).

Every function draws into the ``ax`` (or ``fig``) it is given, or into a new
figure, and returns it; none calls ``plt.show()`` or changes global style. All share
one style (:mod:`nmfkit.plotting._style`): colour-blind-safe Okabe–Ito colours for
categories, ``viridis`` for non-negative heat-maps, ``PuOr_r`` centred at zero for signed
ones, labelled axes and colour bars, legends outside the data area; and every one takes
``save="path/stem"`` to write ``stem.png`` and ``stem.svg`` (atomically; existing files
only with ``overwrite=True``). The one deliberate exception: the SBS-96 profile keeps the
community's six mutation-class colours (see ``_signatures.SBS96_COLORS``).

- :func:`plot_loss`: objective against iteration, with the stop reason.
- :func:`plot_factor_heatmap`: ``W`` or ``H`` as a heat-map with a colour bar.
- :func:`plot_components_images`: each component as an image (e.g. 8x8 digits).
- :func:`plot_top_features`: bar charts of each component's heaviest features.
- :func:`plot_rank_search`, :func:`plot_consensus`, :func:`plot_component_stability`:
  model selection (``nmfkit.selection.rank_search``).
- :func:`plot_enrichment`, :func:`plot_contrastive_path`: background-contrastive NMF
  (``nmfkit.ContrastiveNMF``, ``nmfkit.contrastive_path``).
- :func:`plot_sbs96`, :func:`plot_exposures`, :func:`plot_signature_selection`,
  :func:`plot_cosine_heatmap`: mutational signatures (``nmfkit.signatures``): the
  standard SBS-96 profile, stacked exposures, stability and error against k, cosine
  similarity to reference signatures (e.g. COSMIC).

The style they share, for plots of your own: :data:`PALETTE` (Okabe–Ito, colour-blind
safe), :func:`categorical_colors`, the maps :data:`SEQUENTIAL` (``viridis``) and
:data:`DIVERGING` (``PuOr_r``), :func:`legend_outside`. Every function takes ``save=``
(writes PNG and SVG) and returns what it drew into.
"""

from __future__ import annotations

from ._contrastive import plot_contrastive_path, plot_enrichment
from ._factors import plot_components_images, plot_factor_heatmap, plot_top_features
from ._loss import plot_loss
from ._selection import plot_component_stability, plot_consensus, plot_rank_search
from ._signature_selection import plot_cosine_heatmap, plot_signature_selection
from ._signatures import plot_exposures, plot_sbs96
from ._style import DIVERGING, PALETTE, SEQUENTIAL, categorical_colors, legend_outside

__all__ = ["plot_loss", "plot_factor_heatmap", "plot_components_images", "plot_top_features",
           "plot_rank_search", "plot_consensus", "plot_component_stability",
           "plot_enrichment", "plot_contrastive_path",
           "plot_sbs96", "plot_exposures", "plot_signature_selection", "plot_cosine_heatmap",
           "PALETTE", "SEQUENTIAL", "DIVERGING", "categorical_colors", "legend_outside"]
