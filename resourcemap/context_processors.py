from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from .models import Municipality


def portal(request):
    """Municipality and site-wide settings for every template."""
    return {
        "municipality": Municipality.current(),
        "SITE_URL": settings.SITE_URL,
    }


def _staff_menu_title() -> str:
    municipality = Municipality.current()
    staff = municipality.display_staff_title if municipality else _("職員")
    return _("%(staff)sメニュー") % {"staff": staff}


# The admin index title, worked out when a page is drawn (the municipality is data).
staff_menu_title = lazy(_staff_menu_title, str)()
