"""One permission per role. A caller of the wrong role gets 403: unlike the web pages, an API client learns
nothing from it, since every endpoint's role is in the published schema anyway."""

from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from recruitment.models import User


class _RolePermission(permissions.BasePermission):
    role: str

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and isinstance(user, User) and user.role == self.role)


class IsPatient(_RolePermission):
    role = User.Role.PATIENT
    message = "Patients only."


class IsSiteStaff(_RolePermission):
    role = User.Role.SITE_STAFF
    message = "Site staff only."


class IsSponsor(_RolePermission):
    role = User.Role.SPONSOR
    message = "Sponsor users only."
