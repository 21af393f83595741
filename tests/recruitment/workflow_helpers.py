"""Candidates for workflow tests: a consenting patient matched to Sam's trial and taken up by Sam's site."""

from django.db import transaction
from django.utils import timezone

from recruitment.models import Candidate, CandidateStatus, Match, PatientProfile, ReasonCode, User
from recruitment.services.consent import trial_interest_express
from recruitment.services.workflow import candidate_transition, candidates_create_for_site
from tests.recruitment import factories
from tests.recruitment.consent_helpers import name_patient, publish_all, sign
from trials.models import Arm, ConsentDocument, EligibilityCriterion, Site, Trial

Purpose = ConsentDocument.Purpose


def matched_patient(
    trial: Trial,
    *,
    email: str,
    arm: Arm | None = None,
    verdict: str = Match.Verdict.ELIGIBLE,
    contact: bool = False,
    ill: bool = True,
) -> PatientProfile:
    """A named patient with matching consent (and contact consent if asked) and a live match to `trial`;
    with `ill` (the default), non-small cell lung cancer on her profile."""
    documents = {d.purpose: d for d in ConsentDocument.objects.all()} or publish_all()
    profile = factories.PatientProfileFactory.create(user__email=email, sex=PatientProfile.Sex.FEMALE)
    # The illness the match below cites: with a real worker, the re-match the consent queues may write its
    # own match after this one, and a possible match of a profile with no illness is never taken up.
    if ill:
        factories.DiagnosisFactory.create(patient=profile, code="nsclc", label="non-small cell lung cancer")
    name_patient(profile, "Elena", "Rossi")
    sign(profile, documents[Purpose.MATCHING])
    if contact:
        sign(profile, documents[Purpose.CONTACT])
    # With a real task runner the consent above re-matched the patient already (and the match may have been
    # taken up): this test match replaces it as a re-match does, retiring it in the same transaction, under
    # the profile lock a re-match takes first (without it, a worker re-matching this patient deadlocks it).
    with transaction.atomic():
        PatientProfile.objects.select_for_update().get(pk=profile.pk)
        for engine_match in Match.objects.filter(patient=profile, trial=trial, retired_at__isnull=True):
            engine_match.retired_at = timezone.now()
            engine_match.save(update_fields=["retired_at"])
        Match.objects.create(
            patient=profile,
            trial=trial,
            arm=arm,
            verdict=verdict,
            score=1.0 if verdict == Match.Verdict.ELIGIBLE else 0.75,
            criteria=[
                {
                    "section": "inclusion",
                    "text": "Histologically confirmed NSCLC",
                    "outcome": "satisfied",
                    "atoms": [{"evidence": [{"ref": "diagnosis:1", "text": "lung adenocarcinoma"}]}],
                },
                {"section": "inclusion", "text": "ECOG 0-1", "outcome": "unknown", "atoms": []},
            ],
        )
    return profile


def candidate_for(
    trial: Trial, site: Site, *, email: str, arm: Arm | None = None, contact: bool = False
) -> Candidate:
    """A candidate of `site`; with `contact`, the patient also agreed to contact and asked to hear from the
    trial, so that the site may contact them."""
    profile = matched_patient(trial, email=email, arm=arm, contact=contact)
    if contact:
        trial_interest_express(patient=profile, trial=trial)
    candidates_create_for_site(trial=trial, site=site)
    return Candidate.objects.get(patient=profile, trial=trial)


def screen_failed(candidate: Candidate, actor: User, criterion: EligibilityCriterion) -> None:
    """`candidate` taken by `actor` along the main path to screening, and failed there on `criterion`."""
    S = CandidateStatus
    for step in (S.PRE_SCREENED, S.CONTACTED, S.CONSENTED, S.SCREENING):
        candidate_transition(candidate_id=candidate.pk, to_status=step, actor=actor)
    candidate_transition(
        candidate_id=candidate.pk,
        to_status=S.SCREEN_FAILED,
        actor=actor,
        reason=ReasonCode.CRITERION_NOT_MET,
        criterion_id=criterion.pk,
    )
