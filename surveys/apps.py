from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "surveys"
    verbose_name = _("年1回調査")

    def ready(self) -> None:
        # Job kinds and e-mail kinds register themselves when these modules load (the worker
        # needs them without the admin).
        from . import emails, letters  # noqa: F401
