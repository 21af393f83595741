"""A small world with data for every role, built from the suite's personas: used by the API tests, the
access matrix and the schemathesis run.

- Pat (tests/conftest.py), named Pat Example, consents to matching and contact and has a live match to the
  NSCLC trial (with one unknown criterion) and one fact of each kind.
- Olga: another consenting patient with her own facts and match (the "other patient's object").
- Elena Rossi (tests/recruitment/workflow_helpers.py): a candidate of Sam's Boston site for the NSCLC trial.
- Dan: site staff at Denver, a site of another trial with its own candidate; Otto: another sponsor's monitor.
"""

import datetime
from dataclasses import dataclass

from recruitment.models import Candidate, Match, PatientProfile, TrialInterest, User
from recruitment.services.profile import patient_profile_for
from tests import factories
from tests.recruitment import factories as profile_factories
from tests.recruitment.consent_helpers import name_patient, publish_all, sign
from tests.recruitment.workflow_helpers import candidate_for
from trials.models import ConsentDocument, EligibilityCriterion, Site, Trial
from trials.services import trial_parse_eligibility

Purpose = ConsentDocument.Purpose

ELIGIBILITY = """Inclusion Criteria:
  -  ECOG performance status 0 or 1
Exclusion Criteria:
  -  Known active hepatitis B or C infection
"""

MATCH_CRITERIA = [
    {
        "section": "inclusion",
        "text": "Histologically confirmed NSCLC",
        "outcome": "satisfied",
        "atoms": [{"evidence": [{"ref": "diagnosis:1", "text": "lung adenocarcinoma"}]}],
    },
    {
        "section": "inclusion",
        "text": "PD-L1 TPS >= 50%",
        "outcome": "unknown",
        "atoms": [],
        "to_settle": [{"text": "PD-L1 22C3 TPS not on file"}],
    },
    {"section": "exclusion", "text": "Active hepatitis B", "outcome": "satisfied", "atoms": []},
]


@dataclass(frozen=True)
class World:
    pat: User
    pat_profile: PatientProfile
    pat_match: Match
    olga: User
    olga_profile: PatientProfile
    olga_match: Match
    sam: User
    dan: User
    sophie: User
    otto: User
    cora: User
    trial: Trial
    boston: Site
    candidate: Candidate
    other_trial: Trial
    denver: Site
    other_candidate: Candidate
    criterion: EligibilityCriterion
    documents: dict[str, ConsentDocument]


def _consenting_patient(user: User, first: str, documents: dict[str, ConsentDocument]) -> PatientProfile:
    profile = patient_profile_for(user)
    profile.birth_date = datetime.date(1965, 5, 1)
    profile.sex = PatientProfile.Sex.FEMALE
    profile.save(update_fields=["birth_date", "sex"])
    name_patient(profile, first, "Example")
    sign(profile, documents[Purpose.MATCHING])
    sign(profile, documents[Purpose.CONTACT])
    profile_factories.DiagnosisFactory(patient=profile, code="luad", label="lung adenocarcinoma")
    profile_factories.BiomarkerFactory(patient=profile, gene="EGFR", protein_change="L858R")
    profile_factories.LabResultFactory(patient=profile)
    profile_factories.TherapyFactory(patient=profile)
    profile_factories.ProcedureFactory(patient=profile)
    return profile


def _live_match(profile: PatientProfile, trial: Trial) -> Match:
    # With a real task runner the consent re-matched the patient already; this match replaces that one.
    Match.objects.filter(patient=profile, trial=trial).delete()
    return Match.objects.create(
        patient=profile,
        trial=trial,
        verdict=Match.Verdict.POSSIBLY_ELIGIBLE,
        score=0.75,
        criteria=MATCH_CRITERIA,
        to_settle=[{"text": "PD-L1 22C3 TPS not on file"}],
    )


def build_world(*, pat: User, sam: User, sophie: User, cora: User, trial: Trial, boston: Site) -> World:
    trial.eligibility_text = ELIGIBILITY
    trial.save(update_fields=["eligibility_text"])
    trial_parse_eligibility(trial_id=trial.pk)
    criterion = trial.criteria.get(text__icontains="ECOG")
    documents = publish_all()
    pat_profile = _consenting_patient(pat, "Pat", documents)
    olga = factories.UserFactory.create(email="olga@example.org", role=User.Role.PATIENT)
    olga_profile = _consenting_patient(olga, "Olga", documents)
    candidate = candidate_for(trial, boston, email="elena@example.org", contact=True)
    other_trial_site = factories.TrialSiteFactory.create(site__facility="Denver Lung Clinic")
    dan = factories.SiteMembershipFactory.create(
        user__email="dan@example.org", site=other_trial_site.site
    ).user
    other_candidate = candidate_for(other_trial_site.trial, other_trial_site.site, email="nora@example.org")
    otto = factories.SponsorMembershipFactory.create(
        user__email="otto@example.org", sponsor=other_trial_site.trial.sponsor
    ).user
    # Matches come last: taking up candidates above would otherwise claim Pat and Olga for Boston too.
    pat_match = _live_match(pat_profile, trial)
    olga_match = _live_match(olga_profile, trial)
    return World(
        pat=pat,
        pat_profile=pat_profile,
        pat_match=pat_match,
        olga=olga,
        olga_profile=olga_profile,
        olga_match=olga_match,
        sam=sam,
        dan=dan,
        sophie=sophie,
        otto=otto,
        cora=cora,
        trial=trial,
        boston=boston,
        candidate=candidate,
        other_trial=other_trial_site.trial,
        denver=other_trial_site.site,
        other_candidate=other_candidate,
        criterion=criterion,
        documents=documents,
    )


def open_interests(profile: PatientProfile) -> list[str]:
    return list(
        TrialInterest.objects.filter(patient=profile, withdrawn_at__isnull=True).values_list(
            "trial__nct_id", flat=True
        )
    )
