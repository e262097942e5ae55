"""Loader for the bundled trumpet recording (a short audio clip for β-divergence NMF)."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from .._optional import require
from ._base import open_data

__all__ = ["load_trumpet"]

_TRUMPET = "trumpet_sorohanro.ogg"


def load_trumpet() -> Bunch:
    """Load a 5.3 s solo jazz trumpet phrase (mono, 22,050 Hz), for audio NMF.

    Decoding the bundled Ogg Vorbis file needs the optional package ``soundfile``
    (``pip install soundfile`` or ``pip install 'nmfkit[audio]'``); without it an
    :class:`ImportError` says so.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``signal`` : ndarray (117601,) float64 in [-1, 1], mono;
        ``sample_rate`` : int, 22050;
        ``description``, ``attribution`` : str.

    Examples
    --------
    >>> from nmfkit.datasets import load_trumpet
    >>> data = load_trumpet()
    >>> data.sample_rate, round(len(data.signal) / data.sample_rate, 2)
    (22050, 5.33)
    """
    soundfile = require("soundfile", "decode the bundled trumpet recording (Ogg Vorbis)")
    with open_data(_TRUMPET) as handle:
        signal, sample_rate = soundfile.read(handle, dtype="float64", always_2d=True)
    signal = np.ascontiguousarray(signal.mean(axis=1))  # the file is mono; mean() keeps 1-D
    return Bunch(
        signal=signal,
        sample_rate=int(sample_rate),
        description=("A solo jazz trumpet phrase in F (blues / Dorian), 90 bpm, 5.3 s, mono, "
                     "22,050 Hz,\nOgg Vorbis; part of 'Jazz Trumpet Loops Pack in F 90 bpm'."),
        attribution=("'Jazz Trumpet Loops Pack in F 90 bpm' by Mihai Sorohan, Freesound 77711 "
                     "(https://freesound.org/s/77711/), CC BY 3.0"),
    )
