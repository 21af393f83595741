import pytest
from rest_framework.test import APIClient

from tests.api.world import World, build_world


@pytest.fixture
def world(pat, sam, sophie, cora, nsclc_trial, boston_site) -> World:
    return build_world(pat=pat, sam=sam, sophie=sophie, cora=cora, trial=nsclc_trial, boston=boston_site)


@pytest.fixture
def api() -> APIClient:
    return APIClient()
