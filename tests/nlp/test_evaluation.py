import io
import zipfile
from pathlib import Path

import pytest

from nlp.evaluation import (
    PredictedEntity,
    Prediction,
    criterion_lines,
    is_held_out,
    iter_ctgov_criteria,
    parse_ann,
    read_brat_zip,
    score,
    split,
    throughput,
)

TEXT = "No history of diabetes\nANC >= 1500/mm3\n"
ANN = "\n".join(
    [
        "T1\tNegation 0 2\tNo",
        "T2\tCondition 14 22\tdiabetes",
        "T3\tMeasurement 23 26\tANC",
        "T4\tValue 27 38\t>= 1500/mm3",
        "T5\tCondition 0 2;14 22\tNo diabetes",
        "R1\tHas_negation Arg1:T2 Arg2:T1",
        "R2\tHas_value Arg1:T3 Arg2:T4",
    ]
)


def test_brat_reader_keeps_discontinuous_fragments_and_relations() -> None:
    doc = parse_ann("NCT00000001_inc", TEXT, ANN)
    assert doc.trial_id == "NCT00000001"
    assert doc.entities[4].fragments == ((0, 2), (14, 22))
    assert ("Has_value", "T3", "T4") in doc.relations


def test_brat_reader_reads_pairs_from_a_zip(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("chia/NCT00000001_inc.txt", TEXT)
        archive.writestr("chia/NCT00000001_inc.ann", ANN)
        archive.writestr("chia/NCT00000002_exc.txt", "orphan without annotations")
    path = tmp_path / "mini.zip"
    path.write_bytes(buffer.getvalue())
    docs = read_brat_zip(str(path))
    assert [d.name for d in docs] == ["NCT00000001_inc"]


def test_split_is_by_trial_and_deterministic() -> None:
    docs = [parse_ann(f"NCT{n:08d}_{s}", "", "") for n in range(200) for s in ("inc", "exc")]
    train, held_out = split(docs)
    assert {d.trial_id for d in train}.isdisjoint({d.trial_id for d in held_out})
    assert 0.1 < len(held_out) / len(docs) < 0.3
    assert all(is_held_out(d.trial_id) for d in held_out)


def test_strict_needs_exact_span_relaxed_needs_overlap() -> None:
    doc = parse_ann("d", TEXT, ANN)
    prediction = Prediction(
        entities=[
            PredictedEntity("Condition", 14, 22, negated=True),
            PredictedEntity("Measurement", 23, 26),
            PredictedEntity("Value", 30, 38),
        ],
        has_value=[(1, 2)],
    )
    report = score([doc], {"d": prediction})
    assert report.strict["Condition"].true_positives == 1
    assert report.strict["Value"].true_positives == 0
    assert report.relaxed["Value"].true_positives == 1
    assert report.has_value_accuracy == 1.0
    assert report.negation_recall == 1.0
    assert report.negation_precision == 1.0
    assert report.relaxed["Condition"].recall == pytest.approx(0.5)
    assert report.strict["Negation"].recall == 0.0


def test_ctgov_reader_yields_criteria_text_and_structured_fields(tmp_path: Path) -> None:
    import tarfile

    xml = (
        b"<clinical_study><id_info><nct_id>NCT00000009</nct_id></id_info><eligibility><criteria><textblock>"
        b"Inclusion Criteria:\n - ECOG 0-1\n</textblock></criteria><gender>All</gender>"
        b"<minimum_age>18 Years</minimum_age><maximum_age>N/A</maximum_age></eligibility></clinical_study>"
    )
    path = tmp_path / "mini.tgz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("NCT0000xxxx/NCT00000009.xml")
        info.size = len(xml)
        archive.addfile(info, io.BytesIO(xml))
    [record] = iter_ctgov_criteria(str(path))
    assert record.nct_id == "NCT00000009"
    assert record.minimum_age == "18 Years"
    assert criterion_lines(record.text) == 2


def test_throughput_counts_non_empty_lines() -> None:
    timing = throughput(["a\n\nb", "c"], len, repeats=2)
    assert timing.lines == 3
    assert timing.wall_seconds >= 0
    assert timing.cpu_seconds >= 0


def test_the_parsers_lab_atom_is_scored_as_a_measurement_with_its_value() -> None:
    from nlp.evaluation import parser_prediction

    text = "Platelets >= 100 x 10^9/L"
    prediction = parser_prediction(text)
    typed = {(e.type, text[e.start : e.end]) for e in prediction.entities}
    assert ("Measurement", "Platelets") in typed
    assert ("Value", ">= 100 x 10^9/L") in typed
    assert len(prediction.has_value) == 1


def test_the_parsers_time_windows_and_assertion_cues_are_scored_as_temporal_and_negation() -> None:
    from nlp.evaluation import parser_prediction

    text = "No history of myocardial infarction or stroke within 6 months"
    found = {(e.type, text[e.start : e.end]) for e in parser_prediction(text).entities}
    assert ("Negation", "No") in found
    assert ("Temporal", "history") in found
    assert ("Temporal", "within 6 months") in found
    assert ("Condition", "myocardial infarction") in found
    # one Negation for the cue, though it negates two atoms
    assert sum(1 for e in parser_prediction(text).entities if e.type == "Negation") == 1
