"""Small-cell suppression for sponsor aggregates.

Counts from 1 to 10 are hidden ("1-10"). A table of counts is shown with its total, so hiding one cell is not
enough: the total minus the shown cells would give it back. Complementary suppression hides further cells
(the smallest non-zero ones, shown as "suppressed") until no hidden small cell can be worked out from the
total and what is shown; if the table runs out of cells, the total is hidden instead. A zero is never hidden:
it tells nothing about a person and hiding it as a complement could pin a small cell down to its value.
"""

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

LOW, HIGH = 1, 10
SMALL = f"{LOW}-{HIGH}"
HIDDEN = "suppressed"


@dataclass(frozen=True)
class Suppressed(Generic[K]):
    cells: dict[K, str]
    total: str


def _small(count: int) -> bool:
    return LOW <= count <= HIGH


def _a_small_cell_is_determined(small: int, large: int, hidden_sum: int) -> bool:
    """Whether the total pins any hidden small cell to one value.

    A reader knows each hidden small cell lies in 1-10 and each hidden complement is above 10 (or they would
    be small themselves), and knows the hidden cells' sum from the total. A small cell is determined when the
    other hidden cells leave it exactly one possible value.
    """
    if small == 0:
        return False
    if small + large == 1:
        return True
    others_min = (small - 1) * LOW + large * (HIGH + 1)
    # A hidden complement has no upper bound, so with one among them a small cell can be as low as 1.
    lowest = LOW if large else max(LOW, hidden_sum - (small - 1) * HIGH)
    highest = min(HIGH, hidden_sum - others_min)
    return lowest >= highest


def suppress(counts: Mapping[K, int], *, published: Collection[K] = ()) -> Suppressed[K]:
    """Display strings for `counts` and their total, small cells hidden with complementary suppression.

    `published`: cells whose count is shown elsewhere on the same page (the enrolled total beside the
    funnel's Enrolled cell). Hiding one of them hides nothing, so none is taken as a complement."""
    total = sum(counts.values())
    primary = {key for key, count in counts.items() if _small(count)}
    complement: set[K] = set()
    total_hidden = _small(total)
    if primary and not total_hidden:
        while _a_small_cell_is_determined(
            len(primary), len(complement), sum(counts[k] for k in primary | complement)
        ):
            candidates = sorted(
                (count, str(key), key)
                for key, count in counts.items()
                if count > 0 and key not in primary and key not in complement and key not in published
            )
            if not candidates:
                total_hidden = True
                break
            complement.add(candidates[0][2])
    cells = {
        key: SMALL if key in primary else HIDDEN if key in complement else str(count)
        for key, count in counts.items()
    }
    return Suppressed(cells=cells, total=SMALL if _small(total) else HIDDEN if total_hidden else str(total))


def suppress_one(count: int) -> str:
    """A single count shown on its own, with no total beside it."""
    return SMALL if _small(count) else str(count)
