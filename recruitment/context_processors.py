"""Navigation per role, so that every page shows each user the sections they may use."""

from django.http import HttpRequest
from django.urls import reverse

from recruitment.models import User

NAV_BY_ROLE: dict[str, list[tuple[str, str]]] = {
    User.Role.PATIENT: [
        ("Home", "portal:home"),
        ("My profile", "portal:profile"),
        ("Consent", "portal:consent"),
        ("My matches", "portal:matches"),
        ("Trials", "trials:list"),
    ],
    User.Role.SITE_STAFF: [("Home", "home"), ("Candidates", "site:home"), ("Trials", "trials:list")],
    User.Role.SPONSOR: [("Home", "home"), ("Enrolment", "sponsor:home"), ("Trials", "trials:list")],
    User.Role.CURATOR: [("Home", "home"), ("Trials", "trials:list"), ("Admin", "admin:index")],
}


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    role = User.Role.CURATOR if user.is_superuser else user.role
    items = [(label, reverse(name)) for label, name in NAV_BY_ROLE.get(role, [])]
    return {"nav_items": items, "nav_role": User.Role(role).label}
