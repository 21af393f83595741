from pathlib import Path

import pytest

CTGOV = Path(__file__).resolve().parent.parent / "fixtures" / "ctgov"


@pytest.fixture
def ctgov() -> Path:
    """The folder of real registry records shipped with the tests."""
    return CTGOV
