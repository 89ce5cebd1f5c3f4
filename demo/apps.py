from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo data: the ``load_demo`` command and its generator. No models, URLs or pages."""

    name = "demo"
    verbose_name = _("デモデータ")
