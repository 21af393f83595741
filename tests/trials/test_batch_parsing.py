"""Parsing many trials in one call stores what parsing each trial alone stores."""

import pytest

from nlp import parse_eligibility_many
from tests import factories
from trials import services
from trials.models import Trial, TrialEvent

pytestmark = pytest.mark.django_db

# Real phrasings from ClinicalTrials.gov records (NCT04685135 and NCT05048797 style oncology criteria).
LUNG = """Inclusion Criteria:
  -  Histologically confirmed non-small cell lung cancer with an EGFR exon 19 deletion or L858R mutation
  -  ECOG performance status 0 or 1
Exclusion Criteria:
  -  Pregnant or breastfeeding women
"""
BREAST = """Inclusion Criteria:
  -  HER2-positive (IHC 3+) metastatic breast cancer
  -  Absolute neutrophil count >= 1.5 x 10^9/L
Exclusion Criteria:
  -  Known HIV infection
"""
FIELDS = {"minimum_age_years": 18, "sex": "ALL"}


def _stored(trial: Trial) -> list[tuple[object, ...]]:
    return list(
        trial.criteria.order_by("position").values_list(
            "position", "section", "text", "span_start", "span_end", "parsed_tree", "mentions", "cohort"
        )
    )


def test_trials_parsed_together_store_the_criteria_each_stores_alone():
    alone = [factories.TrialFactory.create(eligibility_text=text, **FIELDS) for text in (LUNG, BREAST, "")]
    together = [factories.TrialFactory.create(eligibility_text=text, **FIELDS) for text in (LUNG, BREAST, "")]
    for trial in alone:
        services.trial_parse_eligibility(trial_id=trial.pk)
    results = services.trials_parse_eligibility(trial_ids=[t.pk for t in together])
    assert [r.trial_id for r in results] == [t.pk for t in together]
    assert [_stored(t) for t in together] == [_stored(t) for t in alone]
    assert _stored(together[0])


def test_deleted_trials_are_left_out_and_parsed_ones_skipped():
    parsed, fresh, deleted = (factories.TrialFactory.create(eligibility_text=LUNG) for _ in range(3))
    services.trial_parse_eligibility(trial_id=parsed.pk)
    deleted_id = deleted.pk
    deleted.delete()
    results = services.trials_parse_eligibility(trial_ids=[parsed.pk, deleted_id, fresh.pk])
    assert [(r.trial_id, r.skipped) for r in results] == [(parsed.pk, True), (fresh.pk, False)]
    assert fresh.events.filter(kind=TrialEvent.Kind.PARSED).count() == 1


def test_a_trial_whose_text_changed_after_the_batch_was_parsed_is_parsed_again_alone(monkeypatch):
    trial = factories.TrialFactory.create(eligibility_text=LUNG)

    def parse_then_edit(texts):
        parsed = parse_eligibility_many(texts)
        Trial.objects.filter(pk=trial.pk).update(eligibility_text=BREAST)
        return parsed

    monkeypatch.setattr(services, "parse_eligibility_many", parse_then_edit)
    services.trials_parse_eligibility(trial_ids=[trial.pk])
    texts = " ".join(trial.criteria.values_list("text", flat=True))
    assert "HER2" in texts
    assert "EGFR" not in texts
