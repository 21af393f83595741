"""Parsed criteria are stored per trial; curators review them, and their work survives re-parsing."""

import html
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from nlp.model import Atom, Node
from tests import factories
from trials import selectors, services
from trials.importers.common import TrialRecord
from trials.models import EligibilityCriterion, Trial, TrialEvent

pytestmark = pytest.mark.django_db

# Real phrasings from ClinicalTrials.gov records (NCT04685135 and NCT05048797 style oncology criteria).
ELIGIBILITY = """Inclusion Criteria:

  -  Histologically confirmed non-small cell lung cancer with an EGFR exon 19 deletion or L858R mutation
  -  ECOG performance status 0 or 1
  -  Absolute neutrophil count >= 1.5 x 10^9/L

Exclusion Criteria:

  -  Prior treatment with an EGFR tyrosine kinase inhibitor
  -  Pregnant or breastfeeding women
"""


@pytest.fixture
def egfr_trial(db):
    trial = factories.TrialFactory.create(
        nct_id="NCT05000042", eligibility_text=ELIGIBILITY, minimum_age_years=18, sex="ALL"
    )
    services.trial_parse_eligibility(trial_id=trial.pk)
    return trial


def _atom(node: Node) -> Atom:
    assert isinstance(node, Atom)
    return node


def criterion_with(trial, fragment):
    return trial.criteria.get(text__icontains=fragment, retired_at__isnull=True)


def test_parsing_stores_each_criterion_with_its_section_span_and_versions(egfr_trial):
    criteria = list(egfr_trial.criteria.all())
    texts = [c.text for c in criteria]
    assert any("exon 19 deletion" in t for t in texts)
    neutrophils = criterion_with(egfr_trial, "neutrophil")
    assert neutrophils.section == "inclusion"
    assert ELIGIBILITY[neutrophils.span_start : neutrophils.span_end].startswith("Absolute neutrophil count")
    tki = criterion_with(egfr_trial, "tyrosine kinase")
    assert tki.section == "exclusion"
    assert tki.parser_version
    assert tki.dictionary_version
    assert egfr_trial.events.filter(kind=TrialEvent.Kind.PARSED).count() == 1


def test_parsing_the_same_text_again_is_skipped(egfr_trial):
    result = services.trial_parse_eligibility(trial_id=egfr_trial.pk)
    assert result.skipped
    assert egfr_trial.events.filter(kind=TrialEvent.Kind.PARSED).count() == 1


def test_a_curators_correction_wins_and_survives_a_reparse(egfr_trial, cora):
    ecog = criterion_with(egfr_trial, "ECOG")
    corrected = {
        "type": "atom", "kind": "performance_status", "text": "ECOG performance status 0 or 1",
        "span": [ecog.span_start, ecog.span_end], "rule_id": "curator", "confidence": 1.0, "checkable": True,
        "mapped": True, "concept": {"system": "scale", "code": "ecog", "label": "ECOG"}, "comparator": "in",
        "value": None, "value_high": None, "values": [0, 1], "unit": None, "uln_multiple": None,
        "lln_multiple": None, "alteration": None, "assay": None, "window": None, "assertion": "present",
        "review": None,
    }  # fmt: skip
    services.criterion_review(
        criterion_id=ecog.pk,
        actor=cora,
        action="correct",
        revision=ecog.revision,
        tree=corrected,
        note="checked",
    )
    result = services.trial_parse_eligibility(trial_id=egfr_trial.pk, force=True)
    ecog.refresh_from_db()
    assert result.kept_curated == 1
    assert ecog.status == EligibilityCriterion.Status.CORRECTED
    assert ecog.effective_tree["values"] == [0, 1]
    assert ecog.effective_tree["rule_id"] == "curator"
    event = egfr_trial.events.get(kind=TrialEvent.Kind.CURATED)
    assert event.actor == cora
    assert event.detail["after"]["status"] == "corrected"


def test_a_criterion_removed_from_the_text_is_retired_not_deleted(egfr_trial):
    pregnancy = criterion_with(egfr_trial, "Pregnant")
    egfr_trial.eligibility_text = ELIGIBILITY.replace("  -  Pregnant or breastfeeding women\n", "")
    egfr_trial.save(update_fields=["eligibility_text"])
    result = services.trial_parse_eligibility(trial_id=egfr_trial.pk)
    pregnancy.refresh_from_db()
    assert result.retired == 1
    assert pregnancy.retired_at is not None


def test_an_unparseable_mark_takes_the_criterion_out_of_automatic_matching(egfr_trial, cora):
    tki = criterion_with(egfr_trial, "tyrosine kinase")
    services.criterion_review(criterion_id=tki.pk, actor=cora, action="unparseable", revision=tki.revision)
    tki.refresh_from_db()
    assert tki.effective_tree is None


def test_two_curators_editing_the_same_criterion_the_second_gets_a_conflict(egfr_trial, cora):
    ecog = criterion_with(egfr_trial, "ECOG")
    seen = ecog.revision
    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=seen)
    with pytest.raises(services.CriterionConflict, match="changed by someone else"):
        services.criterion_review(criterion_id=ecog.pk, actor=cora, action="unparseable", revision=seen)
    ecog.refresh_from_db()
    assert ecog.status == EligibilityCriterion.Status.ACCEPTED


def test_only_curators_may_review(egfr_trial, sam):
    ecog = criterion_with(egfr_trial, "ECOG")
    with pytest.raises(PermissionDenied):
        services.criterion_review(criterion_id=ecog.pk, actor=sam, action="accept", revision=ecog.revision)


ECOG_ATOM = {"type": "atom", "kind": "performance_status", "text": "ECOG 0-1", "span": [0, 8], "rule_id": "c",
             "confidence": 1, "concept": {"system": "scale", "code": "ECOG", "label": "ECOG"},
             "comparator": "<=", "value": 1}  # fmt: skip
OSIMERTINIB = {"system": "drug", "code": "osimertinib", "label": "osimertinib"}
OSIMERTINIB_ATOM = {"type": "atom", "kind": "therapy", "text": "osimertinib", "span": [0, 11], "rule_id": "c",
                    "confidence": 1, "concept": OSIMERTINIB,
                    "window": {"amount": 6, "unit": "months", "relation": "within"}}  # fmt: skip


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ([], "must be a JSON object"),
        ({"type": "and"}, "not a valid criteria tree"),
        ({"type": "atom", "kind": "astrology", "text": "x", "span": [0, 1], "rule_id": "c", "confidence": 1},
         "unknown atom kind"),
        # What PostgreSQL's jsonb cannot store, though SQLite does.
        ({"type": "atom", "kind": "lab", "text": "ANC\x00", "span": [0, 1], "rule_id": "c", "confidence": 1},
         "holds a NUL character"),
        ({"type": "atom", "kind": "lab", "text": "ANC", "span": [0, 1], "rule_id": "c", "confidence": 1,
          "comparator": ">=", "value": float("inf")}, "inf is not a number that can be stored"),
        ({"type": "atom", "kind": "lab", "text": "ANC", "span": [0, 1], "rule_id": "c", "confidence": 1,
          "comparator": ">=", "value": float("nan")}, "nan is not a number that can be stored"),
        # Fields of a type the matcher cannot read: these passed and then failed every evaluation.
        ({**ECOG_ATOM, "value": "one"}, "atom 'ECOG 0-1': value must be a number .* not 'one'"),
        ({**ECOG_ATOM, "value": 10**400}, "value must be a number of at most 1e\\+12"),
        ({**ECOG_ATOM, "comparator": "in", "value": None, "values": ["0", "1"]}, "values must be numbers"),
        ({**ECOG_ATOM, "unit": 5}, "unit must be text, not 5"),
        ({**ECOG_ATOM, "span": ["a", 1]}, "span must be two whole numbers"),
        ({**OSIMERTINIB_ATOM, "window": {"amount": "six", "unit": "months", "relation": "within"}},
         "the window's amount must be a number from 0 to 1000, not 'six'"),
        ({**OSIMERTINIB_ATOM, "window": {"amount": 1e300, "unit": "years", "relation": "within"}},
         "the window's amount must be a number from 0 to 1000"),
        ({**OSIMERTINIB_ATOM, "concept": {"system": "drug", "code": 5, "label": "osimertinib"}},
         "the concept's system, code and label must be text"),
        # A concept without a code: matching a biomarker failed on it for every patient.
        ({"type": "atom", "kind": "biomarker", "text": "EGFR", "span": [0, 4], "rule_id": "c",
          "confidence": 1, "concept": {"system": "gene", "code": " ", "label": "EGFR"}},
         "the concept's code must not be blank"),
        # Words the matcher does not know: "month" counted as days, "before" as "at_least".
        ({**OSIMERTINIB_ATOM, "window": {"amount": 6, "unit": "month", "relation": "within"}},
         "the window's unit must be one of days, weeks, months, years, not 'month'"),
        ({**OSIMERTINIB_ATOM, "window": {"amount": 6, "unit": "months", "relation": "before"}},
         "the window's relation must be one of within, at_least, current, not 'before'"),
        # An assertion the matcher does not know: it read "absent" as if the criterion named the therapy.
        ({**OSIMERTINIB_ATOM, "assertion": "absent"},
         "atom 'osimertinib': assertion must be one of present, negated, historical, hypothetical, "
         "exception, family, not 'absent'"),
        ({**OSIMERTINIB_ATOM, "assertion": None}, "assertion must be one of"),
    ],
)  # fmt: skip
def test_a_malformed_correction_is_refused_with_the_reason(tree, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match=message):
        services.validate_tree(tree)


def test_the_review_page_shows_text_beside_its_structured_reading(client, egfr_trial, cora):
    client.force_login(cora)
    page = client.get(reverse("trials:criteria", args=[egfr_trial.nct_id])).content.decode()
    assert "Absolute neutrophil count" in page
    assert "<mark" in page
    assert "Review this criterion" in page


def test_a_correction_with_broken_json_is_refused_and_nothing_changes(client, egfr_trial, cora):
    ecog = criterion_with(egfr_trial, "ECOG")
    client.force_login(cora)
    url = reverse("trials:criterion_review", args=[egfr_trial.nct_id, ecog.pk])
    response = client.post(
        url, {"action": "correct", "revision": ecog.revision, "tree": "{not json"}, follow=True
    )
    assert "Not valid JSON" in response.content.decode()
    ecog.refresh_from_db()
    assert ecog.status == EligibilityCriterion.Status.PARSED


def test_a_refused_correction_is_shown_again_with_what_the_curator_typed(client, egfr_trial, cora):
    ecog = criterion_with(egfr_trial, "ECOG")
    client.force_login(cora)
    url = reverse("trials:criterion_review", args=[egfr_trial.nct_id, ecog.pk])
    typed = '{"kind": "performance_status", "text": "ECOG 0-1", <- unfinished'
    response = client.post(
        url, {"action": "correct", "revision": ecog.revision, "tree": typed, "note": "checked the protocol"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Not valid JSON" in page
    assert html.escape(typed) in page
    assert "checked the protocol" in page


def test_the_second_curator_saving_the_same_criterion_keeps_their_correction_to_save_again(
    client, egfr_trial, cora
):
    ecog = criterion_with(egfr_trial, "ECOG")
    seen = ecog.revision
    ines = factories.UserFactory.create(email="ines@example.org", role=cora.role, is_staff=True)
    services.criterion_review(criterion_id=ecog.pk, actor=ines, action="accept", revision=seen)
    client.force_login(cora)
    url = reverse("trials:criterion_review", args=[egfr_trial.nct_id, ecog.pk])
    correction = json.dumps({**ecog.parsed_tree, "text": "ECOG 0 only"}, indent=2)
    response = client.post(
        url, {"action": "correct", "revision": seen, "tree": correction, "note": "protocol v3 says 0"}
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "was changed by someone else since you opened it: nothing was saved" in page
    assert html.escape(correction) in page
    assert "protocol v3 says 0" in page
    ecog.refresh_from_db()
    assert (ecog.status, ecog.reviewed_by) == (EligibilityCriterion.Status.ACCEPTED, ines)
    # The form shown again carries the current revision: saving it now goes through.
    assert f'name="revision" value="{ecog.revision}"' in page


def test_every_reading_the_parser_gives_the_registry_fixtures_can_be_saved_as_a_correction(ctgov):
    """A curator corrects a criterion by editing the parser's own tree: what the parser writes must pass the
    check. Its 'between' comparator (an age or lab range) did not, so no such criterion could be corrected."""
    from nlp import parse_eligibility
    from nlp.model import node_to_dict
    from trials.importers.sources import Document, parse_document

    texts = [
        record.eligibility_text
        for path in sorted(ctgov.rglob("*.*"))
        if path.suffix in (".xml", ".json", ".jsonl")
        for _, record in parse_document(Document(str(path), path.read_bytes))
        if isinstance(record, TrialRecord)
    ]
    trees = [node_to_dict(c.tree) for text in texts for c in parse_eligibility(text).criteria]
    assert any(atom.get("comparator") == "between" for atom in _atoms(trees))
    for tree in trees:
        assert services.validate_tree(tree) == tree


def _atoms(trees):
    stack = list(trees)
    while stack:
        node = stack.pop()
        if node["type"] == "atom":
            yield node
        stack.extend(node.get("children", []))
        stack.extend(node[key] for key in ("child", "main", "exception") if key in node)


def test_a_range_without_its_upper_end_is_refused():
    with pytest.raises(ValidationError, match="is between 18 and no value_high"):
        services.validate_tree({**ECOG_ATOM, "text": "age", "comparator": "between", "value": 18})


@pytest.mark.parametrize(
    ("change", "message"),
    [("ECOG performance status", "holds a NUL character"), ("1e999", "inf is not a number")],
)
def test_a_correction_the_database_could_not_store_is_refused_on_the_page_and_by_the_api(
    client, egfr_trial, cora, change, message
):
    """A NUL character or a number such as 1e999 (read as infinity) passed on SQLite and failed PostgreSQL's
    jsonb with a 500."""
    ecog = criterion_with(egfr_trial, "ECOG")
    correction = json.dumps(ecog.parsed_tree)
    correction = (
        correction.replace(change, "ECOG\\u0000", 1)
        if change.startswith("ECOG")
        else correction.replace('"values": [0.0, 1.0]', '"value": 1e999', 1).replace(
            '"comparator": "in"', '"comparator": "<="', 1
        )
    )
    assert correction != json.dumps(ecog.parsed_tree)
    client.force_login(cora)
    url = reverse("trials:criterion_review", args=[egfr_trial.nct_id, ecog.pk])
    page = client.post(url, {"action": "correct", "revision": ecog.revision, "tree": correction})
    api = APIClient()
    api.force_authenticate(cora)
    body = f'{{"action": "correct", "revision": {ecog.revision}, "tree": {correction}}}'
    posted = api.post(reverse("api:criterion-review", args=[ecog.pk]), body, content_type="application/json")
    assert page.status_code == 400
    assert message in page.content.decode()
    assert posted.status_code == 400  # the API's JSON field refuses an infinity itself, in its own words
    ecog.refresh_from_db()
    assert (ecog.status, ecog.curated_tree) == (EligibilityCriterion.Status.PARSED, None)


def test_accepting_through_the_page_records_the_curator(client, egfr_trial, cora):
    ecog = criterion_with(egfr_trial, "ECOG")
    client.force_login(cora)
    url = reverse("trials:criterion_review", args=[egfr_trial.nct_id, ecog.pk])
    tree = json.dumps(ecog.parsed_tree)
    response = client.post(url, {"action": "accept", "revision": ecog.revision, "tree": tree})
    assert response.status_code == 302
    ecog.refresh_from_db()
    assert ecog.status == EligibilityCriterion.Status.ACCEPTED
    assert ecog.reviewed_by == cora


@pytest.mark.parametrize("persona", ["pat", "sam", "sophie"])
def test_other_roles_cannot_open_the_review_page(client, request, egfr_trial, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("trials:criteria", args=[egfr_trial.nct_id])).status_code == 403
    ecog = criterion_with(egfr_trial, "ECOG")
    url = reverse("trials:criterion_review", args=[egfr_trial.nct_id, ecog.pk])
    assert client.post(url, {"action": "accept", "revision": ecog.revision}).status_code == 403


def test_an_imported_trial_is_parsed_once_it_is_committed(django_capture_on_commit_callbacks):
    from tests.trials.conftest import CTGOV
    from trials.importers import import_paths

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        import_paths([CTGOV / "legacy_xml" / "NCT00496028.xml"], progress=False)
    assert len(callbacks) == 1
    trial = Trial.objects.get(nct_id="NCT00496028")
    assert trial.eligibility_parsed_at is not None
    assert trial.criteria.exists()
    with django_capture_on_commit_callbacks(execute=True) as again:
        import_paths([CTGOV / "legacy_xml" / "NCT00496028.xml"], progress=False)
    assert again == []  # an unchanged record queues no new parse


def test_an_import_queues_one_parse_per_committed_batch(django_capture_on_commit_callbacks, monkeypatch):
    from tests.trials.conftest import CTGOV
    from trials.importers import import_paths

    queued: list[list[int]] = []
    monkeypatch.setattr(services, "_enqueue_parse", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        import_paths([CTGOV / "legacy_xml"], progress=False, batch_size=3)
    assert [len(ids) for ids in queued] == [3, 1]
    assert sorted(pk for ids in queued for pk in ids) == sorted(Trial.objects.values_list("pk", flat=True))


def test_an_import_without_parsing_leaves_the_criteria_for_later(django_capture_on_commit_callbacks):
    from tests.trials.conftest import CTGOV
    from trials.importers import import_paths

    with django_capture_on_commit_callbacks(execute=True):
        import_paths([CTGOV / "legacy_xml" / "NCT00496028.xml"], progress=False, parse=False)
    trial = Trial.objects.get(nct_id="NCT00496028")
    assert trial.eligibility_parsed_at is None
    assert not trial.criteria.exists()


def test_a_parser_upgrade_queues_every_trial_parsed_by_the_old_version(egfr_trial, monkeypatch):
    from trials import selectors
    from trials.tasks import parse_outdated_trials

    unparsed = factories.TrialFactory.create(eligibility_text="Inclusion Criteria:\n- ECOG 0-1\n")
    assert selectors.trials_needing_parse() == [unparsed.pk]
    services.trial_parse_eligibility(trial_id=unparsed.pk)
    assert selectors.trials_needing_parse() == []

    real_manifest = selectors.nlp_manifest()
    monkeypatch.setattr(selectors, "nlp_manifest", lambda: {**real_manifest, "parser_version": "99.0.0"})
    assert sorted(selectors.trials_needing_parse()) == sorted([egfr_trial.pk, unparsed.pk])
    assert parse_outdated_trials() == 2
    assert selectors.trials_needing_parse() == []
    assert egfr_trial.events.filter(kind=TrialEvent.Kind.PARSED).count() == 2


def test_parsing_keeps_the_phrases_it_recognised_but_could_not_code(egfr_trial):
    diagnosis = criterion_with(egfr_trial, "Histologically confirmed")
    texts = [mention["text"] for mention in diagnosis.mentions]
    assert "Histologically" in texts
    assert all(mention["type"] == "atom" and not mention["mapped"] for mention in diagnosis.mentions)
    assert not any("Histologically" in atom["text"] for atom in _tree_atoms(diagnosis.parsed_tree))


def test_the_review_page_marks_uncoded_phrases_apart_from_the_reading(client, egfr_trial, cora):
    client.force_login(cora)
    page = client.get(reverse("trials:criteria", args=[egfr_trial.nct_id])).content.decode()
    assert '<mark class="mention" title="procedure, recognised but not coded">Histologically</mark>' in page
    assert "Recognised but not coded" in page


def test_a_curated_criterion_no_longer_offers_the_parsers_uncoded_phrases(client, egfr_trial, cora):
    diagnosis = criterion_with(egfr_trial, "Histologically confirmed")
    services.criterion_review(
        criterion_id=diagnosis.pk,
        actor=cora,
        action="correct",
        tree=diagnosis.parsed_tree,
        revision=diagnosis.revision,
    )
    client.force_login(cora)
    page = client.get(reverse("trials:criteria", args=[egfr_trial.nct_id])).content.decode()
    section = page.split(f'id="criterion-{diagnosis.pk}"', 1)[1].split("</section>", 1)[0]
    assert "Histologically" in section
    assert 'class="mention"' not in section
    assert "Recognised but not coded" not in section


def _tree_atoms(tree):
    if tree is None:
        return []
    if tree["type"] == "atom":
        return [tree]
    nested = [tree[key] for key in ("child", "main", "exception") if key in tree]
    return [atom for node in [*nested, *tree.get("children", [])] for atom in _tree_atoms(node)]


def _a_new_parser_reads_ecog_differently(monkeypatch):
    """The next parse reads the ECOG criterion as 'ECOG 0 to 2' under a new parser version."""
    import dataclasses

    real_parse = services.parse_eligibility

    def new_parser(**kwargs):
        parsed = real_parse(**kwargs)
        criteria = [
            dataclasses.replace(c, tree=dataclasses.replace(_atom(c.tree), values=(0.0, 1.0, 2.0)))
            if "ECOG" in c.text
            else c
            for c in parsed.criteria
        ]
        return dataclasses.replace(parsed, criteria=criteria, parser_version="99.0.0")

    monkeypatch.setattr(services, "parse_eligibility", new_parser)


def test_an_accepted_reading_survives_a_new_parsers_different_reading(egfr_trial, cora, monkeypatch):
    ecog = criterion_with(egfr_trial, "ECOG")
    accepted_tree = ecog.parsed_tree
    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)
    ecog.refresh_from_db()
    revision_after_review = ecog.revision
    _a_new_parser_reads_ecog_differently(monkeypatch)

    result = services.trial_parse_eligibility(trial_id=egfr_trial.pk, force=True)

    ecog.refresh_from_db()
    assert result.kept_curated == 1
    assert ecog.status == EligibilityCriterion.Status.ACCEPTED
    assert ecog.parsed_tree["values"] == [0, 1, 2]  # the parser's new reading is kept beside it
    assert ecog.effective_tree == accepted_tree
    assert ecog.revision > revision_after_review  # a curator's open form for the old reading now conflicts
    parsed = egfr_trial.events.filter(kind=TrialEvent.Kind.PARSED).latest("id")
    assert parsed.detail["curated_reading_differs"] == [ecog.pk]


@pytest.fixture
def row_locks(monkeypatch):
    """The models whose rows are locked (select_for_update), in the order the locks are taken."""
    from django.db.models import QuerySet

    locked = []
    real_select_for_update = QuerySet.select_for_update

    def select_for_update(queryset, *args, **kwargs):
        locked.append(queryset.model)
        return real_select_for_update(queryset, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "select_for_update", select_for_update)
    return locked


def test_a_parse_locks_the_criteria_it_rewrites_so_a_review_meanwhile_is_not_lost(egfr_trial, row_locks):
    services.trial_parse_eligibility(trial_id=egfr_trial.pk, force=True)
    assert row_locks == [Trial, EligibilityCriterion]


def test_a_review_locks_the_trial_before_the_criterion_as_a_parse_does(egfr_trial, cora, row_locks):
    # The same order as a parse, so the two wait for each other instead of deadlocking.
    ecog = criterion_with(egfr_trial, "ECOG")
    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)
    assert row_locks == [Trial, EligibilityCriterion]


def _nested(levels, atom):
    """`levels` nodes deep: not(not(...(atom)))."""
    tree = atom
    for _ in range(levels - 1):
        tree = {"type": "not", "child": tree}
    return tree


def _ecog_atom(criterion):
    return {
        "type": "atom", "kind": "performance_status", "text": criterion.text,
        "span": [criterion.span_start, criterion.span_end], "rule_id": "curator", "confidence": 1.0,
        "comparator": "in", "values": [0, 1],
    }  # fmt: skip


def test_a_tree_fifty_levels_deep_is_accepted_and_one_level_more_is_refused(egfr_trial):
    atom = _ecog_atom(criterion_with(egfr_trial, "ECOG"))
    from django.core.exceptions import ValidationError

    assert services.validate_tree(_nested(50, atom))["type"] == "not"
    with pytest.raises(ValidationError, match="nested more than 50 levels deep"):
        services.validate_tree(_nested(51, atom))
    with pytest.raises(ValidationError, match="nested more than 50 levels deep"):
        services.validate_tree(_nested(5000, atom))
    buried = {**atom, "concept": _nested(60, {"system": "scale"})}
    with pytest.raises(ValidationError, match="nested more than 50 levels deep"):
        services.validate_tree(buried)


def test_a_correction_nested_too_deeply_is_refused_on_the_page_and_nothing_changes(client, egfr_trial, cora):
    ecog = criterion_with(egfr_trial, "ECOG")
    client.force_login(cora)
    url = reverse("trials:criterion_review", args=[egfr_trial.nct_id, ecog.pk])
    for tree in (json.dumps(_nested(51, _ecog_atom(ecog))), "[" * 100_000 + "]" * 100_000):
        response = client.post(
            url, {"action": "correct", "revision": ecog.revision, "tree": tree}, follow=True
        )
        assert "nested more than 50 levels deep" in response.content.decode()
    ecog.refresh_from_db()
    assert ecog.status == EligibilityCriterion.Status.PARSED
    assert ecog.curated_tree is None


def test_a_retired_criterion_whose_text_comes_back_returns_with_its_curation(egfr_trial, cora):
    pregnancy = criterion_with(egfr_trial, "Pregnant")
    services.criterion_review(
        criterion_id=pregnancy.pk, actor=cora, action="unparseable", revision=pregnancy.revision
    )
    egfr_trial.eligibility_text = ELIGIBILITY.replace("  -  Pregnant or breastfeeding women\n", "")
    egfr_trial.save(update_fields=["eligibility_text"])
    services.trial_parse_eligibility(trial_id=egfr_trial.pk)
    egfr_trial.eligibility_text = ELIGIBILITY
    egfr_trial.save(update_fields=["eligibility_text"])

    services.trial_parse_eligibility(trial_id=egfr_trial.pk)

    assert criterion_with(egfr_trial, "Pregnant").pk == pregnancy.pk
    pregnancy.refresh_from_db()
    assert pregnancy.retired_at is None
    assert pregnancy.status == EligibilityCriterion.Status.UNPARSEABLE
    assert pregnancy.reviewed_by == cora
    parsed = egfr_trial.events.filter(kind=TrialEvent.Kind.PARSED).latest("id")
    assert (parsed.detail["created"], parsed.detail["restored"]) == (0, 1)


def test_a_reviewed_criterion_a_new_parser_reads_differently_waits_for_the_curator(
    egfr_trial, cora, monkeypatch
):
    ecog = criterion_with(egfr_trial, "ECOG")
    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)
    _a_new_parser_reads_ecog_differently(monkeypatch)

    services.trial_parse_eligibility(trial_id=egfr_trial.pk, force=True)

    ecog.refresh_from_db()
    assert ecog.reading_changed_at is not None
    assert selectors.criteria_counts(trial=egfr_trial)["reading_changed"] == 1
    [view] = selectors.criteria_for_review(trial=egfr_trial, changed=True)
    assert view.criterion == ecog
    assert [atom["values"] for atom in view.atoms] == [[0, 1]]  # the accepted reading still counts
    assert [atom["values"] for atom in view.new_reading or []] == [[0, 1, 2]]


def test_the_next_review_clears_the_mark_of_a_changed_reading(egfr_trial, cora, monkeypatch):
    ecog = criterion_with(egfr_trial, "ECOG")
    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)
    _a_new_parser_reads_ecog_differently(monkeypatch)
    services.trial_parse_eligibility(trial_id=egfr_trial.pk, force=True)
    ecog.refresh_from_db()

    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)

    ecog.refresh_from_db()
    assert ecog.reading_changed_at is None
    assert ecog.effective_tree == ecog.parsed_tree  # the new reading is the accepted one now
    assert selectors.criteria_for_review(trial=egfr_trial, changed=True) == []


def test_a_reparse_that_reads_a_reviewed_criterion_the_same_way_does_not_mark_it(egfr_trial, cora):
    ecog = criterion_with(egfr_trial, "ECOG")
    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)

    services.trial_parse_eligibility(trial_id=egfr_trial.pk, force=True)

    ecog.refresh_from_db()
    assert ecog.reading_changed_at is None
    assert selectors.criteria_counts(trial=egfr_trial)["reading_changed"] == 0


def test_the_review_page_shows_the_parsers_new_reading_beside_the_one_that_counts(
    client, egfr_trial, cora, monkeypatch
):
    ecog = criterion_with(egfr_trial, "ECOG")
    services.criterion_review(
        criterion_id=ecog.pk, actor=cora, action="correct", revision=ecog.revision,
        tree={**ecog.parsed_tree, "values": [0]},
    )  # fmt: skip
    _a_new_parser_reads_ecog_differently(monkeypatch)
    services.trial_parse_eligibility(trial_id=egfr_trial.pk, force=True)
    client.force_login(cora)

    page = client.get(reverse("trials:criteria", args=[egfr_trial.nct_id]), {"changed": "1"}).content.decode()

    assert "1 reviewed criterion read differently by a parse since its review" in page
    assert page.count('<section class="criterion') == 1  # only the changed one is listed
    assert "read differently since review" in page
    assert "What the parser reads now" in page
    assert "in 0.0, 1.0, 2.0" in page


def test_a_reviewed_criterion_rewritten_only_in_case_and_spacing_keeps_its_review_and_shows_the_new_words(
    egfr_trial, cora
):
    ecog = criterion_with(egfr_trial, "ECOG")
    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)
    egfr_trial.eligibility_text = ELIGIBILITY.replace(
        "ECOG performance status 0 or 1", "ECOG Performance  Status 0 or 1"
    )
    egfr_trial.save(update_fields=["eligibility_text"])

    services.trial_parse_eligibility(trial_id=egfr_trial.pk)

    ecog.refresh_from_db()
    assert ecog.retired_at is None
    assert ecog.status == EligibilityCriterion.Status.ACCEPTED
    assert ecog.text == "ECOG Performance  Status 0 or 1"
    assert egfr_trial.eligibility_text[ecog.span_start : ecog.span_end] == ecog.text


def test_the_review_page_shows_each_criterions_own_words_while_a_changed_text_waits_for_its_parse(
    egfr_trial,
):
    egfr_trial.eligibility_text = "Patients must consent in writing.\n\n" + ELIGIBILITY
    egfr_trial.save(update_fields=["eligibility_text"])  # as an import does; its parse runs after the commit

    views = selectors.criteria_for_review(trial=egfr_trial)

    assert views
    for view in views:
        assert "".join(segment.text for segment in view.segments) == view.criterion.text


def test_the_window_words_a_correction_may_use_are_those_the_matcher_reads():
    from recruitment.matching import atoms

    assert set(services.WINDOW_UNITS) == set(atoms._DAYS_PER_UNIT)


def test_a_correction_of_a_criterion_the_registry_removed_meanwhile_is_refused_and_kept_on_the_page(
    client, egfr_trial, cora
):
    pregnancy = criterion_with(egfr_trial, "Pregnant")
    seen = pregnancy.revision
    egfr_trial.eligibility_text = ELIGIBILITY.replace("  -  Pregnant or breastfeeding women\n", "")
    egfr_trial.save(update_fields=["eligibility_text"])
    services.trial_parse_eligibility(trial_id=egfr_trial.pk)
    client.force_login(cora)
    url = reverse("trials:criterion_review", args=[egfr_trial.nct_id, pregnancy.pk])
    correction = json.dumps({**pregnancy.parsed_tree, "text": "Pregnant women only"}, indent=2)

    response = client.post(
        url, {"action": "correct", "revision": seen, "tree": correction, "note": "per protocol v3"}
    )

    page = response.content.decode()
    assert response.status_code == 409
    assert "no longer in the trial&#x27;s eligibility text" in page
    assert html.escape(correction) in page
    assert "per protocol v3" in page
    pregnancy.refresh_from_db()
    assert pregnancy.status == EligibilityCriterion.Status.PARSED


def test_an_accepted_criterion_a_later_parse_reads_as_accepted_again_no_longer_waits_for_the_curator(
    egfr_trial, cora, monkeypatch
):
    ecog = criterion_with(egfr_trial, "ECOG")
    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)
    with monkeypatch.context() as patched:
        _a_new_parser_reads_ecog_differently(patched)
        services.trial_parse_eligibility(trial_id=egfr_trial.pk, force=True)

    services.trial_parse_eligibility(trial_id=egfr_trial.pk, force=True)  # the parser reads it as accepted

    ecog.refresh_from_db()
    assert ecog.parsed_tree == ecog.curated_tree
    assert ecog.reading_changed_at is None
    assert selectors.criteria_for_review(trial=egfr_trial, changed=True) == []


def test_a_reviewed_criterion_moved_by_a_line_added_above_keeps_its_review_unmarked_and_highlighted(
    egfr_trial, cora
):
    ecog = criterion_with(egfr_trial, "ECOG")
    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)
    egfr_trial.eligibility_text = "Patients must consent in writing.\n\n" + ELIGIBILITY
    egfr_trial.save(update_fields=["eligibility_text"])

    services.trial_parse_eligibility(trial_id=egfr_trial.pk)

    ecog.refresh_from_db()
    assert ecog.reading_changed_at is None  # the same reading, only further down the text
    assert ecog.curated_tree == ecog.parsed_tree
    [view] = [view for view in selectors.criteria_for_review(trial=egfr_trial) if view.criterion == ecog]
    assert [segment.text for segment in view.segments if segment.atom] == ["ECOG performance status 0 or 1"]


def test_a_correction_with_an_unknown_assertion_is_refused_naming_the_criterion_and_field(
    client, egfr_trial, cora
):
    ecog = criterion_with(egfr_trial, "ECOG")
    client.force_login(cora)
    url = reverse("trials:criterion_review", args=[egfr_trial.nct_id, ecog.pk])
    tree = json.dumps({**_ecog_atom(ecog), "assertion": "unlikely"})

    response = client.post(url, {"action": "correct", "revision": ecog.revision, "tree": tree})

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert f"Criterion #{ecog.position}, tree: atom" in page
    assert (
        "assertion must be one of present, negated, historical, hypothetical, exception, family,"
        " not 'unlikely'" in page
    )
    ecog.refresh_from_db()
    assert (ecog.status, ecog.curated_tree) == (EligibilityCriterion.Status.PARSED, None)
