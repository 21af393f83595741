"""Small-cell suppression: no count from 1 to 10 can be read or worked out from a table and its total."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from recruitment.suppression import HIDDEN, SMALL, suppress, suppress_one


def test_large_cells_and_zeros_are_shown():
    result = suppress({"Boston": 25, "Denver": 0, "Austin": 40})
    assert result.cells == {"Boston": "25", "Denver": "0", "Austin": "40"}
    assert result.total == "65"


def test_one_small_cell_takes_the_smallest_other_cell_with_it():
    result = suppress({"Boston": 25, "Denver": 3, "Austin": 40})
    assert result.cells == {"Boston": HIDDEN, "Denver": SMALL, "Austin": "40"}
    assert result.total == "68"


def test_a_zero_is_never_the_complement():
    result = suppress({"Boston": 0, "Denver": 3, "Austin": 40})
    assert result.cells["Boston"] == "0"
    assert result.cells["Austin"] == HIDDEN


def test_two_ones_are_not_enough_on_their_own():
    # 1 + 1 = 2 with both in 1-10 means both are exactly 1.
    result = suppress({"a": 1, "b": 1, "c": 50, "d": 60})
    assert result.cells == {"a": SMALL, "b": SMALL, "c": HIDDEN, "d": "60"}


def test_two_tens_are_not_enough_on_their_own():
    result = suppress({"a": 10, "b": 10, "c": 50, "d": 60})
    assert result.cells["c"] == HIDDEN


def test_a_small_total_is_hidden():
    result = suppress({"a": 4, "b": 0})
    assert result.cells == {"a": SMALL, "b": "0"}
    assert result.total == SMALL


def test_with_no_cell_left_to_hide_the_total_goes():
    result = suppress({"a": 4, "b": 0, "c": 0})
    assert result.total == SMALL
    result = suppress({"a": 4, "b": 12})
    assert result.cells == {"a": SMALL, "b": HIDDEN}
    assert result.total == "16"


def test_a_single_count_is_suppressed_between_1_and_10():
    assert [suppress_one(n) for n in (0, 1, 10, 11)] == ["0", SMALL, SMALL, "11"]


def _recoverable(counts: dict[str, int], shown: dict[str, str], total: str) -> set[str]:
    """Small cells an attacker can pin down by trying every assignment consistent with what is shown."""
    hidden = [k for k, v in shown.items() if v in (SMALL, HIDDEN)]
    if total in (SMALL, HIDDEN) or not hidden:
        return set()
    known_total = int(total) - sum(int(v) for k, v in shown.items() if k not in hidden)
    ranges = [range(1, 11) if shown[k] == SMALL else range(11, known_total + 1) for k in hidden]
    possible: dict[str, set[int]] = {k: set() for k in hidden}
    for values in itertools.product(*ranges):
        if sum(values) == known_total:
            for k, v in zip(hidden, values, strict=True):
                possible[k].add(v)
    return {k for k in hidden if shown[k] == SMALL and len(possible[k]) == 1}


@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=4))
def test_no_small_cell_can_be_worked_out(values):
    counts = {f"c{i}": v for i, v in enumerate(values)}
    result = suppress(counts)
    for key, count in counts.items():
        assert (result.cells[key] == SMALL) == (1 <= count <= 10)
    assert _recoverable(counts, result.cells, result.total) == set()
