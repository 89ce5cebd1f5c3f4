"""Admin forms: the provider form and its inline formsets.

They check, before anything is saved, the same rules the write path (``resourcemap.providers``)
enforces, so staff see messages at the field or inline instead of an error page:
- the provider form runs ``Provider.full_clean`` (ModelForm), which includes ``clean()``
  (coordinates inside the municipality, district not region);
- the hours formset runs ``hours.validate_periods`` over all rows (overlaps, overnight spill,
  closes-before-opens);
- the capability formset checks that each capability applies to the chosen type and that
  counts are only given where the capability has a count.
"""

from __future__ import annotations

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import QueryDict
from django.utils.translation import gettext as _
from import_export.forms import ImportForm

from . import hours as hours_mod
from . import search, spreadsheet_limits
from .models import Area, Flyer, Provider


class ProviderAdminForm(forms.ModelForm):
    # The version of the record this form shows; the write path keeps what others saved
    # meanwhile and refuses a field both changed (see providers.provider_update).
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    class Meta:
        model = Provider
        fields = Provider.TRACKED_FIELDS
        widgets = {
            "latitude": forms.NumberInput(attrs={"step": "0.000001", "class": "js-location-lat"}),
            "longitude": forms.NumberInput(attrs={"step": "0.000001", "class": "js-location-lng"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "notes_en": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "area" in self.fields:
            self.fields["area"].queryset = Area.objects.filter(
                level=Area.Level.DISTRICT
            ).select_related("parent")
            self.fields["area"].label_from_instance = lambda a: f"{a.parent.name}地域 › {a.name}地区"
        if self.instance.pk:
            self.fields["base_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and cleaned.get("base_version") is None:
            raise ValidationError(_("この画面は古い形式です。事業所の画面を開き直してください。"))
        return cleaned


def _live_forms(formset):
    for form in formset.forms:
        if not hasattr(form, "cleaned_data") or not form.cleaned_data:
            continue
        if formset.can_delete and formset._should_delete_form(form):
            continue
        yield form


class OpeningPeriodFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        periods = [
            hours_mod.Period(int(f.cleaned_data["weekday"]), f.cleaned_data["opens"], f.cleaned_data["closes"])
            for f in _live_forms(self)
            if f.cleaned_data.get("opens") is not None and f.cleaned_data.get("closes") is not None
        ]
        errors = hours_mod.validate_periods(periods)
        if errors:
            raise ValidationError(errors)


class ProviderCapabilityFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        provider_type = getattr(self.instance, "provider_type", None) if self.instance.provider_type_id else None
        errors = []
        for form in _live_forms(self):
            capability = form.cleaned_data.get("capability")
            if capability is None:
                continue
            if provider_type and not capability.provider_types.filter(pk=provider_type.pk).exists():
                form.add_error(
                    "capability",
                    _("「%(cap)s」は「%(type)s」には設定できません。")
                    % {"cap": capability.name, "type": provider_type.name},
                )
                errors.append(capability.name)
            if form.cleaned_data.get("count") is not None and not capability.has_count:
                form.add_error("count", _("「%(cap)s」には件数を入力できません。") % {"cap": capability.name})
                errors.append(capability.name)
        if errors:
            raise ValidationError(_("対応できることの入力を確かめてください。"))


class SizeLimitedImportForm(ImportForm):
    """The admin import form with the same upload limit as the public-data import (30 MB)."""

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload is not None and upload.size > spreadsheet_limits.MAX_UPLOAD:
            raise forms.ValidationError(
                _("ファイルが大きすぎます（%(mb)dMBまで）。") % {"mb": spreadsheet_limits.MAX_UPLOAD // (1024 * 1024)}
            )
        return upload


IMPORT_VERSIONS_SALT = "resourcemap.import.base_versions"
IMPORT_CONFIRM_MAX_AGE = 24 * 3600


def sign_versions(versions: dict[int, int]) -> str:
    return signing.dumps({str(k): v for k, v in versions.items()}, salt=IMPORT_VERSIONS_SALT, compress=True)


class VersionedConfirmImportForm(forms.Form):
    """The import confirmation: the preview's one-time token and the provider versions the
    preview was based on (signed; the apply is refused unless they are the preview's own)."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    base_versions = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_base_versions(self) -> dict[int, int]:
        try:
            data = signing.loads(
                self.cleaned_data.get("base_versions") or "", salt=IMPORT_VERSIONS_SALT,
                max_age=IMPORT_CONFIRM_MAX_AGE,
            )
            return {int(k): int(v) for k, v in data.items()}
        except (signing.BadSignature, AttributeError, TypeError, ValueError) as error:
            raise ValidationError(_("確認の期限が切れました。もう一度ファイルを選んでください。")) from error


class FlyerAdminForm(forms.ModelForm):
    """A saved flyer; its QR target must be a search the map understands."""

    class Meta:
        model = Flyer
        fields = ("title", "slug", "body", "target_query", "is_active")

    def clean_target_query(self) -> str:
        query = (self.cleaned_data.get("target_query") or "").strip().lstrip("?")
        if "://" in query or query.startswith("/"):
            # Staff often paste the whole address: keep only the part after "?".
            query = query.partition("?")[2]
        if not query:
            return ""
        result = search.run(QueryDict(query))
        if result.ignored:
            raise ValidationError(" ".join(str(m) for m in result.ignored))
        return result.querystring
