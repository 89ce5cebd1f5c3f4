"""Staff back office (Django admin, in Japanese).

Provider edits never call ``Model.save()`` directly: ``ProviderAdmin.save_related`` hands the
form and all inlines to ``providers.provider_create`` / ``provider_update`` in one call, so
fields, capabilities, hours and exceptions are validated and written together and one
``ProviderChange`` records who changed what.
"""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, Count, Value
from django.forms.widgets import Script
from django.http import HttpResponseRedirect
from django.urls import reverse as _reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin

from . import (
    admin_views,
    formats,
    indicators_admin,  # noqa: F401  (registers the population and key indicator admins)
    providers,
)
from .forms import (
    FlyerAdminForm,
    OpeningPeriodFormSet,
    ProviderAdminForm,
    ProviderCapabilityFormSet,
    SizeLimitedImportForm,
)
from .history import FIELD_LABELS, field_label, render_changes
from .models import (
    Area,
    Capability,
    DataVersion,
    DistrictTown,
    Flyer,
    HoursException,
    Municipality,
    OpeningPeriod,
    Provider,
    ProviderCapability,
    ProviderChange,
    ProviderType,
)
from .resources import (
    IMPORT_HELP,
    ContactlessProviderResource,
    ProviderResource,
    PublicProviderResource,
)
from .security import GuardedLookupsMixin

STAFF_SOURCE = "管理画面"


class WritePathRejected(Exception):
    """The write path refused a change the forms had accepted (e.g. a concurrent edit)."""

    def __init__(self, error: ValidationError):
        super().__init__(error)
        self.error = error


# ---------------------------------------------------------------------------------------------
# Reference data


class ReferenceAdmin(admin.ModelAdmin):
    """Reference data shows on public pages: every change moves the data version."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        DataVersion.bump()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        DataVersion.bump()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        DataVersion.bump()


@admin.register(Municipality)
class MunicipalityAdmin(ReferenceAdmin):
    list_display = ("__str__", "code", "map_title", "contact_department")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not Municipality.objects.exists()


@admin.register(Area)
class AreaAdmin(ReferenceAdmin):
    list_display = ("name", "level", "parent", "code", "sort_order", "provider_count")
    list_filter = ("level", "parent")
    search_fields = ("name", "kana", "code")
    ordering = ("sort_order", "code")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent").annotate(
            _providers=Count("providers")
        )

    @admin.display(description=_("事業所数"), ordering="_providers")
    def provider_count(self, obj):
        return obj._providers


@admin.register(DistrictTown)
class DistrictTownAdmin(admin.ModelAdmin):
    list_display = ("town", "chome", "district")
    list_filter = ("district__parent",)
    search_fields = ("town", "district__name")
    ordering = ("town", "chome")


@admin.register(ProviderType)
class ProviderTypeAdmin(ReferenceAdmin):
    list_display = ("name", "short_name", "group", "code", "service_code", "color_swatch", "sort_order")
    list_filter = ("group",)
    search_fields = ("name", "code")

    @admin.display(description=_("地図の色"))
    def color_swatch(self, obj):
        return format_html(
            '<svg class="rm-swatch" width="14" height="14" aria-hidden="true" focusable="false">'
            '<rect width="14" height="14" fill="{}"/></svg> {}', obj.color, obj.color
        )


@admin.register(Capability)
class CapabilityAdmin(ReferenceAdmin):
    list_display = ("name", "code", "has_count", "after_hours", "type_list", "sort_order")
    list_filter = ("provider_types", "has_count")
    search_fields = ("name", "code", "description")
    filter_horizontal = ("provider_types",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("provider_types")

    @admin.display(description=_("対象の種別"))
    def type_list(self, obj):
        return "、".join(t.name for t in obj.provider_types.all())


# ---------------------------------------------------------------------------------------------
# Provider list filters


class CodeFilter(admin.SimpleListFilter):
    """A list filter by a code; ``lookup`` is the field path the chosen code is compared with."""

    lookup = ""

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.lookup: self.value()})
        return queryset


class RegionFilter(CodeFilter):
    title = _("地域")
    parameter_name = "region"
    lookup = "area__parent__code"

    def lookups(self, request, model_admin):
        return [(a.code, a.name) for a in Area.objects.filter(level=Area.Level.REGION)]


class DistrictFilter(CodeFilter):
    title = _("地区")
    parameter_name = "district"
    lookup = "area__code"

    def lookups(self, request, model_admin):
        districts = Area.objects.filter(level=Area.Level.DISTRICT).select_related("parent")
        region = request.GET.get(RegionFilter.parameter_name)
        if region:
            districts = districts.filter(parent__code=region)
        return [(a.code, a.name) for a in districts] + [("none", gettext("地区なし"))]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(area__isnull=True)
        return super().queryset(request, queryset)


class CapabilityFilter(CodeFilter):
    title = _("対応できること")
    parameter_name = "capability"
    lookup = "provider_capabilities__capability__code"

    def lookups(self, request, model_admin):
        return [(c.code, c.name) for c in Capability.objects.all()]


class LastConfirmedFilter(admin.SimpleListFilter):
    title = _("最終確認")
    parameter_name = "confirmed"

    def lookups(self, request, model_admin):
        return [
            ("never", gettext("未確認")),
            ("old", gettext("1年以上前")),
            ("recent", gettext("1年以内")),
        ]

    def queryset(self, request, queryset):
        year_ago = timezone.localdate() - dt.timedelta(days=365)
        if self.value() == "never":
            return queryset.filter(last_confirmed_on__isnull=True)
        if self.value() == "old":
            return queryset.filter(last_confirmed_on__lt=year_ago)
        if self.value() == "recent":
            return queryset.filter(last_confirmed_on__gte=year_ago)
        return queryset


# ---------------------------------------------------------------------------------------------
# Provider inlines: their permissions follow the provider's, so an editor who may change a
# provider may also remove an opening period (the rows are rewritten by the write path).


class ProviderPartInline(admin.TabularInline):
    extra = 0

    def _provider_perm(self, request, action):
        return request.user.has_perm(f"resourcemap.{action}_provider")

    def has_view_permission(self, request, obj=None):
        return self._provider_perm(request, "view") or self._provider_perm(request, "change")

    def has_add_permission(self, request, obj=None):
        return self._provider_perm(request, "change")

    def has_change_permission(self, request, obj=None):
        return self._provider_perm(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._provider_perm(request, "change")


class ProviderCapabilityInline(ProviderPartInline):
    model = ProviderCapability
    formset = ProviderCapabilityFormSet
    fields = ("capability", "count", "note")
    verbose_name = _("対応できること")
    verbose_name_plural = _("対応できること（件数は「件数を持つ」項目だけ）")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("capability")
        if field is not None:
            qs = Capability.objects.all()
            if obj is not None and obj.provider_type_id:
                qs = qs.filter(provider_types=obj.provider_type_id)
            field.queryset = qs
        return formset


class OpeningPeriodInline(ProviderPartInline):
    model = OpeningPeriod
    formset = OpeningPeriodFormSet
    fields = ("weekday", "opens", "closes")
    verbose_name_plural = _("営業時間（夜をまたぐ時は 18:00〜09:00、24時間は 00:00〜00:00）")


class HoursExceptionInline(ProviderPartInline):
    model = HoursException
    fields = ("start_date", "end_date", "closed", "opens", "closes", "note")


class HistoryReadOnly:
    """The change history is written by the write path only: never added, changed or deleted
    in the back office."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ProviderChangeInline(HistoryReadOnly, admin.TabularInline):
    model = ProviderChange
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("changed_at", "actor_kind", "action", "user", "source", "changes_table")
    readonly_fields = fields
    verbose_name_plural = _("変更履歴")
    ordering = ("-changed_at", "-pk")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("resourcemap.view_provider") or request.user.has_perm(
            "resourcemap.change_provider"
        )

    def get_queryset(self, request):
        return _with_contact_access(super().get_queryset(request).select_related("user"), request)

    @admin.display(description=_("変更内容（変更前 → 変更後）"))
    def changes_table(self, obj):
        return render_changes(_visible_changes(obj))


def _with_contact_access(queryset, request):
    """Each history row knows whether this request may see the survey contact in it."""
    return queryset.annotate(
        contact_visible=Value(Provider.may_see_private_contact(request.user), output_field=BooleanField())
    )


def _visible_changes(change) -> dict:
    """A change's fields, the survey contact's old and new values hidden from staff without
    ``Provider.PRIVATE_CONTACT_PERMISSION``."""
    if getattr(change, "contact_visible", False):
        return change.changes
    hidden = gettext("（非公開）")
    return {
        name: [hidden, hidden] if name in Provider.PRIVATE_FIELDS else values
        for name, values in (change.changes or {}).items()
    }


# ---------------------------------------------------------------------------------------------


@admin.register(Provider)
class ProviderAdmin(GuardedLookupsMixin, ImportExportMixin, admin.ModelAdmin):
    form = ProviderAdminForm
    private_lookups = Provider.PRIVATE_FIELDS
    inlines = [ProviderCapabilityInline, OpeningPeriodInline, HoursExceptionInline, ProviderChangeInline]
    list_display = (
        "name", "provider_type", "district", "status", "phone", "fax", "capability_list",
        "last_confirmed_on", "updated_at",
    )
    list_display_links = ("name",)
    list_filter = (
        "provider_type", RegionFilter, DistrictFilter, CapabilityFilter, "status",
        LastConfirmedFilter, "hours_unknown", "is_demo",
    )
    search_fields = (
        "name", "kana", "name_en", "address", "building", "medical_code", "care_code",
        "corporate_number", "corporate_name", "phone",
    )
    list_select_related = ("provider_type", "area", "area__parent")
    list_per_page = 50
    readonly_fields = ("location_map", "created_at", "updated_at")
    save_on_top = True
    actions = ["confirm_selected", "export_xlsx_in_background", "export_csv_in_background"]
    fieldsets = (
        (None, {"fields": ("base_version", "name", "kana", "name_en", "provider_type", "status")}),
        (_("所在地"), {
            "fields": ("postal_code", "address", "building", "location_map",
                       ("latitude", "longitude"), "area"),
            "description": _("地図をクリックするか、目印を動かすと緯度・経度が入ります。"),
        }),
        (_("連絡先（公開）"), {"fields": ("phone", "fax", "website", "email")}),
        (_("調査の連絡先（非公開）"), {"fields": ("contact_person", "contact_email", "contact_phone")}),
        (_("営業時間・お知らせ"), {"fields": ("hours_unknown", "hours_note", "notes", "notes_en")}),
        (_("番号（取込の照合に使います）"), {
            "fields": ("medical_code", "care_code", "corporate_number", "corporate_name"),
        }),
        (_("確認"), {"fields": ("last_confirmed_on", "last_confirmed_source", "is_demo",
                               "created_at", "updated_at")}),
    )

    # import/export
    resource_classes = [ProviderResource, PublicProviderResource]
    formats = formats.STAFF_FORMATS
    import_form_class = SizeLimitedImportForm
    import_template_name = "admin/resourcemap/provider/import.html"
    # Adds the open-data import button next to インポート.
    import_export_change_list_template = "admin/resourcemap/provider/change_list.html"
    skip_admin_log = False

    class Media:
        css = {"all": ("leaflet/leaflet.css", "css/admin.css")}
        js = ("leaflet/leaflet.js", Script("js/admin-location.js", type="module"))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("provider_capabilities__capability")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not Provider.may_see_private_contact(request.user):
            # The survey contact is neither shown nor changed without its own permission.
            fieldsets = [
                (name, opts) for name, opts in fieldsets
                if not set(opts["fields"]) & set(Provider.PRIVATE_FIELDS)
            ]
        if obj is not None and self.has_change_permission(request, obj):
            return fieldsets
        # The hidden version only matters to a change; a new record or a read-only page has none.
        return [
            (name, {**opts, "fields": tuple(f for f in opts["fields"] if f != "base_version")})
            for name, opts in fieldsets
        ]

    def has_delete_permission(self, request, obj=None):
        # Nothing is ever lost: a provider that stops is set to 廃止 instead.
        return False

    # ---- list columns --------------------------------------------------------------------------

    @admin.display(description=_("地区"), ordering="area__sort_order")
    def district(self, obj):
        if not obj.area_id:
            return "—"
        return f"{obj.area.parent.name if obj.area.parent_id else ''}・{obj.area.name}"

    @admin.display(description=_("対応できること"))
    def capability_list(self, obj):
        names = [pc.capability.short_name or pc.capability.name for pc in obj.provider_capabilities.all()]
        return "、".join(names) or "—"

    @admin.display(description=_("地図"))
    def location_map(self, obj):
        municipality = Municipality.current()
        located = obj is not None and obj.latitude is not None and obj.longitude is not None
        if located:
            center = (obj.latitude, obj.longitude)
        elif municipality:
            center = (municipality.center_lat, municipality.center_lng)
        else:
            center = settings.LEAFLET_CONFIG["DEFAULT_CENTER"]
        config = {
            "tileUrl": settings.MAP_TILE_URL,
            "attribution": settings.MAP_TILE_ATTRIBUTION,
            "center": [float(center[0]), float(center[1])],
            "zoom": (municipality.zoom if municipality else 13) + (3 if located else 0),
            "marker": [float(obj.latitude), float(obj.longitude)] if located else None,
            "boundary": municipality.boundary if municipality else [],
            "hint": gettext("地図をクリックすると目印を置けます。目印は動かせます。"),
        }
        return format_html(
            '<div class="rm-location-map" role="application" aria-label="{}" data-config="{}"></div>'
            '<p class="help rm-location-help">{}</p>',
            gettext("位置を決める地図"), json.dumps(config, ensure_ascii=False), config["hint"],
        )

    # ---- saving through the write path --------------------------------------------------------

    def save_model(self, request, obj, form, change):
        """Deferred: ``save_related`` writes the provider together with its inlines."""

    def save_formset(self, request, form, formset, change):
        """Deferred as well (see ``save_related``)."""

    def save_related(self, request, form, formsets, change):
        data = {
            name: form.cleaned_data[name]
            for name in Provider.TRACKED_FIELDS
            if name in form.cleaned_data
        }
        parts = {"capabilities": None, "periods": None, "exceptions": None}
        for formset in formsets:
            live = [
                f for f in formset.forms
                if getattr(f, "cleaned_data", None) and not formset._should_delete_form(f)
            ]
            if formset.model is ProviderCapability:
                parts["capabilities"] = {
                    f.cleaned_data["capability"].code: {
                        "count": f.cleaned_data.get("count"), "note": f.cleaned_data.get("note", "")
                    }
                    for f in live if f.cleaned_data.get("capability")
                }
            elif formset.model is OpeningPeriod:
                parts["periods"] = [
                    (int(f.cleaned_data["weekday"]), f.cleaned_data["opens"], f.cleaned_data["closes"])
                    for f in live
                ]
            elif formset.model is HoursException:
                parts["exceptions"] = [
                    {k: f.cleaned_data.get(k) for k in
                     ("start_date", "end_date", "closed", "opens", "closes", "note")}
                    for f in live
                ]
        try:
            if change:
                provider = Provider.objects.get(pk=form.instance.pk)
                base_version = form.cleaned_data["base_version"]
                record = providers.provider_update(
                    provider=provider, changes=data, **parts, base_version=base_version,
                    actor_kind=ProviderChange.Actor.STAFF, user=request.user, source=STAFF_SOURCE,
                )
                kept = {
                    name
                    for row in provider.changes.filter(version__gt=base_version).exclude(
                        pk=getattr(record, "pk", None)
                    )
                    for name in row.changes
                }
                if kept:
                    messages.info(request, gettext(
                        "あなたが画面を開いた後に、ほかの人が次の項目を変えていました。その内容は残してあります: %(fields)s"
                    ) % {"fields": "、".join(field_label(n) for n in FIELD_LABELS if n in kept)})
            else:
                provider = providers.provider_create(
                    data=data,
                    capabilities=parts["capabilities"] or {},
                    periods=parts["periods"] or [],
                    exceptions=parts["exceptions"] or [],
                    actor_kind=ProviderChange.Actor.STAFF, user=request.user, source=STAFF_SOURCE,
                )
                record = provider.changes.first()
        except ValidationError as error:
            raise WritePathRejected(error) from error
        form.instance.pk = provider.pk
        form.instance.refresh_from_db()
        request._provider_change = record

    def construct_change_message(self, request, form, formsets, add=False):
        record = getattr(request, "_provider_change", None)
        if add:
            return [{"added": {}}]
        if record is None:
            return gettext("変更はありませんでした。")
        return [{"changed": {"fields": [field_label(name) for name in record.changes]}}]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except WritePathRejected as rejected:
            error = rejected.error
            if isinstance(error, providers.ProviderConflict):
                # Nothing was saved; the page opens again with the current record and this
                # list at the top, so the editor can enter again what they still want.
                messages.error(request, format_html(
                    "{}<ul>{}</ul>",
                    gettext("保存していません。あなたが画面を開いた後に、ほかの人がこの事業所を変更しました。"
                            "下の画面は今の内容です。必要なら入力し直して保存してください。"),
                    format_html_join("", "<li>{}</li>", ((line,) for line in error.lines())),
                ))
            else:
                for message in error.messages:
                    messages.error(request, message)
            return HttpResponseRedirect(request.get_full_path())

    @admin.action(description=_("選んだ事業所を「内容確認済み」にする（今日の日付）"), permissions=["change"])
    def confirm_selected(self, request, queryset):
        count = 0
        for provider in queryset:
            providers.provider_confirm(
                provider=provider, actor_kind=ProviderChange.Actor.STAFF, user=request.user,
                source=gettext("職員の確認"),
            )
            count += 1
        messages.success(request, gettext("%(n)d件を確認済みにしました。") % {"n": count})

    def _export_in_background(self, request, queryset, fmt):
        from jobs.runner import can_use

        from .exports import export_kind, start_export

        contact = Provider.may_see_private_contact(request.user)
        if not can_use(request.user, export_kind(contact=contact)):
            raise PermissionDenied
        job = start_export(user=request.user, fmt=fmt, contact=contact,
                           provider_ids=list(queryset.values_list("pk", flat=True)))
        messages.success(request, gettext(
            "書き出しを始めました。できあがったファイルは「バックグラウンド処理」からダウンロードできます。"))
        if not contact:
            messages.info(request, gettext("調査の連絡先（非公開）の列は含まれません。"))
        return HttpResponseRedirect(_reverse("admin:jobs_job_change", args=[job.pk]))

    @admin.action(description=_("選んだ事業所をExcel（xlsx）に書き出す（大量でも可）"), permissions=["view"])
    def export_xlsx_in_background(self, request, queryset):
        return self._export_in_background(request, queryset, "xlsx")

    @admin.action(description=_("選んだ事業所をCSVに書き出す（大量でも可）"), permissions=["view"])
    def export_csv_in_background(self, request, queryset):
        return self._export_in_background(request, queryset, "csv")

    # ---- import/export ------------------------------------------------------------------------

    def get_urls(self):
        return admin_views.admin_urls(self) + super().get_urls()

    def get_import_resource_classes(self, request):
        return [ProviderResource]

    def get_export_resource_classes(self, request):
        # The full sheet holds the survey contact: only with its permission.
        if Provider.may_see_private_contact(request.user):
            return [ProviderResource, PublicProviderResource]
        return [ContactlessProviderResource, PublicProviderResource]

    # The sheet import is a job (resourcemap.sheet_import): previewed and applied on a worker
    # for a big sheet, in the request for a small one (admin_views).

    def import_action(self, request, **kwargs):
        return admin_views.sheet_import_view(request, self)

    def process_import(self, request, **kwargs):
        return admin_views.sheet_confirm_view(request, self)

    def get_import_resource_kwargs(self, request, **kwargs):
        resource_kwargs = super().get_import_resource_kwargs(request, **kwargs)
        # Without the survey contact permission a sheet with those columns is refused.
        resource_kwargs["include_private"] = Provider.may_see_private_contact(request.user)
        return resource_kwargs

    def get_import_context_data(self, **kwargs):
        context = super().get_import_context_data(**kwargs)
        context["import_help"] = IMPORT_HELP
        return context

    def get_export_filename(self, request, queryset, file_format):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return f"providers-{stamp}.{file_format.get_extension()}"


@admin.register(ProviderChange)
class ProviderChangeAdmin(GuardedLookupsMixin, HistoryReadOnly, admin.ModelAdmin):
    private_lookups = ("changes",)  # old and new values, the survey contact's among them
    list_display = ("changed_at", "provider", "actor_kind", "action", "user", "source", "field_list")
    list_filter = ("actor_kind", "action", "changed_at")
    search_fields = ("provider__name", "provider__kana", "source", "user__username")
    list_select_related = ("provider", "user")
    date_hierarchy = "changed_at"
    fields = ("changed_at", "provider", "actor_kind", "action", "user", "source", "changes_table")
    readonly_fields = fields

    def get_queryset(self, request):
        return _with_contact_access(super().get_queryset(request), request)

    @admin.display(description=_("変更した項目"))
    def field_list(self, obj):
        return "、".join(field_label(name) for name in obj.changes) or "—"

    @admin.display(description=_("変更内容（変更前 → 変更後）"))
    def changes_table(self, obj):
        return render_changes(_visible_changes(obj))


# ---- QR flyers (printing) ---------------------------------------------------------------------

@admin.register(Flyer)
class FlyerAdmin(admin.ModelAdmin):
    form = FlyerAdminForm
    list_display = ("title", "slug", "target_label", "is_active", "updated_at", "links")
    list_filter = ("is_active",)
    search_fields = ("title", "slug", "body", "target_query")
    readonly_fields = ("links", "created_at", "updated_at")
    fields = ("title", "slug", "body", "target_query", "is_active", "links", "created_at", "updated_at")

    @admin.display(description=_("QRコードの行き先"))
    def target_label(self, obj):
        return obj.target_query or gettext("マップ全体")

    @admin.display(description=_("チラシを開く"))
    def links(self, obj):
        if not obj.pk:
            return gettext("保存すると、印刷用のページとQRコードのリンクが出ます。")
        if not obj.is_active:
            return gettext("「公開する」に印を付けると開けます。")
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a> ／ <a href="{}">{}</a> ／ '
            '<a href="{}">{}</a> ／ <a href="{}">{}</a>',
            _reverse("flyer_variant", args=[obj.slug]), gettext("印刷プレビュー"),
            _reverse("flyer_pdf", args=[obj.slug]), "PDF",
            _reverse("flyer_qr_svg", args=[obj.slug]), gettext("QRコード（SVG）"),
            _reverse("flyer_qr_png", args=[obj.slug]), gettext("QRコード（PNG）"),
        )

