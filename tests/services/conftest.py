"""Service-backed tests: the same tests run on embedded defaults (SQLite, eager Celery) in `make test`, and
against real PostgreSQL, Redis and a real Celery worker process in `.ci/run`.

Tests that only mean something on the real services ask for `real_services` and are skipped elsewhere.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session")
def real_services(django_db_setup, django_db_blocker) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER or connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL and a Celery broker (DATABASE_URL and CELERY_BROKER_URL), as in .ci/run"
        )


def _database_url_of_test_database() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


class WorkerProcess:
    """A real `celery worker` process bound to the test database, which a test may kill and restart."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.name = ""

    def start(self, **env_overrides: str) -> None:
        """Start a worker; `env_overrides` are settings from the environment for this worker alone."""
        from config.celery import app

        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        env = {**os.environ, "DATABASE_URL": _database_url_of_test_database(), **env_overrides}
        log = (self.log_dir / f"{self.name.split('@')[0]}.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--pool",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                self.name,
                "--queues",
                settings.CELERY_TASK_DEFAULT_QUEUE,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so that a kill takes the pool processes with it, as a lost machine would.
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited at start; see {log.name}")
            if app.control.ping(destination=[self.name], timeout=1.0):
                return
        raise RuntimeError(f"the Celery worker did not answer within 60 s; see {log.name}")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.terminate()
        self.process.wait(timeout=30)


_workers: list[WorkerProcess] = []
"""The session's worker, once a test has started it (tests that only write leave it running too)."""


@pytest.fixture(scope="session")
def celery_worker(real_services, tmp_path_factory) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(tmp_path_factory.mktemp("celery-logs"))
    worker.start()
    _workers.append(worker)
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def _worker_done_before_the_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let the session's worker finish what a test queued (a re-match, a take-up, a snapshot refresh) before
    the test's database is flushed: a task still writing then deadlocks the flush's TRUNCATE, and the next
    test starts on the previous one's rows. Asking for the database fixture here tears this down first."""
    if request.node.get_closest_marker("django_db") is not None:
        request.getfixturevalue("_django_db_helper")
    yield
    for worker in _workers:
        if worker.process is not None and worker.process.poll() is None:
            from tests.services.reliability import queue_drained  # it imports this module

            queue_drained(worker)


@pytest.fixture
def task_runner(request: pytest.FixtureRequest) -> WorkerProcess | None:
    """The real worker when the services are configured; None on embedded defaults (tasks run eagerly)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    return request.getfixturevalue("celery_worker")


def wait_for(condition: Callable[[], bool], *, timeout: float = 60.0) -> None:
    """Poll until the worker has done its part; tasks run in another process on the real services."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not done within {timeout:.0f} s")
        time.sleep(0.2)


def database_url() -> str:
    """The test database's URL, for a second connection of the test's own (a lock held elsewhere)."""
    return _database_url_of_test_database()


def sessions_waiting_for_a_lock() -> int:
    """Sessions of the test database blocked on a lock (a worker's task waiting for a row the test holds);
    read on a connection of its own, since a transaction sees one snapshot of the activity view."""
    import psycopg

    with psycopg.connect(database_url(), autocommit=True) as watcher:
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0
