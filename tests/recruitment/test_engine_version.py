"""A deploy that changes what the engine concludes must bump `ENGINE_VERSION`, or every patient's stored
horizon keeps vouching for results the new code would not give (the nightly run would skip them).

Nothing can tell a refactoring from a change of meaning, so the engine's source files are pinned: when they
change, this test fails until a person decides. If a result can change for unchanged facts and trials (a
handler, the wording of an explanation, a score), bump ENGINE_VERSION; either way, pin the new digest here.
"""

import hashlib
from pathlib import Path

from recruitment.matching import horizon

ENGINE_FILES = (
    "__init__.py",
    "atoms.py",
    "cohorts.py",
    "conditions.py",
    "engine.py",
    "facts.py",
    "horizon.py",
    "index.py",
    "logic.py",
    "results.py",
)
PINNED = {
    "2026.12.07.6": "3cf36427451682c2fd3a57a3bb52726efcf729109af83069645b015e30973ebc",
    "2026.12.07.7": "60e86b26bf29d1468f6f399a20f4962d04dd70bb46bdda517bede9fd1933e38b",
}


# The unit conversions every lab comparison goes through (nlp/units.py, read by atoms.py): a change there
# changes verdicts as surely as a handler does. Other nlp/ code the engine reads is versioned already: the
# parse by the parser version, the vocabularies by the dictionary version, both in the stamp.
ENGINE_NLP_FILES = ("units.py",)


def engine_digest() -> str:
    folder = Path(horizon.__file__).parent
    nlp_folder = folder.parent.parent / "nlp"
    digest = hashlib.sha256()
    for name, path in [(name, folder / name) for name in ENGINE_FILES] + [
        (f"nlp/{name}", nlp_folder / name) for name in ENGINE_NLP_FILES
    ]:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def test_the_engine_code_is_the_code_its_version_was_pinned_with():
    assert PINNED.get(horizon.ENGINE_VERSION) == engine_digest(), (
        "recruitment/matching changed: if results can change for unchanged facts and trials, bump"
        f" ENGINE_VERSION; either way, pin the version to {engine_digest()} in this test"
    )
