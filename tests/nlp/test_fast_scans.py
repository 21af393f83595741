"""The parser's shortcuts around slow case-insensitive regex scans find exactly what the scans find.

Python's re.IGNORECASE also matches dotted and dotless i, long s and the Kelvin sign to ASCII letters, which
a lower-case substring test or a scan of `text.lower()` would miss; these texts mix them in.
"""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from nlp import extract
from nlp.assertion import EligibilityContext
from nlp.parser import parse_eligibility, pipeline
from nlp.patient_text import extract_patient_facts
from nlp.text import _NEEDS_MAP, Normalised, _mapped, normalise

PIECES = st.sampled_from(
    [
        "No history of ",
        "not ",
        "NOR ",
        "without",
        "unless",
        "naive",
        "iS",
        "\u0131f ",
        "\u0130f ",
        "\u017fuspected ",
        "\u212anown ",
        "MSI-H",
        "m\u017fi-high",
        "HR+ ",
        "hormone receptor negative",
        "TMB-high 10 mut/Mb",
        "Men and women",
        "FEMALES ",
        "women of child-bearing potential",
        "WOCBP",
        "Pregnant or lactating",
        "brea\u017ft-feeding",
        "informed consent",
        "Willing to comply",
        "aged 18 years",
        "OLDER",
        "2 prior lines",
        "within 4 weeks of first dose",
        "Serum creatinine",
        "total bilirubin",
        "total b\u0131l\u0131rub\u0131n",
        "\u017ferum creatinine < 2 mg/dL",
        "-",
        " ",
        "\n",
        "é",
    ]
)
TEXTS = st.lists(PIECES, max_size=12).map("".join)
SCANNED = (
    (extract._STANDALONE, extract._STANDALONE_NEEDS),
    (extract._TMB, extract._TMB_NEEDS),
    (extract._SEX, ("men", "male")),
    (extract._WOCBP, ("potential", "wocbp", "focbp")),
    (extract._PREGNANCY_TEST, ("pregnancy",)),
    (extract._PREGNANT, ("pregnan", "breast", "lactat", "nursing")),
    (extract._BOTH_SEXES, ()),
    (extract._NOT_CHECKABLE, ()),
    (extract._AGE_HINT, ()),
    (extract._LINES_HINT, ()),
    (extract._WINDOW, ()),
)


def _found(matches: object) -> list[tuple[tuple[int, int], list[str | None]]]:
    return [(m.span(), [g.lower() if g else g for g in m.groups()]) for m in matches]  # type: ignore[attr-defined]


@given(TEXTS)
def test_skipped_or_lower_cased_scans_find_what_the_pattern_finds(text: str) -> None:
    lowered = text.lower()
    for pattern, needles in SCANNED:
        assert _found(extract._finditer(pattern, text, lowered, needles)) == _found(pattern.finditer(text))


@given(TEXTS)
def test_lab_names_found_alike_in_any_case(text: str) -> None:
    _, folded, _ = extract._lab_patterns()
    folded_ascii = extract._ascii_variant(folded)
    assert folded_ascii is not None
    if text.isascii():
        assert _found(folded_ascii.finditer(text.lower())) == _found(folded.finditer(text))


@settings(deadline=None)  # the first example builds the pipeline
@given(TEXTS)
def test_cue_first_words_found_as_the_alternation_finds_them(text: str) -> None:
    context = pipeline().get_pipe("eligibility_context")
    assert isinstance(context, EligibilityContext)
    expected = [m.span() for m in context.first_words.finditer(text)]
    assert [m.span() for m in context._first_words(text)] == expected


def test_patterns_that_could_differ_keep_ignorecase() -> None:
    assert extract._ascii_variant(re.compile("no", re.I)) is not None
    assert extract._ascii_variant(re.compile("Men", re.I)) is None  # a capital letter
    assert extract._ascii_variant(re.compile("[A-Z]x", re.I)) is None
    assert extract._ascii_variant(re.compile("\\u212a", re.I)) is None  # the Kelvin sign, escaped
    assert extract._ascii_variant(re.compile("(?-i:ab)c", re.I)) is None
    assert extract._ascii_variant(re.compile("no")) is None  # already case-sensitive


def test_a_folded_letter_in_a_trigger_word_still_runs_the_finder_that_reads_it() -> None:
    def stages(text: str) -> int:
        return str(parse_eligibility(text).to_dict()).count("condition.stage")

    plain = "Inclusion Criteria:\n- Stage IIIB non-small cell lung cancer"
    assert stages(plain) == 1
    assert stages(plain.replace("Stage", "\u017ftage")) == 1  # long s, which re.IGNORECASE reads as "s"


@settings(deadline=None)
@given(TEXTS)
def test_text_mixing_in_folded_letters_never_breaks_the_parser_or_the_note_reader(text: str) -> None:
    parse_eligibility("Inclusion Criteria:\n- " + text).to_dict()
    extract_patient_facts(text)


def test_a_lab_name_written_with_dotless_i_is_read_as_the_lab_it_matches() -> None:
    # re.IGNORECASE matches this spelling to "bilirubin", so its name must be looked up the same way.
    name = "Total b\u0131l\u0131rub\u0131n"
    criteria = str(parse_eligibility(f"Inclusion Criteria:\n- {name} <= 1.5 x ULN").to_dict())
    assert "1975-2" in criteria  # total bilirubin's LOINC code
    labs = extract_patient_facts(f"{name} 1.2 mg/dL.").of("lab")
    assert [lab.text for lab in labs] == [f"{name} 1.2 mg/dL"]  # as written, not as read


NAMES = st.lists(
    st.sampled_from(
        [
            "EGFR",
            "EGFR-mutant",
            "xEGFR",
            "-EGFR",
            "_ALK",
            "HER2/neu",
            "HER-2",
            "PD-L1",
            "PD-L 1",
            "c-MET",
            "MET exon 14",
            "BRAF V600E",
            "ER/PR negative",
            "ER+",
            "PR",
            "AST",
            "ALT (SGPT)",
            "aPTT",
            "eGFR",
            "HbA1c",
            "Hb",
            "\u00e9AST",
            "1ALT",
            " ",
            "/",
            "(",
            "\n",
        ]
    ),
    max_size=10,
).map("".join)


@given(NAMES)
def test_names_at_word_starts_found_as_the_look_behind_finds_them(text: str) -> None:
    for pattern in (extract._gene_pattern(), extract._lab_patterns()[0]):
        behind = re.compile(r"(?<![\w-])" + pattern.pattern)
        assert _found(extract._at_word_starts(pattern, text)) == _found(behind.finditer(text))


MAPPED_PIECES = st.sampled_from(
    ["Platelets ", "\u2265", "\u2264 ", "\r\n", "\u00b5mol/L", "10\u2079/L", "\u2013", "\u00a0", "\\", "\\>="]
)


@given(st.lists(MAPPED_PIECES, max_size=10).map("".join))
def test_one_for_one_normalisation_maps_offsets_as_the_replacement_loop_does(text: str) -> None:
    # `normalise` rewrites texts needing only one-for-one replacements with `str.translate`.
    expected = _mapped(text) if _NEEDS_MAP.search(text) else Normalised(text, text, None, None)
    assert normalise(text) == expected


def test_one_for_one_normalisation_of_a_text_longer_than_the_shared_offsets_maps_as_the_loop_does() -> None:
    # Offset maps are slices of one shared tuple up to its length, and built afresh past it.
    for length in (20_000, 20_001, 25_000):
        text = ("Platelets \u2265 100\r\n" * length)[:length]
        assert normalise(text) == _mapped(text)
