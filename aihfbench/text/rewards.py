"""Ground-truth rewards of the text tasks.

- offline IMDb: VADER's compound sentiment score in [-1, 1] (``vaderSentiment``; its lexicon
  ships in the wheel, so no download).

(The paper profile's ``lvwerra/distilbert-imdb`` classifier is not wired yet: issue #5.)
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np


@lru_cache(maxsize=1)
def _vader():
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        from ..errors import ConfigError

        raise ConfigError("the offline IMDb reward needs vaderSentiment: pip install 'aihfbench[text]'") from None
    return SentimentIntensityAnalyzer()


def vader_sentiment(texts: Sequence[str]) -> np.ndarray:
    """``[N]`` VADER compound scores in [-1, 1] (positive = positive sentiment)."""
    analyzer = _vader()
    return np.array([analyzer.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)
