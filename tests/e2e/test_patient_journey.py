"""A patient's whole journey in a real browser: register, verify, build a profile with a biomarker, consent
to matching and contact, see a match with its explanation, answer its question, express interest, withdraw
consent and see the match go, for her and in the site's view."""

import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from recruitment.models import Candidate, Match, TrialInterest, User
from tests.factories import DEFAULT_PASSWORD, SiteMembershipFactory, TrialFactory, TrialSiteFactory
from tests.mfa_helpers import enrol_with_demo_secret, unused_code
from tests.recruitment.consent_helpers import publish_all
from trials.models import Trial
from trials.services import trial_parse_eligibility

PASSWORD = "a-long-and-unusual-passphrase-42"
ELIGIBILITY = (
    "Inclusion Criteria:\n\n"
    "* EGFR exon 19 deletion\n"
    "* Eastern Cooperative Oncology Group (ECOG) performance status: 0 or 1\n\n"
    "Exclusion Criteria:\n\n"
    "* Pregnant or breastfeeding\n"
)


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    """Password, then for staff a code computed from their authenticator's secret."""
    user = User.objects.get(email=email)
    if user.needs_mfa:
        enrol_with_demo_secret(user)
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if user.needs_mfa:
        page.get_by_label("Code").fill(unused_code(user))
        page.get_by_role("button", name="Verify").click()


def snap(page: Page, folder: Path | None, name: str) -> None:
    if folder is not None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_register_build_profile_consent_match_interest_withdraw(live_server, browser_page, screenshots):
    page, base = browser_page, live_server.url
    publish_all()
    trial = TrialFactory.create(
        brief_title="Osimertinib for EGFR exon 19 lung cancer",
        eligibility_text=ELIGIBILITY,
        minimum_age_years=18,
        sex=Trial.Sex.ALL,
    )
    site = TrialSiteFactory.create(trial=trial, site__facility="Boston Thoracic Oncology").site
    sam = SiteMembershipFactory.create(user__email="sam@example.org", site=site).user
    trial_parse_eligibility(trial_id=trial.pk)
    queue = f"{base}/site/{site.pk}/trials/{trial.pk}/"

    # Register, then verify with the link from the e-mail.
    page.goto(f"{base}/portal/register/")
    page.get_by_label("First name").fill("Maria")
    page.get_by_label("Last name").fill("Lopez")
    page.get_by_label("E-mail address").fill("maria@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    snap(page, screenshots, "01-register")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    link = re.search(r"http://\S+/portal/verify/\S+/", str(mail.outbox[-1].body))
    assert link is not None
    page.goto(link.group(0).replace("http://testserver", base))
    expect(page.get_by_text("your e-mail address is confirmed")).to_be_visible()

    page.get_by_label("E-mail address").fill("maria@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My profile").click()

    # About you, a diagnosis picked from the suggestions, and a biomarker.
    page.get_by_label("Date of birth").fill("1961-06-15")
    page.get_by_label("Sex recorded at birth").select_option("female")
    page.get_by_role("radio", name=re.compile("hard physical work")).check()
    page.get_by_role("button", name="Save about you").click()
    expect(page.get_by_text("Your profile is saved")).to_be_visible()

    page.get_by_role("link", name="Add an illness").click()
    condition = page.get_by_label("Illness or condition")
    condition.press_sequentially("lung adeno", delay=30)
    expect(
        page.locator("datalist#id_condition-suggestions option[value='lung adenocarcinoma']")
    ).to_have_count(1)
    condition.fill("lung adenocarcinoma")
    page.get_by_label("Stage (if you know it)").fill("IV")
    page.get_by_role("button", name="Save").click()

    page.get_by_role("link", name="Add a test result").click()
    page.get_by_label("Gene or marker").fill("EGFR")
    page.get_by_label("What was found").select_option("deletion")
    page.get_by_label("Exact change (if given)").fill("exon 19 deletion")
    page.get_by_label("Result", exact=True).select_option("positive")
    snap(page, screenshots, "02-biomarker")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".fact-text", has_text="EGFR exon 19 deletion positive")).to_be_visible()
    snap(page, screenshots, "03-profile")

    # Consent to matching and to contact: separate, unticked, signed with the typed name.
    page.get_by_role("link", name="Consent").click()
    for purpose in ("matching", "contact"):
        section = page.locator(f"#consent-{purpose}")
        expect(section.get_by_role("checkbox")).not_to_be_checked()
        section.get_by_role("checkbox").check()
        section.get_by_label("Type your full name to sign").fill("Maria Lopez")
        if purpose == "contact":
            snap(page, screenshots, "04-consent")
        section.get_by_role("button", name="Sign and agree").click()
        expect(page.get_by_text("Your consent is recorded")).to_be_visible()

    # The match, its explanation and the question that would settle it.
    page.get_by_role("link", name="My matches").click()
    expect(page.locator(".verdict-possibly_eligible")).to_have_text("Possibly eligible")
    snap(page, screenshots, "05-matches")
    page.get_by_role("link", name="Osimertinib for EGFR exon 19 lung cancer").click()
    expect(page.get_by_role("heading", name="Questions that would settle it")).to_be_visible()
    expect(page.get_by_text("You meet this.").first).to_be_visible()
    expect(page.get_by_text("From your profile: EGFR exon 19 deletion positive")).to_be_visible()
    snap(page, screenshots, "06-match-detail")

    # Answering the question (pregnancy and breastfeeding) makes the match eligible.
    page.get_by_role("link", name="your profile").click()
    page.get_by_label("Pregnancy").select_option("not_pregnant")
    page.get_by_label("Are you breastfeeding?").select_option("false")
    page.get_by_role("button", name="Save about you").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My matches").click()
    expect(page.locator(".verdict-eligible")).to_have_text("Eligible")

    page.get_by_role("link", name="Osimertinib for EGFR exon 19 lung cancer").click()
    page.get_by_role("button", name="I'm interested in this trial").click()
    expect(page.get_by_text("The study team will be told that you are interested")).to_be_visible()
    patient = User.objects.get(email="maria@example.org").patient_profile
    assert TrialInterest.objects.filter(patient=patient, trial=trial, withdrawn_at__isnull=True).exists()

    # Sam, at a site of the trial, sees her as a candidate who asked to hear from the trial, with her contact.
    sign_in(page, base, sam.email, DEFAULT_PASSWORD)
    page.goto(queue)
    candidate = Candidate.objects.get(patient=patient, trial=trial)
    expect(page.get_by_role("link", name=candidate.subject_code)).to_be_visible()
    page.get_by_role("link", name=candidate.subject_code).click()
    expect(page.locator("#contact-details")).to_contain_text("maria@example.org")

    # Withdraw matching consent: one click on the same page, and the match is gone.
    sign_in(page, base, "maria@example.org", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Consent").click()
    page.get_by_role("button", name="Withdraw: be matched with trials").click()
    expect(page.get_by_text("Withdrawn, effective now")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My matches").click()
    expect(page.get_by_text("Matching is off")).to_be_visible()
    expect(page.get_by_text("Osimertinib for EGFR exon 19 lung cancer")).to_have_count(0)
    assert not Match.objects.filter(patient=patient, retired_at__isnull=True).exists()

    # ...and from the site's view: the candidacy is withdrawn, her profile and contact details are gone.
    sign_in(page, base, sam.email, DEFAULT_PASSWORD)
    page.goto(queue)
    expect(page.get_by_role("row", name=re.compile(candidate.subject_code))).to_contain_text("Withdrawn")
    page.get_by_role("link", name=candidate.subject_code).click()
    expect(page.get_by_text("The patient no longer consents to matching")).to_be_visible()
    expect(page.locator("#contact-details")).to_have_count(0)
    expect(page.get_by_text("maria@example.org")).to_have_count(0)
    if screenshots is not None:
        sign_in(page, base, "maria@example.org", PASSWORD)
    if screenshots is not None:
        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_role("link", name="Consent").click()
        snap(page, screenshots, "07-consent-phone")
