"""Web load: patients, site staff and sponsors on their own pages, each signed in through the real sign-in
form (staff answer the second-factor step with the demo secret's current code).

Reads `plan.json`, written by `seed.py` (accounts, the queue's address, candidate ids). Runs in a virtualenv
of its own (see README.md): locust must not be imported beside the app's test tools. The only app module it
imports is `recruitment.totp`, which has no Django import.
"""

import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from locust import HttpUser, between, tag, task  # type: ignore[import-not-found]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recruitment.totp import totp_code

PLAN = json.loads((Path(__file__).resolve().parent / "plan.json").read_text())
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MATCH_LINK = re.compile(r'href="/portal/matches/(\d+)/"')


def _accounts(role: str) -> Iterator[str]:
    # Each simulated user signs in with an account of its own: a second-factor code works only once, and a
    # shared session would hide the cost of sign-in.
    yield from PLAN[role]
    raise RuntimeError(f"more {role} users than seeded accounts: seed more (seed.py --help)")


ACCOUNTS = {role: _accounts(role) for role in ("patients", "site_staff", "sponsors")}


class SignedInUser(HttpUser):
    abstract = True
    # People read a page before the next click.
    wait_time = between(2, 5)
    role = ""
    staff = True

    def on_start(self) -> None:
        email = next(ACCOUNTS[self.role])
        form = self.client.get("/accounts/login/", name="sign-in form")
        with self.client.post(
            "/accounts/login/",
            {"username": email, "password": PLAN["password"], "csrfmiddlewaretoken": _token(form.text)},
            name="sign-in: password",
            catch_response=True,
        ) as answer:
            ended = answer.url or ""
            if ended.endswith("/accounts/login/code/") != self.staff or ended.endswith("/accounts/login/"):
                answer.failure(f"{email}: the password step ended at {ended}")
                return
        if self.staff:
            with self.client.post(
                "/accounts/login/code/",
                {"code": totp_code(PLAN["mfa_secret"]), "csrfmiddlewaretoken": _token(answer.text)},
                name="sign-in: code",
                catch_response=True,
            ) as signed_in:
                if "/accounts/login" in (signed_in.url or ""):
                    signed_in.failure(f"{email}: the code was refused")


def _token(html: str) -> str:
    found = CSRF_TOKEN.search(html)
    return found.group(1) if found else ""


class Patient(SignedInUser):
    weight = 7
    role = "patients"
    staff = False
    match_ids: list[str]

    def on_start(self) -> None:
        super().on_start()
        self.match_ids = []

    @task(3)
    def home(self) -> None:
        self.client.get("/portal/", name="patient: portal home")

    @task(3)
    def matches(self) -> None:
        page = self.client.get("/portal/matches/", name="patient: matches")
        self.match_ids = MATCH_LINK.findall(page.text)

    @task(2)
    def match(self) -> None:
        if self.match_ids:
            pick = random.choice(self.match_ids)  # noqa: S311 (which page to visit, nothing secret)
            self.client.get(f"/portal/matches/{pick}/", name="patient: a match")

    @task(2)
    def profile(self) -> None:
        self.client.get("/portal/profile/", name="patient: profile")


class SiteStaff(SignedInUser):
    weight = 2
    role = "site_staff"

    @task(2)
    def home(self) -> None:
        self.client.get("/site/", name="site: home")

    # Tagged so that a run can leave it out (--exclude-tags queue): the page lists every candidate at once.
    @tag("queue")
    @task(2)
    def queue(self) -> None:
        self.client.get(PLAN["queue"], name=f"site: queue ({PLAN['queue_size']} candidates)")

    @task(3)
    def candidate(self) -> None:
        pick = random.choice(PLAN["candidates"])  # noqa: S311 (which page to visit, nothing secret)
        self.client.get(f"/site/candidates/{pick}/", name="site: a candidate")


class Sponsor(SignedInUser):
    weight = 1
    role = "sponsors"

    @task(2)
    def home(self) -> None:
        self.client.get("/sponsor/", name="sponsor: home")

    @task(3)
    def dashboard(self) -> None:
        self.client.get(PLAN["sponsor_trial"], name="sponsor: trial dashboard")
