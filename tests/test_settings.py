"""Settings come from the environment; production settings pass Django's deployment checks."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789abcdefghij",
    "ALLOWED_HOSTS": "trials.example.org",
    "DATABASE_URL": "sqlite:///:memory:",
    "FIELD_ENCRYPTION_KEY": "mH1nqk0bCMOoh1Tl3Dbi5dTVZlQ3fI7s0b5BrkG4ozc=",
}


def run_django(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The subprocess stands for a deployment: nothing the test process set for itself may leak into it
    # (the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for the whole session).
    leaking = {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in leaking}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def read_settings(names: list[str], env: dict[str, str]) -> dict[str, Any]:
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}, default=str))"
    )
    result = run_django("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_pass_the_deployment_checks():
    result = run_django("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = run_django("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_without_service_urls_the_app_uses_sqlite_and_eager_tasks():
    values = read_settings(["DATABASES", "CELERY_TASK_ALWAYS_EAGER"], env={})
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True


def test_service_urls_switch_to_postgresql_and_a_real_broker():
    env = {
        "DATABASE_URL": "postgres://app@db.internal:5432/recruit",
        "CELERY_BROKER_URL": "redis://cache:6379/0",
    }
    values = read_settings(["DATABASES", "CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL"], env=env)
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert values["DATABASES"]["default"]["NAME"] == "recruit"
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    assert values["CELERY_BROKER_URL"] == "redis://cache:6379/0"


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_malformed_boolean_setting_is_refused_with_its_name(value):
    result = run_django("check", env={"DEBUG": value})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_api_rate_limits_and_a_shared_cache_come_from_the_environment():
    env = {
        "API_THROTTLE_USER": "100/hour",
        "API_THROTTLE_ANON": "5/minute",
        "CACHE_URL": "redis://cache:6379/2",
    }
    values = read_settings(["REST_FRAMEWORK", "CACHES"], env=env)
    assert values["REST_FRAMEWORK"]["DEFAULT_THROTTLE_RATES"] == {"anon": "5/minute", "user": "100/hour"}
    assert values["CACHES"]["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache:6379/2",
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("API_THROTTLE_USER", "lots", "API_THROTTLE_USER must be a rate such as 600/minute"),
        ("API_THROTTLE_ANON", "0/minute", "API_THROTTLE_ANON must be a rate such as 600/minute"),
        ("CACHE_URL", "memcached://cache:11211", "CACHE_URL must be a redis:// or rediss:// URL"),
    ],
)
def test_a_malformed_rate_limit_or_cache_setting_is_refused_with_its_name(name, value, message):
    result = run_django("check", env={name: value})
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize("value", ["0", "-3", "a month"])
def test_a_rematch_safety_net_that_is_not_a_number_of_days_is_refused_with_its_name(value):
    # -1 to -4 made every patient re-match divide by zero (`horizon.longest_for`), 0 and below read as 1.
    result = run_django("check", env={"REMATCH_HORIZON_MAX_DAYS": value})
    assert result.returncode != 0
    assert "REMATCH_HORIZON_MAX_DAYS must be a whole number of 1 or more" in result.stderr


def test_the_rematch_safety_net_comes_from_the_environment():
    assert read_settings(["REMATCH_HORIZON_MAX_DAYS"], env={"REMATCH_HORIZON_MAX_DAYS": "14"}) == {
        "REMATCH_HORIZON_MAX_DAYS": 14
    }


def celery_worker_limits(env: dict[str, str]) -> list[int]:
    code = (
        "import json; from config.celery import app; "
        "print(json.dumps([app.conf.worker_max_tasks_per_child, app.conf.worker_max_memory_per_child]))"
    )
    result = run_django("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_worker_children_are_replaced_after_a_number_of_tasks_or_past_a_memory_ceiling():
    # spaCy's vocabulary keeps every new word a long-lived worker parses: only a new process gives it back.
    assert celery_worker_limits(env={}) == [100, 512 * 1024]
    env = {"CELERY_WORKER_MAX_TASKS_PER_CHILD": "20", "CELERY_WORKER_MAX_MEMORY_PER_CHILD": "262144"}
    assert celery_worker_limits(env=env) == [20, 262144]


@pytest.mark.parametrize("name", ["CELERY_WORKER_MAX_TASKS_PER_CHILD", "CELERY_WORKER_MAX_MEMORY_PER_CHILD"])
def test_a_worker_limit_that_is_not_a_positive_number_is_refused_with_its_name(name):
    result = run_django("check", env={name: "0"})
    assert result.returncode != 0
    assert f"{name} must be a whole number of 1 or more" in result.stderr
