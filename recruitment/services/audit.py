"""Audit records of reads of patients' data."""

from recruitment.models import PatientProfile, PhiAccess, User

PATH_LIMIT = PhiAccess._meta.get_field("path").max_length or 500


def phi_access_record(
    *, actor: User, kind: PhiAccess.Kind, path: str, patient: PatientProfile | None = None
) -> PhiAccess:
    """Log that `actor` opened the page at `path` showing `patient`'s data (or a list: no patient)."""
    return PhiAccess.objects.create(actor=actor, patient=patient, kind=kind, path=path[:PATH_LIMIT])
