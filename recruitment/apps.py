from django.apps import AppConfig


class RecruitmentConfig(AppConfig):
    name = "recruitment"
    verbose_name = "Recruitment"

    def ready(self) -> None:
        # The signal receivers live with the services they serve: profile and fact writes queue a re-match
        # (services.matching), a consent withdrawal closes the patient's candidacies (services.workflow).
        # Importing them here connects them in every process, web and worker alike, whatever it imports first.
        from recruitment.services import matching, workflow  # noqa: F401
