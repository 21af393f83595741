"""Ranking metrics for the TREC Clinical Trials benchmark: NDCG@k, P@k and AUROC, with no dependencies."""

from __future__ import annotations

import math
from collections.abc import Sequence


def dcg(gains: Sequence[float], k: int) -> float:
    """Discounted cumulative gain of the first k gains with the linear gain used by trec_eval."""
    return sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains[:k]))


def ndcg_at_k(ranked_gains: Sequence[float], judged_gains: Sequence[float], k: int = 10) -> float:
    """DCG of the ranking over the ideal DCG of all judged gains; 0 when nothing judged has a gain."""
    ideal = dcg(sorted(judged_gains, reverse=True), k)
    return dcg(ranked_gains, k) / ideal if ideal else 0.0


def precision_at_k(ranked_relevant: Sequence[bool], k: int = 10) -> float:
    """Share of the first k positions that are relevant; a short ranking still divides by k (as trec_eval)."""
    return sum(1 for relevant in ranked_relevant[:k] if relevant) / k


def auroc(positive_scores: Sequence[float], negative_scores: Sequence[float]) -> float | None:
    """P(a random positive outscores a random negative), ties counting half; None if a side is empty."""
    if not positive_scores or not negative_scores:
        return None
    wins = 0.0
    for p in positive_scores:
        for n in negative_scores:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(positive_scores) * len(negative_scores))
