"""Recruitment models, one module per area: accounts, profile, matching, consent, workflow, monitoring."""

from recruitment.models.accounts import (
    MfaDevice,
    MfaRecoveryCode,
    SiteMembership,
    SponsorMembership,
    User,
    UserManager,
)
from recruitment.models.audit import PhiAccess
from recruitment.models.consent import SIGNATURE_MEANING, Consent, ConsentEvent, TrialInterest
from recruitment.models.matching import Match, MatchEvent, MatchHorizon, TrialMatchStamp
from recruitment.models.monitoring import EnrolmentSnapshot, SiteAlert, StaffAlertSetting
from recruitment.models.outbox import RematchRequest
from recruitment.models.profile import (
    Biomarker,
    Diagnosis,
    FactSource,
    LabResult,
    PatientProfile,
    Procedure,
    ProfileFact,
    Therapy,
)
from recruitment.models.workflow import (
    NOTE_MAX_LENGTH,
    OPEN_STATUSES,
    Candidate,
    CandidateEvent,
    CandidateStatus,
    ReasonCode,
)

__all__ = [
    "NOTE_MAX_LENGTH",
    "OPEN_STATUSES",
    "SIGNATURE_MEANING",
    "Biomarker",
    "Candidate",
    "CandidateEvent",
    "CandidateStatus",
    "Consent",
    "ConsentEvent",
    "Diagnosis",
    "EnrolmentSnapshot",
    "FactSource",
    "LabResult",
    "Match",
    "MatchEvent",
    "MatchHorizon",
    "MfaDevice",
    "MfaRecoveryCode",
    "PatientProfile",
    "PhiAccess",
    "Procedure",
    "ProfileFact",
    "ReasonCode",
    "RematchRequest",
    "SiteAlert",
    "SiteMembership",
    "SponsorMembership",
    "StaffAlertSetting",
    "Therapy",
    "TrialInterest",
    "TrialMatchStamp",
    "User",
    "UserManager",
]
