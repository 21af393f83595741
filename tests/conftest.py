"""Personas shared by the whole suite.

- Pat: a patient registered through the portal.
- Sam: research coordinator at the Boston site of an open NSCLC trial.
- Sophie: monitor at the sponsor of that trial.
- Cora: curator of the trial registry.
"""

import pytest
from django.core.cache import cache

from recruitment.models import User
from tests import factories


@pytest.fixture
def nsclc_trial(db):
    return factories.TrialFactory.create(nct_id="NCT05000001", brief_title="Osimertinib in EGFR-mutant NSCLC")


@pytest.fixture
def boston_site(db, nsclc_trial):
    trial_site = factories.TrialSiteFactory.create(
        trial=nsclc_trial, site__facility="Boston Thoracic Oncology"
    )
    return trial_site.site


@pytest.fixture
def pat(db):
    return factories.UserFactory.create(email="pat@example.org", role=User.Role.PATIENT)


@pytest.fixture
def sam(db, boston_site):
    membership = factories.SiteMembershipFactory.create(user__email="sam@example.org", site=boston_site)
    return membership.user


@pytest.fixture
def sophie(db, nsclc_trial):
    membership = factories.SponsorMembershipFactory.create(
        user__email="sophie@example.org", sponsor=nsclc_trial.sponsor
    )
    return membership.user


@pytest.fixture
def cora(db):
    return factories.UserFactory.create(email="cora@example.org", role=User.Role.CURATOR, is_staff=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_request_counts():
    """The API's rate limits count in the cache: each test starts with no requests counted."""
    cache.clear()
    yield
    cache.clear()
