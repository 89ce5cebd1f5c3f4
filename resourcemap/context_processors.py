from django.conf import settings

from .models import Municipality


def portal(request):
    """Municipality and site-wide settings for every template."""
    return {
        "municipality": Municipality.current(),
        "SITE_URL": settings.SITE_URL,
    }
