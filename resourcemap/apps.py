from importlib import import_module

from django.apps import AppConfig, apps
from django.contrib.admin.apps import AdminConfig
from django.utils.module_loading import module_has_submodule
from django.utils.translation import gettext_lazy as _


class ResourcemapConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "resourcemap"
    verbose_name = _("在宅療養資源マップ")

    def ready(self):
        from django.urls import register_converter

        from .inputs import IdConverter

        # <id:pk> in URLs: only ids that fit the database (a longer number is a 404, not a 500).
        register_converter(IdConverter, "id")

        from . import exports, import_jobs  # noqa: F401 - register the background export and import jobs


class PortalAdminConfig(AdminConfig):
    """Django admin without autodiscovering ``leaflet.admin``.

    django-leaflet's own admin module imports GeoDjango (GDAL). This project stores coordinates
    as two decimal fields and uses django-leaflet only for its Leaflet assets and template tags,
    so its admin module is skipped and GDAL is never needed.
    """

    default_site = "django.contrib.admin.sites.AdminSite"

    def ready(self):
        from django.contrib.admin import checks, site
        from django.core import checks as core_checks

        core_checks.register(checks.check_dependencies, core_checks.Tags.admin)
        core_checks.register(checks.check_admin_app, core_checks.Tags.admin)
        for app_config in apps.get_app_configs():
            if app_config.name == "leaflet":
                continue
            if module_has_submodule(app_config.module, "admin"):
                import_module(f"{app_config.name}.admin")
        del site  # registration happens on import
