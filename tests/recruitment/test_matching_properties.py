"""Properties of three-valued evaluation: Kleene tables, Except, and monotonicity in the facts.

Monotonicity: filling in facts that were missing may settle an unknown, but never flips met to not met or
back. Facts are modelled as slots (one result per gene or analyte, one primary diagnosis, the therapy history
with its confirmation) so that an extension adds information without contradicting what was there.
"""

import dataclasses
import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.model import And, Atom, Concept, Except, Node, Not, Or, TimeWindow
from recruitment.matching import (
    BiomarkerFact,
    DiagnosisFact,
    LabFact,
    PatientFacts,
    TherapyFact,
    Truth,
    evaluate_tree,
)
from recruitment.matching.logic import all_of, any_of, except_, negate

TODAY = datetime.date(2026, 11, 23)
ORDER = {Truth.NOT_MET: 0, Truth.UNKNOWN: 1, Truth.MET: 2}
DEFINITE = (Truth.MET, Truth.NOT_MET)
truths = st.sampled_from(list(Truth))
checked = st.sampled_from([Truth.MET, Truth.NOT_MET, Truth.UNKNOWN])


class TestKleeneTables:
    @given(st.lists(checked, max_size=5), st.booleans())
    def test_over_checkable_values_and_is_the_minimum_and_or_the_maximum(self, values, lets_in):
        if not values:
            assert all_of(values, lets_in=lets_in) is any_of(values, lets_in=lets_in) is Truth.NOT_CHECKABLE
            return
        assert all_of(values, lets_in=lets_in) is min(values, key=ORDER.__getitem__)
        assert any_of(values, lets_in=lets_in) is max(values, key=ORDER.__getitem__)

    @given(st.lists(truths, min_size=1, max_size=5), st.booleans())
    def test_a_part_for_the_site_never_decides_against_the_patient(self, values, lets_in):
        """Women of childbearing potential "must agree to use contraception" (inclusion, an Or) or "not
        willing to use contraception" (exclusion, an And): whether she is willing is for the site, so the
        node is for the site where, without that part, it would have gone against her."""
        if Truth.NOT_CHECKABLE not in values:
            return
        others = [v for v in values if v is not Truth.NOT_CHECKABLE]
        against = Truth.NOT_MET if lets_in else Truth.MET
        for combine in (all_of, any_of):
            without = combine(others, lets_in=lets_in)
            with_it = combine(values, lets_in=lets_in)
            if with_it is against:
                assert without is against
            # Where it alone could turn the node her way (an Or that would let her in, an And that would keep
            # her out), the node is for the site.
            if without is against and (combine is any_of) == lets_in:
                assert with_it is Truth.NOT_CHECKABLE

    @given(truths)
    def test_not_swaps_met_and_not_met_and_keeps_unknown(self, value):
        assert negate(negate(value)) is value
        assert (negate(value) is value) == (value in (Truth.UNKNOWN, Truth.NOT_CHECKABLE))

    @given(st.lists(truths, max_size=5), st.booleans())
    def test_de_morgan_with_the_direction_swapped(self, values, lets_in):
        negated = [negate(v) for v in values]
        assert negate(all_of(values, lets_in=lets_in)) is any_of(negated, lets_in=not lets_in)
        assert negate(any_of(values, lets_in=lets_in)) is all_of(negated, lets_in=not lets_in)

    @given(checked, checked)
    def test_except_is_main_and_not_exception(self, main, exception):
        assert except_(main, exception) is all_of([main, negate(exception)])

    @given(truths)
    def test_an_exception_never_rescues_an_absent_main_condition(self, exception):
        assert except_(Truth.NOT_MET, exception) is Truth.NOT_MET

    def test_an_uncheckable_exception_makes_a_met_main_condition_unknown(self):
        assert except_(Truth.MET, Truth.NOT_CHECKABLE) is Truth.UNKNOWN


expressions = st.recursive(
    checked.map(lambda v: ("leaf", v)),
    lambda inner: st.one_of(
        st.tuples(st.just("and"), st.lists(inner, min_size=1, max_size=3)),
        st.tuples(st.just("or"), st.lists(inner, min_size=1, max_size=3)),
        st.tuples(st.just("not"), inner),
        st.tuples(st.just("except"), st.tuples(inner, inner)),
    ),
    max_leaves=8,
)


def _value(expr: Any, refine: dict[int, Truth], counter: list[int]) -> Truth:
    op, arg = expr
    if op == "leaf":
        counter[0] += 1
        return refine.get(counter[0], arg) if arg is Truth.UNKNOWN else arg
    if op == "not":
        return negate(_value(arg, refine, counter))
    if op == "except":
        return except_(_value(arg[0], refine, counter), _value(arg[1], refine, counter))
    values = [_value(child, refine, counter) for child in arg]
    return all_of(values) if op == "and" else any_of(values)


class TestRefinement:
    @given(expressions, st.dictionaries(st.integers(1, 8), st.sampled_from(DEFINITE)))
    def test_settling_unknown_leaves_never_changes_a_definite_result(self, expr, refine):
        before = _value(expr, {}, [0])
        after = _value(expr, refine, [0])
        if before in DEFINITE:
            assert after is before

    @given(expressions)
    def test_unknown_leaves_alone_never_make_met_or_not_met(self, expr):
        def all_unknown(e: Any) -> Any:
            op, arg = e
            if op == "leaf":
                return ("leaf", Truth.UNKNOWN)
            if op in ("not",):
                return (op, all_unknown(arg))
            if op == "except":
                return (op, (all_unknown(arg[0]), all_unknown(arg[1])))
            return (op, [all_unknown(child) for child in arg])

        assert _value(all_unknown(expr), {}, [0]) is Truth.UNKNOWN


# -- monotonicity of the engine in the patient's facts -----------------------------------------------------

ATOMS = [
    Atom(
        "demographic",
        "age >= 18",
        (0, 0),
        "t",
        1.0,
        concept=Concept("demographic", "age", "age"),
        comparator=">=",
        value=18.0,
    ),
    Atom(
        "demographic",
        "age <= 75",
        (0, 0),
        "t",
        1.0,
        concept=Concept("demographic", "age", "age"),
        comparator="<=",
        value=75.0,
    ),
    Atom("demographic", "women", (0, 0), "t", 1.0, concept=Concept("demographic", "sex", "female")),
    Atom(
        "performance_status",
        "ECOG 0-1",
        (0, 0),
        "t",
        1.0,
        concept=Concept("scale", "ECOG", "ECOG"),
        comparator="in",
        values=(0.0, 1.0),
    ),
    Atom(
        "performance_status",
        "KPS >= 70",
        (0, 0),
        "t",
        1.0,
        concept=Concept("scale", "Karnofsky", "KPS"),
        comparator=">=",
        value=70.0,
    ),
    Atom("pregnancy", "pregnant", (0, 0), "t", 1.0, concept=Concept("pregnancy", "pregnant", "pregnant")),
    Atom(
        "pregnancy",
        "breastfeeding",
        (0, 0),
        "t",
        1.0,
        concept=Concept("pregnancy", "breastfeeding", "breastfeeding"),
    ),
    Atom("pregnancy", "WOCBP", (0, 0), "t", 1.0, concept=Concept("pregnancy", "wocbp", "WOCBP")),
    Atom(
        "biomarker",
        "BRAF V600E",
        (0, 0),
        "t",
        1.0,
        concept=Concept("hgnc", "BRAF", "BRAF"),
        alteration="V600E",
    ),
    Atom(
        "biomarker",
        "BRAF wild-type",
        (0, 0),
        "t",
        1.0,
        concept=Concept("hgnc", "BRAF", "BRAF"),
        alteration="wild_type",
    ),
    Atom(
        "biomarker",
        "EGFR mutation",
        (0, 0),
        "t",
        1.0,
        concept=Concept("hgnc", "EGFR", "EGFR"),
        alteration="mutation",
    ),
    Atom(
        "biomarker",
        "PD-L1 TPS >= 50%",
        (0, 0),
        "t",
        1.0,
        concept=Concept("hgnc", "CD274", "CD274"),
        alteration="TPS",
        comparator=">=",
        value=50.0,
        unit="%",
    ),
    Atom(
        "lab",
        "ANC >= 1.5 x 10^9/L",
        (0, 0),
        "t",
        1.0,
        concept=Concept("loinc", "751-8", "ANC"),
        comparator=">=",
        value=1.5,
        unit="10^9/L",
    ),
    Atom(
        "lab",
        "bilirubin <= 1.5 x ULN",
        (0, 0),
        "t",
        1.0,
        concept=Concept("loinc", "1975-2", "bilirubin"),
        comparator="<=",
        uln_multiple=1.5,
    ),
    Atom("condition", "NSCLC", (0, 0), "t", 1.0, concept=Concept("diagnosis", "nsclc", "NSCLC")),
    Atom("condition", "lung adenocarcinoma", (0, 0), "t", 1.0, concept=Concept("diagnosis", "luad", "LUAD")),
    Atom(
        "condition",
        "solid tumour",
        (0, 0),
        "t",
        1.0,
        concept=Concept("diagnosis", "solid_tumour", "solid tumour"),
    ),
    Atom(
        "therapy",
        "ICI within 4 weeks",
        (0, 0),
        "t",
        1.0,
        concept=Concept("drug_class", "immune_checkpoint_inhibitor", "ICI"),
        window=TimeWindow(4, "weeks", "within"),
    ),
    Atom(
        "therapy",
        "concurrent ICI",
        (0, 0),
        "t",
        1.0,
        concept=Concept("drug_class", "immune_checkpoint_inhibitor", "ICI"),
        window=TimeWindow(0, "days", "current"),
    ),
    Atom(
        "therapy", "prior EGFR TKI", (0, 0), "t", 1.0, concept=Concept("drug_class", "egfr_tki", "EGFR TKI")
    ),
    Atom(
        "other",
        "informed consent",
        (0, 0),
        "t",
        1.0,
        checkable=False,
        concept=Concept("other", "consent", "consent"),
    ),
]

trees: st.SearchStrategy[Node] = st.recursive(
    st.sampled_from(ATOMS),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(inner, min_size=1, max_size=3).map(lambda c: Or(tuple(c))),
        inner.map(Not),
        st.tuples(inner, inner).map(lambda pair: Except(*pair)),
    ),
    max_leaves=6,
)

dates = st.dates(datetime.date(1930, 1, 1), datetime.date(2026, 11, 23))
biomarker_slots = {
    "BRAF": st.sampled_from(
        [("mutation", "positive", "V600E"), ("mutation", "positive", "G469A"), ("wild_type", "negative", "")]
    ),
    "EGFR": st.sampled_from(
        [
            ("deletion", "positive", "exon 19 deletion"),
            ("wild_type", "negative", ""),
            ("mutation", "equivocal", ""),
        ]
    ),
    "CD274": st.integers(0, 100),
}


@st.composite
def slot_values(draw: st.DrawFn) -> dict[str, Any]:
    """A full, consistent set of facts; a profile is any subset of these slots."""
    sex = draw(st.sampled_from(["female", "male"]))
    pregnancy = ["unknown", "not_applicable", "not_pregnant"] + (["pregnant"] if sex == "female" else [])
    breastfeeding = [None, False] + ([True] if sex == "female" else [])
    therapies = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["nivolumab", "osimertinib", "carboplatin"]), st.one_of(st.none(), dates)
            ),
            max_size=3,
        )
    )
    return {
        "birth_date": draw(dates),
        "sex": sex,
        "ecog": draw(st.integers(0, 5)),
        "pregnancy_status": draw(st.sampled_from(pregnancy)),
        "breastfeeding": draw(st.sampled_from(breastfeeding)),
        "BRAF": draw(biomarker_slots["BRAF"]),
        "EGFR": draw(biomarker_slots["EGFR"]),
        "CD274": draw(biomarker_slots["CD274"]),
        "ANC": draw(st.floats(0, 10, allow_nan=False)),
        "bilirubin": draw(
            st.tuples(
                st.floats(0, 5, allow_nan=False), st.one_of(st.none(), st.floats(0.5, 2, allow_nan=False))
            )
        ),
        # Confirming the history closes the world for conditions and therapies, so they share one slot.
        "history": (
            draw(st.sampled_from(["luad", "lusc", "nsclc", "breast_cancer", "sclc"])),
            tuple(therapies),
            draw(st.booleans()),
        ),
    }


def facts_from(slots: dict[str, Any]) -> PatientFacts:
    facts = PatientFacts(
        **{
            k: slots[k]
            for k in ("birth_date", "sex", "ecog", "pregnancy_status", "breastfeeding")
            if k in slots
        }
    )
    biomarkers = [
        BiomarkerFact(f"biomarker:{gene}", gene, kind, status, protein_change=change)
        for gene in ("BRAF", "EGFR")
        if gene in slots
        for kind, status, change in [slots[gene]]
    ]
    if "CD274" in slots:
        biomarkers.append(
            BiomarkerFact(
                "biomarker:pdl1", "CD274", "expression", measure="TPS", value=slots["CD274"], unit="%"
            )
        )
    labs = []
    if "ANC" in slots:
        labs.append(LabFact("lab:anc", "ANC", "751-8", slots["ANC"], "10^9/L", TODAY))
    if "bilirubin" in slots:
        value, high = slots["bilirubin"]
        labs.append(LabFact("lab:bili", "bilirubin", "1975-2", value, "mg/dL", TODAY, None, high))
    diagnoses: tuple[DiagnosisFact, ...] = ()
    therapies: tuple[TherapyFact, ...] = ()
    confirmed = None
    if "history" in slots:
        code, courses, is_confirmed = slots["history"]
        diagnoses = (DiagnosisFact("diagnosis:1", code, code),)
        classes = {
            "nivolumab": ("anti_pd1", "immune_checkpoint_inhibitor"),
            "osimertinib": ("egfr_tki", "tki"),
            "carboplatin": ("platinum",),
        }
        therapies = tuple(
            TherapyFact(f"therapy:{i}", drug, classes[drug], ended_on=end)
            for i, (drug, end) in enumerate(courses)
        )
        confirmed = TODAY if is_confirmed else None
    return dataclasses.replace(
        facts,
        biomarkers=tuple(biomarkers),
        labs=tuple(labs),
        diagnoses=diagnoses,
        therapies=therapies,
        history_confirmed_on=confirmed,
    )


@settings(max_examples=300, deadline=None)
@given(trees, slot_values(), st.data())
def test_adding_facts_only_settles_unknowns(tree, full, data):
    known = data.draw(st.sets(st.sampled_from(sorted(full))))
    more = known | data.draw(st.sets(st.sampled_from(sorted(full))))
    before, _ = evaluate_tree(tree, facts_from({k: full[k] for k in known}), today=TODAY)
    after, _ = evaluate_tree(tree, facts_from({k: full[k] for k in more}), today=TODAY)
    if before in DEFINITE:
        assert after is before
    if after is Truth.UNKNOWN:
        assert before is Truth.UNKNOWN


@settings(max_examples=200, deadline=None)
@given(trees)
def test_an_empty_profile_never_meets_or_fails_a_checkable_atom(tree):
    _, results = evaluate_tree(tree, PatientFacts(), today=TODAY)
    for result in results:
        assert result.truth in (Truth.UNKNOWN, Truth.NOT_CHECKABLE)
        if result.truth is Truth.UNKNOWN:
            assert result.settle is not None
