"""Writes for the recruitment app: accounts, memberships and matches; consent and workflow join later."""

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from recruitment.matching import CohortVerdict, Outcome, Overall, PatientFacts, TrialVerdict, match_trial
from recruitment.models import Match, MatchEvent, PatientProfile, SiteMembership, SponsorMembership, User
from recruitment.selectors import TrialToMatch, live_matches, patient_facts, trials_for_matching
from trials.models import Site, Sponsor


@transaction.atomic
def user_upsert(
    *, email: str, role: str, password: str, is_staff: bool = False, is_superuser: bool = False
) -> User:
    """Create the account, or bring an existing one to the given role and password."""
    user = User.objects.select_for_update().filter(email=email.lower()).first()
    if user is None:
        return User.objects.create_user(
            email, password, role=role, is_staff=is_staff, is_superuser=is_superuser
        )
    user.role = role
    user.is_staff = is_staff
    user.is_superuser = is_superuser
    user.is_active = True
    user.set_password(password)
    user.save(update_fields=["role", "is_staff", "is_superuser", "is_active", "password"])
    return user


def site_membership_ensure(*, user: User, site: Site) -> SiteMembership:
    if user.role != User.Role.SITE_STAFF:
        raise ValueError(f"{user} is a {user.get_role_display()}, not site staff")
    membership, _ = SiteMembership.objects.get_or_create(user=user, site=site)
    return membership


def sponsor_membership_ensure(*, user: User, sponsor: Sponsor) -> SponsorMembership:
    if user.role != User.Role.SPONSOR:
        raise ValueError(f"{user} is a {user.get_role_display()}, not a sponsor user")
    membership, _ = SponsorMembership.objects.get_or_create(user=user, sponsor=sponsor)
    return membership


_MATCH_FIELDS = ("verdict", "score", "criteria", "cohort", "to_settle")


def _match_values(verdict: TrialVerdict, cohort: CohortVerdict | None) -> dict[str, Any]:
    data = verdict.to_dict()
    return {
        "verdict": verdict.overall.value,
        "score": verdict.score,
        "criteria": data["criteria"],
        "cohort": cohort.to_dict() if cohort else {},
        "to_settle": data["to_settle"],
    }


def _produced(
    candidate: TrialToMatch, facts: PatientFacts, *, today: date, enrolled: Mapping[int, int]
) -> tuple[dict[tuple[int, int | None], dict[str, Any]], str]:
    """The matches the engine produces for one trial (one per assignable stratum, or one for the trial),
    and, when it produces none, why."""
    verdict = match_trial(candidate.spec, candidate.criteria, facts, today=today, enrolled=enrolled)
    if verdict.overall is Overall.INELIGIBLE:
        failed = next(c for c in verdict.criteria if c.outcome is Outcome.VIOLATED)
        return {}, f"ineligible: {failed.section} criterion {failed.text[:200]!r}"
    if not verdict.accepting:
        return {}, verdict.closed_reason
    stratified = {arm.id for arm in candidate.spec.arms if arm.definition}
    strata = [c for c in verdict.assignable_cohorts if c.arm_id in stratified]
    if strata:
        return {(candidate.trial.pk, c.arm_id): _match_values(verdict, c) for c in strata}, ""
    return {(candidate.trial.pk, None): _match_values(verdict, None)}, ""


@transaction.atomic
def match_upsert_for_patient(
    *, patient: PatientProfile, today: date, enrolled: Mapping[int, int] | None = None
) -> list[MatchEvent]:
    """Re-match one patient against every open trial; returns the events appended (none if nothing changed).

    Candidates are the eligible and possibly eligible verdicts of trials taking new patients. A live match
    that is no longer produced (ineligible now, trial closed, cohort full) is retired, not deleted.
    `enrolled` maps arm id to the number enrolled there, for caps.
    """
    # Serialises re-matches of one patient (a profile edit racing the nightly run) on the profile row.
    PatientProfile.objects.select_for_update().filter(pk=patient.pk).first()
    facts = patient_facts(profile=patient)
    produced: dict[tuple[int, int | None], dict[str, Any]] = {}
    reasons: dict[int, str] = {}
    for candidate in trials_for_matching():
        matches, reason = _produced(candidate, facts, today=today, enrolled=enrolled or {})
        produced.update(matches)
        reasons[candidate.trial.pk] = reason or "cohort no longer assignable"
    now = timezone.now()
    events: list[MatchEvent] = []
    for match in live_matches(patient=patient):
        values = produced.pop((match.trial_id, match.arm_id), None)
        if values is None:
            match.retired_at = now
            match.save(update_fields=["retired_at"])
            reason = reasons.get(match.trial_id, "trial not recruiting")
            retired = MatchEvent(
                match=match, kind=MatchEvent.Kind.RETIRED, detail={"reason": reason}, created_at=now
            )
            events.append(retired)
            continue
        changed = [name for name in _MATCH_FIELDS if getattr(match, name) != values[name]]
        if not changed:
            continue
        previous = {name: getattr(match, name) for name in changed if name in ("verdict", "score")}
        for name in changed:
            setattr(match, name, values[name])
        match.evaluated_at = now
        match.save(update_fields=[*changed, "evaluated_at"])
        detail = {"changed": changed, "previous": previous}
        events.append(MatchEvent(match=match, kind=MatchEvent.Kind.UPDATED, detail=detail, created_at=now))
    for (trial_id, arm_id), values in produced.items():
        match = Match(
            patient=patient, trial_id=trial_id, arm_id=arm_id, evaluated_at=now, created_at=now, **values
        )
        match.save()
        summary = {"verdict": match.verdict, "score": match.score}
        events.append(MatchEvent(match=match, kind=MatchEvent.Kind.CREATED, detail=summary, created_at=now))
    return MatchEvent.objects.bulk_create(events)
