"""How strong a match is: strong, fair or weak by its topical score (the similarity of the query to
the researcher's publications), against thresholds calibrated on the evaluation sets' relevant
researchers (`kakehashi evaluate --calibrate`): a strong match scores as high as half of the
relevant researchers do (STRONG_REACHED), a fair one as high as nine in ten (FAIR_REACHED); below,
fewer than one relevant researcher in ten scores so low: weak. The main space and the multilingual
one (Japanese queries, about half the similarities) have their own. The report also says, per set,
how often the first results labelled each way were relevant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from kernel.settings import Settings

MatchStrength = Literal["strong", "fair", "weak"]
STRONG_REACHED = 0.5  # of the relevant researchers, those scoring at least the strong threshold
FAIR_REACHED = 0.9


def thresholds(multilingual: bool, settings: Settings) -> tuple[float, float]:
    """The strong and the fair threshold of the space a query is matched in."""
    return ((settings.multilingual_strong_similarity, settings.multilingual_fair_similarity) if multilingual
            else (settings.strong_similarity, settings.fair_similarity))


def match_strength(topical: float, multilingual: bool, settings: Settings) -> MatchStrength:
    strong, fair = thresholds(multilingual, settings)
    return "strong" if topical >= strong else "fair" if topical >= fair else "weak"


def strength_counts(topical: np.ndarray, multilingual: bool, settings: Settings) -> dict[str, int]:
    """How many of these topical scores are strong, fair and weak matches."""
    strong, fair = thresholds(multilingual, settings)
    above_strong, above_fair = int((topical >= strong).sum()), int((topical >= fair).sum())
    return {"strong": above_strong, "fair": above_fair - above_strong, "weak": len(topical) - above_fair}


def share_relevant(shown: Sequence[tuple[float, bool]], low: float, high: float = np.inf) -> tuple[int, float | None]:
    """How many shown results scored in [low, high), and the share of them that were relevant."""
    inside = [r for s, r in shown if low <= s < high]
    return len(inside), (sum(inside) / len(inside) if inside else None)
