"""Factories for test data. Personas in conftest.py are built from these."""

import factory
from factory.django import DjangoModelFactory

from recruitment.models import SiteMembership, SponsorMembership, User
from trials.models import Arm, Site, Sponsor, Trial, TrialSite

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    role = User.Role.PATIENT
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save_password(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save(update_fields=["password"])


class SponsorFactory(DjangoModelFactory[Sponsor]):
    class Meta:
        model = Sponsor
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Sponsor {n}")
    agency_class = "Industry"


class SiteFactory(DjangoModelFactory[Site]):
    class Meta:
        model = Site

    facility = factory.Sequence(lambda n: f"Cancer Centre {n}")
    city = "Boston"
    state = "Massachusetts"
    zip_code = "02215"
    country = "United States"
    key = factory.Sequence(lambda n: f"site-key-{n}")


class TrialFactory(DjangoModelFactory[Trial]):
    class Meta:
        model = Trial

    nct_id = factory.Sequence(lambda n: f"NCT9{n:07d}")
    brief_title = factory.Sequence(lambda n: f"A study of drug {n} in advanced cancer")
    phase = Trial.Phase.PHASE2
    study_type = Trial.StudyType.INTERVENTIONAL
    overall_status = Trial.Status.RECRUITING
    sponsor = factory.SubFactory(SponsorFactory)
    conditions = factory.LazyFunction(lambda: ["Non-small Cell Lung Cancer"])


class ArmFactory(DjangoModelFactory[Arm]):
    class Meta:
        model = Arm

    trial = factory.SubFactory(TrialFactory)
    label = factory.Sequence(lambda n: f"Cohort {n}")
    arm_type = Arm.ArmType.EXPERIMENTAL


class TrialSiteFactory(DjangoModelFactory[TrialSite]):
    class Meta:
        model = TrialSite

    trial = factory.SubFactory(TrialFactory)
    site = factory.SubFactory(SiteFactory)
    status = TrialSite.Status.RECRUITING


class SiteMembershipFactory(DjangoModelFactory[SiteMembership]):
    class Meta:
        model = SiteMembership

    user = factory.SubFactory(UserFactory, role=User.Role.SITE_STAFF)
    site = factory.SubFactory(SiteFactory)


class SponsorMembershipFactory(DjangoModelFactory[SponsorMembership]):
    class Meta:
        model = SponsorMembership

    user = factory.SubFactory(UserFactory, role=User.Role.SPONSOR)
    sponsor = factory.SubFactory(SponsorFactory)
