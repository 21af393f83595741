"""Who may reach what: every URL pattern of the project (web and API), for every role and owner.

DESIGN.md "Users and what each may see": a patient sees only their own data, site staff only their sites'
candidates, sponsors only their organisation's trials (as aggregates), curators the registry. In numbers:

- anonymous: web pages redirect to sign-in (302), the API answers 401;
- the wrong role: web pages of the site, sponsor and curator areas answer 403, patient pages 404 (a patient
  page never confirms that anything exists), the API answers 403;
- the right role but someone else's object (another patient's fact or match, another site's candidate or
  queue, another sponsor's trial): 404;
- the right role and owner: 200 (or the page's own redirect or validation answer).

ROUTES has one row per URL pattern, by name (the pattern itself for unnamed ones). A URL added to the project
without a row here fails `test_every_url_pattern_has_a_row`: add its row with the answers DESIGN.md asks for.
Each row names its URL's arguments from the world of tests/api/world.py, the method to call and the expected
status per caller; the helpers below spell the usual answers of each area.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests.api.world import World, build_world
from trials.models import ConsentDocument

pytestmark = pytest.mark.django_db

CALLERS = (
    "anonymous",
    "patient",
    "other_patient",
    "site_staff",
    "other_site_staff",
    "sponsor",
    "other_sponsor",
    "curator",
)
"""Who calls. The patient, site staff and sponsor own the world's objects; the "other" ones own their own."""

PERSONAS = {
    "patient": "pat",
    "other_patient": "olga",
    "site_staff": "sam",
    "other_site_staff": "dan",
    "sponsor": "sophie",
    "other_sponsor": "otto",
    "curator": "cora",
}

Expected = dict[str, int]


def _answers(anonymous: int, rest: int, **by_caller: int) -> Expected:
    return {"anonymous": anonymous} | dict.fromkeys(CALLERS[1:], rest) | by_caller


def everyone(code: int = 200) -> Expected:
    return _answers(code, code)


def signed_in(code: int = 200, anonymous: int = 302) -> Expected:
    return _answers(anonymous, code)


def portal(own: int = 200, other: int | None = None) -> Expected:
    """A patient page: other roles get 404; `other` is another patient's answer for an object page."""
    return _answers(302, 404, patient=own, other_patient=own if other is None else other)


def site(own: int = 200, other: int | None = None) -> Expected:
    """A site staff page: `other` is the answer to staff of another site for an object of Sam's site."""
    return _answers(302, 403, site_staff=own, other_site_staff=own if other is None else other)


def sponsor(own: int = 200, other: int | None = None) -> Expected:
    return _answers(302, 403, sponsor=own, other_sponsor=own if other is None else other)


def curator(own: int = 200) -> Expected:
    return _answers(302, 403, curator=own)


def api_signed_in(code: int = 200) -> Expected:
    return _answers(401, code)


def api_patient(own: int = 200, other: int | None = None) -> Expected:
    return _answers(401, 403, patient=own, other_patient=own if other is None else other)


def api_site(own: int = 200, other: int | None = None) -> Expected:
    return _answers(401, 403, site_staff=own, other_site_staff=own if other is None else other)


def api_sponsor(own: int = 200, other: int | None = None) -> Expected:
    return _answers(401, 403, sponsor=own, other_sponsor=own if other is None else other)


def api_curator(own: int = 200) -> Expected:
    return _answers(401, 403, curator=own)


def admin(staff: int = 200) -> Expected:
    """The Django admin: only staff get in (Cora, a curator with no model permissions granted)."""
    return _answers(302, 302, curator=staff)


Args = Callable[[World], dict[str, Any]]


def no_args(world: World) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Row:
    expected: Expected
    args: Args = no_args
    method: str = "get"
    data: dict[str, Any] = field(default_factory=dict)


def _no_object(world: World) -> dict[str, Any]:
    return {"object_id": "0"}


def _queue(w: World) -> dict[str, Any]:
    return {"site_id": w.boston.pk, "trial_id": w.trial.pk}


def _candidate(w: World) -> dict[str, Any]:
    return {"pk": w.candidate.pk}


def _fact(w: World) -> dict[str, Any]:
    return {"kind": "diagnosis", "pk": w.pat_profile.diagnoses.get().pk}


def _match(w: World) -> dict[str, Any]:
    return {"pk": w.pat_match.pk}


def _trial(w: World) -> dict[str, Any]:
    return {"nct_id": w.trial.nct_id}


def _sponsor_trial(w: World) -> dict[str, Any]:
    return {"pk": w.trial.pk}


SITE_ACTIONS = (
    "pre-screen",
    "contact",
    "consent",
    "screening",
    "enrol",
    "pre-screen-ineligible",
    "screen-fail",
    "decline",
    "unreachable",
    "withdraw",
)
FACT_KINDS = ("diagnoses", "biomarkers", "labs", "therapies", "procedures")
FACT_RELATED = {
    "diagnoses": "diagnoses",
    "biomarkers": "biomarkers",
    "labs": "lab_results",
    "therapies": "therapies",
    "procedures": "procedures",
}


def _api_fact(kind: str) -> Args:
    return lambda w: {"pk": getattr(w.pat_profile, FACT_RELATED[kind]).get().pk}


ROUTES: dict[str, Row] = {
    # Public pages and sign-in
    "home": Row(signed_in(200) | {"patient": 302, "other_patient": 302}),
    "health": Row(everyone(200)),
    "login": Row(everyone(200)),
    "login_code": Row(everyone(302)),  # no sign-in under way: back to the first step
    "mfa_enrol": Row(signed_in(200)),
    "mfa_security": Row(signed_in(200)),
    "logout": Row(everyone(302), method="post"),
    "password_change": Row(signed_in(200)),
    "password_change_done": Row(signed_in(200)),
    "password_reset": Row(everyone(200)),
    "password_reset_done": Row(everyone(200)),
    "password_reset_confirm": Row(everyone(200), lambda w: {"uidb64": "MQ", "token": "not-a-token"}),
    "password_reset_complete": Row(everyone(200)),
    # Patient portal
    "portal:home": Row(portal()),
    "portal:register": Row(_answers(200, 302)),  # signed-in people are sent to their portal
    "portal:verify": Row(everyone(400), lambda w: {"token": "not-a-token"}),
    "portal:profile": Row(portal()),
    "portal:profile_fhir": Row(portal()),  # her own profile as a FHIR Bundle
    "portal:paste": Row(portal()),
    "portal:fhir_import": Row(portal()),
    "portal:fhir_review": Row(portal(302)),  # nothing uploaded yet: back to the upload
    "portal:fact_add": Row(portal(), lambda w: {"kind": "diagnosis"}),
    "portal:fact_edit": Row(portal(200, other=404), _fact),
    "portal:fact_delete": Row(portal(302, other=404) | {"anonymous": 302}, _fact, method="post"),
    "portal:terms": Row(portal(), lambda w: {"kind": "condition"}),
    "portal:consent": Row(portal()),
    "portal:consent_sign": Row(portal(302), method="post"),
    "portal:consent_withdraw": Row(portal(302), method="post"),
    "portal:consent_copy": Row(
        portal(200, other=404),
        lambda w: {"pk": w.pat_profile.consents.first().pk},  # type: ignore[union-attr]
    ),
    "portal:consent_fhir": Row(portal()),
    "portal:matches": Row(portal()),
    "portal:match": Row(portal(200, other=404), _match),
    "portal:match_interest": Row(portal(302, other=404), _match, method="post"),
    "portal:alerts_unsubscribe": Row(everyone(404), lambda w: {"token": "not-a-token"}),
    # Site staff
    "site:home": Row(site()),
    "site:alerts": Row(site()),
    "site:queue": Row(site(200, other=404), _queue),
    "site:bulk": Row(site(302, other=404), _queue, method="post"),
    "site:screening_log": Row(site(200, other=404), _queue),
    "site:funnel": Row(site(200, other=404), _queue),
    "site:fhir": Row(site(200, other=404), _queue),
    "site:candidate": Row(site(200, other=404), _candidate),
    "site:candidate_move": Row(site(400, other=404), _candidate, method="post"),
    "site:candidate_paste": Row(site(200, other=404), _candidate),
    "site:fhir_import": Row(site(200, other=404), _candidate),
    "site:fhir_review": Row(site(302, other=404), _candidate),
    # Sponsor
    "sponsor:home": Row(sponsor()),
    "sponsor:trial": Row(sponsor(200, other=404), _sponsor_trial),
    # Curation and the registry
    "trials:list": Row(signed_in()),
    "trials:detail": Row(signed_in(), _trial),
    "trials:criteria": Row(curator(), _trial),
    "trials:reparse": Row(curator(302), _trial, method="post"),
    "trials:criterion_review": Row(
        curator(400), lambda w: {"nct_id": w.trial.nct_id, "criterion_id": w.criterion.pk}, method="post"
    ),
    # API: registry
    "api:api-root": Row(api_signed_in()),
    "api:trial-list": Row(api_signed_in()),
    "api:trial-detail": Row(api_signed_in(), _trial),
    "api:trial-criteria": Row(api_signed_in(), _trial),
    "api:site-list": Row(api_signed_in()),
    "api:site-detail": Row(api_signed_in(), lambda w: {"pk": w.boston.pk}),
    "api:criterion-review": Row(api_curator(400), lambda w: {"criterion_id": w.criterion.pk}, method="post"),
    "api-schema": Row(everyone(200)),
    "api-docs": Row(everyone(200)),
    "api-not-found": Row(everyone(404)),
    # API: patient
    "api:me-profile": Row(api_patient()),
    "api:me-consents": Row(api_patient()),
    "api:me-consent-status": Row(api_patient()),
    "api:me-consent-give": Row(api_patient(400), method="post"),
    "api:me-consent-withdraw": Row(api_patient(400), method="post"),
    "api:me-matches": Row(api_patient()),
    "api:me-match": Row(api_patient(200, other=404), _match),
    "api:me-match-interest": Row(api_patient(200, other=404), _match, method="post"),
    **{f"api:me-{kind}": Row(api_patient()) for kind in FACT_KINDS},
    **{f"api:me-{kind}-detail": Row(api_patient(200, other=404), _api_fact(kind)) for kind in FACT_KINDS},
    # API: site staff
    "api:site-trials": Row(api_site()),
    "api:site-candidates": Row(api_site(200, other=404), _queue),
    "api:site-candidate": Row(api_site(200, other=404), _candidate),
    **{
        f"api:site-candidate-{action}": Row(api_site(400, other=404), _candidate, method="post")
        for action in SITE_ACTIONS
    },
    # API: sponsor
    "api:sponsor-trials": Row(api_sponsor()),
    "api:sponsor-dashboard": Row(api_sponsor(200, other=404), _sponsor_trial),
    # The admin: its sign-in goes through ours (second factor); its own pages are for staff only
    "admin/login/": Row(everyone(302)),
    "admin:index": Row(admin(200)),
    "admin:login": Row(everyone(302)),
    "admin:logout": Row(everyone(302), method="post"),
    "admin:password_change": Row(admin(200)),
    "admin:password_change_done": Row(admin(200)),
    "admin:autocomplete": Row(admin(403)),
    "admin:jsi18n": Row(admin(200)),
    "admin:app_list": Row(admin(404), lambda w: {"app_label": "trials"}),  # no model of it is hers to see
    "admin:view_on_site": Row(admin(404), lambda w: {"content_type_id": "0", "object_id": "0"}),
    "admin/(?P<url>.*)$": Row(admin(404), lambda w: {"url": "no-such-page/"}),
    "admin:trials_consentdocument_delete": Row(admin(403), _no_object),
}
"""Every URL pattern of the project, by name (by pattern when unnamed), with the answers DESIGN.md asks."""


# Each registered model's admin pages follow one scheme, so new models are covered as they are registered: no
# model permission has been granted to Cora, so the admin refuses her (403) on every page of every model,
# except that the history of an object that does not exist sends her back to the list; nobody else gets past
# the admin's sign-in. Object pages are asked about an object that does not exist ("0").
ADMIN_MODEL_PAGES = {"changelist": 403, "add": 403, "change": 403, "delete": 403, "history": 302}


def _admin_model_row(name: str) -> Row | None:
    page = name.rsplit("_", 1)[-1]
    if name.startswith("admin:") and page in ADMIN_MODEL_PAGES:
        return Row(admin(ADMIN_MODEL_PAGES[page]), no_args if page in ("changelist", "add") else _no_object)
    return None


def _admin_redirect_row(key: str) -> Row | None:
    # admin/<app>/<model>/<object_id>/ redirects staff to the change page; non-staff to sign-in.
    if key.startswith("admin/") and key.endswith("/<path:object_id>/"):
        return Row(admin(302), _no_object)
    return None


def row_for(key: str) -> Row | None:
    if key == "admin:auth_user_password_change":
        return Row(admin(403), lambda w: {"id": w.pat.pk})
    return ROUTES.get(key) or _admin_model_row(key) or _admin_redirect_row(key)


def _patterns(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str | None, str]]:
    """(key, name for reverse, route) of every URL pattern: namespaced name, or the route when unnamed."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            route = prefix + str(pattern.pattern)
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield (name or route), name, route


def all_routes() -> dict[str, tuple[str | None, str]]:
    found: dict[str, tuple[str | None, str]] = {}
    for key, name, route in _patterns(get_resolver().url_patterns):
        found.setdefault(key, (name, route))  # DRF's format-suffix variants share their route's name
    return found


def _url(key: str, name: str | None, route: str, args: dict[str, Any]) -> str:
    if name is not None:
        return reverse(name, kwargs=args)
    path = "/" + route.replace("<path:object_id>", str(args.get("object_id", "")))
    return path.replace("(?P<url>.*)$", str(args.get("url", "")))


def test_every_url_pattern_has_a_row():
    missing = sorted(key for key in all_routes() if row_for(key) is None)
    assert not missing, f"URL patterns without a row in ROUTES: {missing}"


def test_no_row_names_a_url_that_is_gone():
    assert not sorted(set(ROUTES) - set(all_routes()))


@pytest.fixture
def world(pat, sam, sophie, cora, nsclc_trial, boston_site) -> World:
    return build_world(pat=pat, sam=sam, sophie=sophie, cora=cora, trial=nsclc_trial, boston=boston_site)


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_gets_the_answer_design_md_asks_for_on_every_url(world, caller):
    user = getattr(world, PERSONAS[caller]) if caller != "anonymous" else None
    wrong = []
    client = Client()
    for key, (name, route) in sorted(all_routes().items()):
        row = row_for(key)
        if row is None:
            continue  # test_every_url_pattern_has_a_row names it
        url = _url(key, name, route, row.args(world))
        if user is not None and "_auth_user_id" not in client.session:
            client.force_login(user)  # first, and again after a sign-out
        # Each call is undone afterwards, so that a deletion or withdrawal does not change the next rows.
        with transaction.atomic():
            status = getattr(client, row.method)(url, row.data).status_code
            transaction.set_rollback(True)
        if status != row.expected[caller]:
            wrong.append(f"{row.method.upper()} {url} ({key}): {status}, expected {row.expected[caller]}")
    assert not wrong, "\n".join(wrong)


def test_staff_without_the_delete_permission_cannot_delete_an_unpublished_consent_document(client, cora):
    draft = ConsentDocument.objects.create(
        purpose=ConsentDocument.Purpose.MATCHING,
        version="9.9",
        title="Draft",
        body="Not published yet.",
        effective_from=timezone.now(),
    )
    client.force_login(cora)
    url = reverse("admin:trials_consentdocument_delete", args=[draft.pk])
    assert client.get(url).status_code == 403
    client.post(url, {"post": "yes"})
    assert ConsentDocument.objects.filter(pk=draft.pk).exists()
