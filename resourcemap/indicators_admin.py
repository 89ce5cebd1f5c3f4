"""Back office for indicator reference data: populations per area and the key indicators."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import AreaPopulation, KeyIndicator


@admin.register(AreaPopulation)
class AreaPopulationAdmin(admin.ModelAdmin):
    list_display = ("area", "total", "aged_65_plus", "as_of", "source", "demo_mark")
    list_filter = ("area__level", "is_demo")
    list_select_related = ("area", "area__parent")
    search_fields = ("area__name", "source")
    autocomplete_fields = ()

    @admin.display(description=_("架空の値"), boolean=False)
    def demo_mark(self, obj):
        return format_html("<strong>{}</strong>", _("デモ（架空）")) if obj.is_demo else ""

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(KeyIndicator)
class KeyIndicatorAdmin(admin.ModelAdmin):
    list_display = ("__str__", "capability", "provider_type", "threshold", "sort_order")
    list_editable = ("threshold", "sort_order")
    list_select_related = ("capability", "provider_type")
