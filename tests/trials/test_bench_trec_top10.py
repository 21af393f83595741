"""bench_trec --top10: the per-patient listing for NDCG@10 error analysis (trec_error_classes 83-87)."""

from io import StringIO

from nlp.ranking import EligibilityOutcome, RankedTrial
from trials.management.commands.bench_trec import Command


def _ranked(nct: str, score: float, overall: str) -> RankedTrial:
    return RankedTrial(nct, score, score, score, ("myeloma", "multiple"), EligibilityOutcome(overall, 0.5))


def test_top10_lists_the_first_ten_and_the_eligible_trials_below_them() -> None:
    ranking = [_ranked(f"NCT{i:08d}", 1 - i / 20, "possibly_eligible") for i in range(12)]
    judged = {r.nct_id: 0 for r in ranking}
    judged["NCT00000010"] = 1  # excluded, below the top 10: left out
    judged["NCT00000011"] = 2  # eligible, below the top 10: listed
    command = Command(stdout=StringIO())
    command._top10("trec-202117", ranking, judged)
    lines = command.stdout.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0].startswith("TOP trec-202117  1 qrel 0 NCT00000000 possibly_eligible")
    assert lines[-1].startswith("TOP trec-202117 12 qrel 2 NCT00000011")
    assert lines[0].endswith("terms myeloma, multiple")
