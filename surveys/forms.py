"""Forms for providers (the survey form, new registration) and the public correction report."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from resourcemap import hours as hours_mod
from resourcemap import providers as provider_service
from resourcemap.models import Capability, Provider, ProviderType

from . import services
from .models import Correction

STATUS_CHOICES = (
    (Provider.Status.ACTIVE, gettext_lazy("運営しています")),
    (Provider.Status.SUSPENDED, gettext_lazy("休止している・休止する予定")),
    (Provider.Status.CLOSED, gettext_lazy("廃止した・廃止する予定")),
)
HOURS_HELP = gettext_lazy("例: 09:00-12:00, 14:00-18:00（休みの日は空欄。24時間は 00:00-24:00）")
EXCEPTIONS_HELP = gettext_lazy(
    "1行に1件。例: 2026-12-29..2027-01-03 休 (年末年始) ／ 2026-05-03 10:00-15:00"
)
# Field groups the template shows as sections, in order.
CONTACT_KEYS = ("name", "kana", "phone", "fax", "website", "email")
ADDRESS_KEYS = ("postal_code", "address", "building")
PRIVATE_KEYS = ("contact_person", "contact_email", "contact_phone")
OTHER_KEYS = ("notes", "hours_unknown", "hours_note")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def parse_exceptions(text: str) -> list[dict[str, Any]]:
    """One exception a line (``hours.parse_exceptions``); raises ValidationError per line."""
    try:
        items = hours_mod.parse_exceptions(text)
    except hours_mod.ExceptionsError as error:
        raise ValidationError([
            _("%(n)s行目「%(line)s」を読み取れません。%(help)s")
            % {"n": number, "line": entry, "help": EXCEPTIONS_HELP}
            for number, entry, _message in error.problems
        ]) from error
    for item in items:
        item["note"] = item["note"][:100]
    return items


def exceptions_lines(items) -> str:
    return hours_mod.format_exceptions(items, separator="\n")


class HoursMixin:
    """Eight text fields (月〜日, 祝日) that parse into opening periods."""

    def add_hours_fields(self, periods) -> None:
        for weekday, label in enumerate(hours_mod.WEEKDAY_NAMES):
            self.fields[f"hours_{weekday}"] = forms.CharField(
                label=label, required=False, max_length=200,
                initial=hours_mod.format_day(periods, weekday),
                widget=forms.TextInput(attrs={
                    "placeholder": _("休み"), "autocomplete": "off",
                    "aria-describedby": "hours-help",
                }),
            )

    def clean_hours(self) -> list[hours_mod.Period] | None:
        periods: list[hours_mod.Period] = []
        ok = True
        for weekday in range(8):
            name = f"hours_{weekday}"
            try:
                periods.extend(hours_mod.parse_spans(self.cleaned_data.get(name, ""), weekday))
            except ValueError as error:
                self.add_error(name, str(error))
                ok = False
        if not ok:
            return None
        for message in hours_mod.validate_periods(periods):
            self.add_error(None, message)
            ok = False
        return periods if ok else None


class CapabilitiesMixin:
    def add_capability_fields(self, capabilities, current) -> None:
        self.capability_list = list(capabilities)
        for cap in self.capability_list:
            have = current.get(cap.code)
            self.fields[f"cap_{cap.code}"] = forms.BooleanField(
                label=cap.display_name, required=False, initial=have is not None,
                help_text=cap.display_description,
            )
            if cap.has_count:
                self.fields[f"count_{cap.code}"] = forms.IntegerField(
                    label=cap.display_count_label or _("件数"), required=False, min_value=0,
                    max_value=100000, initial=(have or {}).get("count"),
                    widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                )
            self.fields[f"note_{cap.code}"] = forms.CharField(
                label=_("補足"), required=False, max_length=200, initial=(have or {}).get("note", ""),
            )

    def capability_rows(self):
        return [
            {
                "capability": cap,
                "check": self[f"cap_{cap.code}"],
                "count": self[f"count_{cap.code}"] if cap.has_count else None,
                "note": self[f"note_{cap.code}"],
            }
            for cap in self.capability_list
        ]

    def clean_capabilities(self) -> dict[str, dict[str, Any]]:
        chosen = {}
        for cap in self.capability_list:
            if self.cleaned_data.get(f"cap_{cap.code}"):
                chosen[cap.code] = {
                    "count": self.cleaned_data.get(f"count_{cap.code}") if cap.has_count else None,
                    "note": (self.cleaned_data.get(f"note_{cap.code}") or "").strip(),
                }
        return chosen


def _model_field(name: str, **overrides) -> forms.Field:
    model_field = Provider._meta.get_field(name)
    field = model_field.formfield(**overrides)
    # Same messages as the admin: the model's own validators (postal code, phone, codes).
    field.validators = [*field.validators, *[v for v in model_field.validators if v not in field.validators]]
    if isinstance(field, forms.URLField):
        field.assume_scheme = "https"
    return field


class SurveyForm(HoursMixin, CapabilitiesMixin, forms.Form):
    """The provider's own record, prefilled; only the keys the round asks about."""

    comment = forms.CharField(
        label=gettext_lazy("ご意見・ご連絡（任意）"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    closure_note = forms.CharField(
        label=gettext_lazy("休止・廃止の時期など（任意）"), required=False, max_length=200,
        help_text=gettext_lazy("例: 2026年9月30日で廃止予定"),
    )
    respondent_name = forms.CharField(
        label=gettext_lazy("ご回答者のお名前（任意）"), required=False, max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    respondent_email = forms.EmailField(
        label=gettext_lazy("受付メールの送り先（任意）"), required=False,
        help_text=gettext_lazy("入力すると、送った内容の控えをメールでお送りします。"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, invitation, **kwargs):
        super().__init__(*args, **kwargs)
        self.invitation = invitation
        self.provider = invitation.provider
        self.keys = invitation.survey_round.asked_keys()
        provider = self.provider
        for key in self.keys:
            if key == "location":
                for name in ("latitude", "longitude"):
                    self.fields[name] = forms.DecimalField(
                        label=Provider._meta.get_field(name).verbose_name, required=False,
                        max_digits=9, decimal_places=6, initial=getattr(provider, name),
                        widget=forms.NumberInput(attrs={"step": "0.000001", "inputmode": "decimal"}),
                    )
            elif key == "capabilities":
                self.add_capability_fields(
                    services.asked_capabilities(invitation.survey_round, provider),
                    provider_service.current_capabilities(provider),
                )
            elif key == "opening_periods":
                self.add_hours_fields(provider_service.current_periods(provider))
            elif key == "hours_exceptions":
                self.fields["hours_exceptions"] = forms.CharField(
                    label=_("臨時の休み・営業時間"), required=False, max_length=3000,
                    help_text=EXCEPTIONS_HELP, initial=exceptions_lines(
                        provider_service.current_exceptions(provider)),
                    widget=forms.Textarea(attrs={"rows": 3}),
                )
            elif key == "status":
                self.fields["status"] = forms.ChoiceField(
                    label=_("運営の状況"), choices=STATUS_CHOICES, widget=forms.RadioSelect,
                    initial=provider.status if provider.status in dict(STATUS_CHOICES) else Provider.Status.ACTIVE,
                )
            elif key == "hours_unknown":
                self.fields[key] = forms.BooleanField(
                    label=_("営業時間が決まっていない・公開しない"), required=False,
                    initial=provider.hours_unknown,
                )
            else:
                self.fields[key] = _model_field(key, initial=getattr(provider, key))
                self.fields[key].required = key in ("name", "kana", "address")
        autocomplete = {
            "name": "organization", "postal_code": "postal-code", "phone": "tel",
            "fax": "tel", "website": "url", "email": "email", "contact_email": "email",
            "contact_phone": "tel", "contact_person": "name",
        }
        for name, value in autocomplete.items():
            if name in self.fields:
                self.fields[name].widget.attrs["autocomplete"] = value
        for name in ("phone", "fax", "contact_phone", "postal_code"):
            if name in self.fields:
                self.fields[name].widget.attrs["inputmode"] = "tel"

    def section(self, keys):
        return [self[k] for k in keys if k in self.fields]

    def contact_fields(self):
        return self.section(CONTACT_KEYS)

    def address_fields(self):
        return self.section(ADDRESS_KEYS)

    def private_fields(self):
        return self.section(PRIVATE_KEYS)

    def other_fields(self):
        return self.section(OTHER_KEYS)

    def hours_fields(self):
        return [self[f"hours_{d}"] for d in range(8) if f"hours_{d}" in self.fields]

    def clean(self):
        cleaned = super().clean()
        for name in ("kana",):
            if name in cleaned and cleaned[name]:
                cleaned[name] = _nfkc(cleaned[name])
        if "capabilities" in self.keys:
            asked = {c.code for c in self.capability_list}
            kept = {
                code: value
                for code, value in provider_service.current_capabilities(self.provider).items()
                if code not in asked
            }
            kept.update(self.clean_capabilities())
            cleaned["capabilities"] = kept
        if "opening_periods" in self.keys:
            cleaned["opening_periods"] = self.clean_hours()
        if "hours_exceptions" in self.keys and "hours_exceptions" in cleaned:
            try:
                cleaned["hours_exceptions"] = parse_exceptions(cleaned["hours_exceptions"])
            except ValidationError as error:
                self.add_error("hours_exceptions", error)
        if "location" in self.keys:
            if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
                self.add_error("latitude", _("地図の位置は緯度と経度の両方が必要です。"))
        if self.errors:
            return cleaned
        proposal = services.to_plain_proposal(cleaned, self.keys)
        for key, messages in services.validate_proposal(self.provider, proposal).items():
            target = {
                "longitude": "latitude", "capabilities": None, "opening_periods": None,
                "last_confirmed_on": None, "area": None, "provider_type": None,
                "__all__": None,
            }.get(key, key)
            if target is not None and target not in self.fields:
                target = None
            for message in messages:
                self.add_error(target, message)
        self.proposal = proposal
        return cleaned


class AccessCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("アクセスコード"), max_length=40,
        help_text=gettext_lazy("案内状に書かれた12文字のコード（例: ABCD-EFGH-JKMN）。ハイフンはなくてもかまいません。"),
        widget=forms.TextInput(attrs={
            "autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
        }),
    )


class HoneypotMixin(forms.Form):
    # Hidden from people by CSS and aria-hidden; bots that fill every field reveal themselves.
    homepage_url = forms.CharField(
        label=gettext_lazy("この欄は空のままにしてください"), required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    @property
    def is_spam(self) -> bool:
        return bool((self.data.get("homepage_url") or "").strip())


class RegistrationForm(HoursMixin, CapabilitiesMixin, HoneypotMixin, forms.Form):
    provider_type = forms.ModelChoiceField(
        label=gettext_lazy("事業所の種類"), queryset=ProviderType.objects.none(),
        empty_label=gettext_lazy("選んでください"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider_type"].queryset = ProviderType.objects.order_by("sort_order", "code")
        for name in ("name", "kana", "postal_code", "address", "building", "phone", "fax",
                     "website", "email", "medical_code", "care_code"):
            self.fields[name] = _model_field(name)
            self.fields[name].required = name in ("name", "kana", "address", "phone")
        self.fields["kana"].help_text = _("カタカナで入力してください。")
        for name in ("latitude", "longitude"):
            self.fields[name] = forms.DecimalField(
                label=Provider._meta.get_field(name).verbose_name, required=False, max_digits=9,
                decimal_places=6, widget=forms.NumberInput(attrs={"step": "0.000001"}),
            )
        self.add_hours_fields([])
        self.add_capability_fields(
            Capability.objects.prefetch_related("provider_types").order_by("sort_order", "code"), {}
        )
        self.fields["applicant_name"] = forms.CharField(
            label=_("お申込みの方のお名前"), max_length=60,
            widget=forms.TextInput(attrs={"autocomplete": "name"}),
        )
        self.fields["applicant_email"] = forms.EmailField(
            label=_("連絡用メール（公開されません）"), required=False,
            widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        )
        self.fields["applicant_phone"] = _model_field("contact_phone")
        self.fields["applicant_phone"].label = _("連絡用電話（公開されません）")
        self.fields["comment"] = forms.CharField(
            label=_("担当者への連絡（任意）"), required=False, max_length=2000,
            widget=forms.Textarea(attrs={"rows": 3}),
        )
        # Move the honeypot to the end of the form.
        self.fields["homepage_url"] = self.fields.pop("homepage_url")

    def clean(self):
        cleaned = super().clean()
        periods = self.clean_hours()
        cleaned["opening_periods"] = periods or []
        cleaned["capabilities"] = self.clean_capabilities()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            self.add_error("latitude", _("地図の位置は緯度と経度の両方が必要です。"))
        if cleaned.get("kana"):
            cleaned["kana"] = _nfkc(cleaned["kana"])
        return cleaned


class CorrectionForm(HoneypotMixin, forms.ModelForm):
    class Meta:
        model = Correction
        fields = ("message", "reporter_name", "reporter_contact")
        widgets = {"message": forms.Textarea(attrs={"rows": 5})}
        help_texts = {
            "message": gettext_lazy("例: 電話番号が変わっています。土曜日も午前は開いています。"),
            "reporter_contact": gettext_lazy("確認のためにご連絡することがあります（電話またはメール）。公開されません。"),
        }
