"""Sam is alerted to a new candidate (who asked to hear from the trial), takes it from matched to enrolled in
a real browser, and Sophie sees the enrolment count move on the sponsor dashboard (from 0 to the suppressed
"1-10"), in its table and its chart."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from recruitment.models import Candidate, CandidateStatus, User
from recruitment.services.consent import trial_interest_express
from recruitment.suppression import SMALL
from tests import factories
from tests.factories import DEFAULT_PASSWORD
from tests.mfa_helpers import enrol_with_demo_secret, unused_code
from tests.recruitment.workflow_helpers import matched_patient


def snap(page: Page, folder: Path | None, name: str) -> None:
    if folder is not None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, user: User) -> None:
    """Staff sign in with the password, then a code computed from their authenticator's secret."""
    enrol_with_demo_secret(user)
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(unused_code(user))
    page.get_by_role("button", name="Verify").click()


def move(page: Page, to: str, cohort: str | None = None) -> None:
    page.get_by_label("Move to").select_option(label=to)
    if cohort is not None:
        page.get_by_label("Cohort (enrolment)").select_option(label=cohort)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"moved to {to}")).to_be_visible()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_site_user_enrols_a_candidate_and_the_sponsor_sees_the_count_move(
    live_server, browser_page, screenshots, nsclc_trial, boston_site, sam, sophie
):
    page, base = browser_page, live_server.url
    arm = factories.ArmFactory.create(trial=nsclc_trial, label="EGFR exon 19", enrolment_target=20, cap=30)
    elena = matched_patient(nsclc_trial, email="elena@example.org", arm=arm, contact=True)
    trial_interest_express(patient=elena, trial=nsclc_trial)

    sign_in(page, base, sophie)
    page.goto(f"{base}/sponsor/trials/{nsclc_trial.pk}/")
    expect(page.locator("#enrolled-total")).to_contain_text("Enrolled: 0")
    snap(page, screenshots, "site-01-sponsor-before")

    sign_in(page, base, sam)
    # The candidate was taken up when the match was written, and Sam was alerted; no page view created it.
    candidate = Candidate.objects.get(trial=nsclc_trial)
    page.get_by_role("link", name="Candidates").click()
    expect(page.locator("#unread-alerts")).to_contain_text("1 unread")
    page.get_by_role("link", name="Alerts").click()
    expect(page.locator("#alerts")).to_contain_text(candidate.subject_code)
    snap(page, screenshots, "site-02-alerts")
    page.get_by_role("link", name=nsclc_trial.nct_id).click()
    expect(page.locator("#unread-alerts")).to_have_count(0)
    # The candidacy was taken up from the consent's re-match and follows the match that replaced it.
    row = page.get_by_role("row").filter(has_text=candidate.subject_code)
    expect(row).to_contain_text("Eligible")
    expect(row).to_contain_text("EGFR exon 19")
    snap(page, screenshots, "site-02-queue")
    page.get_by_role("link", name=candidate.subject_code).click()
    expect(page.get_by_role("heading", name=f"Candidate {candidate.subject_code}")).to_be_visible()
    expect(page.get_by_text("at Boston Thoracic Oncology, cohort EGFR exon 19")).to_be_visible()
    expect(page.locator(".verdict")).to_have_text("Eligible")
    expect(page.locator("#match-standing")).to_have_count(0)
    expect(page.locator("#contact-details")).to_contain_text("elena@example.org")
    snap(page, screenshots, "site-03-candidate")
    for step in ("Pre-screened", "Contacted", "Consented", "Screening"):
        move(page, step)
    move(page, "Enrolled", cohort="EGFR exon 19")
    snap(page, screenshots, "site-04-enrolled")
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.ENROLLED
    page.get_by_role("link", name="Candidates").click()
    expect(page.get_by_role("heading", name="Candidates at your sites")).to_be_visible()
    snap(page, screenshots, "site-05-home")
    page.get_by_role("link", name="Funnel").click()
    expect(page.get_by_text("Enrolled: 1")).to_be_visible()
    snap(page, screenshots, "site-06-funnel")

    sign_in(page, base, sophie)
    page.goto(f"{base}/sponsor/trials/{nsclc_trial.pk}/")
    expect(page.locator("#enrolled-total")).to_contain_text(f"Enrolled: {SMALL}")
    expect(page.locator("#by-cohort")).to_contain_text(SMALL)
    expect(page.get_by_text(candidate.subject_code)).to_have_count(0)
    expect(page.locator("#chart-cohorts")).to_be_visible()
    expect(page.locator("#chart-cohorts-data")).to_contain_text(SMALL)
    snap(page, screenshots, "site-07-sponsor-after")
