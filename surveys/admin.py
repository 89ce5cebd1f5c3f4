"""Staff back office for the survey: rounds, invitations, letters, the review queue,
registrations, corrections and the progress dashboard."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from jobs import runner
from jobs.admin import NoAddNoDeleteMixin
from jobs.models import Job
from resourcemap import formats
from resourcemap import providers as provider_service
from resourcemap.inputs import positive_id
from resourcemap.models import Provider, ProviderChange
from resourcemap.security import ContactFieldsMixin, GuardedLookupsMixin

from . import emails, letters, selectors, services, views
from .models import FIELD_LABELS, Correction, Invitation, Registration, Response, SurveyRound

# ---------------------------------------------------------------------------------------------
# Rounds


class SurveyRoundForm(forms.ModelForm):
    fields = forms.MultipleChoiceField(
        label=gettext_lazy("たずねる項目"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=list(FIELD_LABELS.items()),
        help_text=gettext_lazy("何も選ばなければ全項目をたずねます。"),
    )

    class Meta:
        model = SurveyRound
        fields = ("name", "opens_on", "closes_on", "intro", "provider_types", "fields", "capabilities")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.initial.setdefault("fields", self.instance.fields)  # the model's default: all


@admin.register(SurveyRound)
class SurveyRoundAdmin(admin.ModelAdmin):
    form = SurveyRoundForm
    list_display = ("name", "opens_on", "closes_on", "invitation_count", "response_count", "links")
    filter_horizontal = ("provider_types", "capabilities")
    actions = ["issue_invitations", "email_invitations", "email_reminders", "make_letters"]
    readonly_fields = ("issued_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_inv=Count("invitations", distinct=True), n_resp=Count("responses", distinct=True)
        )

    @admin.display(description=gettext_lazy("案内の数"))
    def invitation_count(self, obj):
        return obj.n_inv

    @admin.display(description=gettext_lazy("回答の数"))
    def response_count(self, obj):
        return obj.n_resp

    @admin.display(description=gettext_lazy("画面"))
    def links(self, obj):
        return format_html(
            '<a href="{}">{}</a> | <a href="{}">{}</a> | <a href="{}">{}</a>',
            reverse("admin:surveys_surveyround_dashboard", args=[obj.pk]), _("進み具合"),
            reverse("admin:surveys_response_changelist") + f"?survey_round__id__exact={obj.pk}",
            _("回答の確認"),
            reverse("admin:surveys_surveyround_letters", args=[obj.pk]), _("案内状"),
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<id:pk>/dashboard/", wrap(self.dashboard_view), name="surveys_surveyround_dashboard"),
            path("<id:pk>/nonrespondents.csv", wrap(self.nonrespondents_csv),
                 name="surveys_surveyround_nonrespondents"),
            path("<id:pk>/letters/", wrap(self.letters_view), name="surveys_surveyround_letters"),
        ] + super().get_urls()

    @admin.action(description=gettext_lazy("対象の事業所に案内を発行する"), permissions=["change"])
    def issue_invitations(self, request, queryset):
        for survey_round in queryset:
            created = services.issue_round(survey_round=survey_round)
            self.message_user(
                request, _("%(round)s: 案内を %(n)s 件発行しました。") % {"round": survey_round, "n": created}
            )

    @admin.action(description=gettext_lazy("案内をメールで送る（メールが分かる事業所）"), permissions=["letters"])
    def email_invitations(self, request, queryset):
        for survey_round in queryset:
            emails.start_round_emails(survey_round, which="invitations", user=request.user)
        self.message_user(request, _("メールの送信を始めました。進み具合と結果は「バックグラウンド処理」と「送信メール」で確かめられます。"))

    @admin.action(description=gettext_lazy("未回答の事業所に催促メールを送る"), permissions=["letters"])
    def email_reminders(self, request, queryset):
        for survey_round in queryset:
            emails.start_round_emails(survey_round, which="reminders", user=request.user)
        self.message_user(request, _("メールの送信を始めました。進み具合と結果は「バックグラウンド処理」と「送信メール」で確かめられます。"))

    @admin.action(description=gettext_lazy("案内状PDF（全件）を作る"), permissions=["letters"])
    def make_letters(self, request, queryset):
        for survey_round in queryset:
            letters.start_letters(survey_round, user=request.user)
        return HttpResponseRedirect(reverse("admin:surveys_surveyround_letters", args=[queryset[0].pk]))

    def has_letters_permission(self, request, obj=None) -> bool:
        """Letters and e-mails carry each provider's secret link and code."""
        return runner.can_use(request.user, letters.LETTERS_KIND)

    # -- dashboard ------------------------------------------------------------------------

    def _round(self, request, pk) -> SurveyRound:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(SurveyRound, pk=pk)

    def dashboard_view(self, request, pk):
        survey_round = self._round(request, pk)
        invitations = selectors.live_invitations(survey_round)
        total = invitations.count()
        answered = selectors.answered(invitations).count()

        def rate_rows(field):
            rows = selectors.answer_counts(invitations, field)
            for row in rows:
                row["name"] = row[field] or _("（未設定）")
                row["rate"] = round(100 * row["answered"] / row["total"]) if row["total"] else 0
            return rows

        statuses = selectors.status_counts(survey_round)
        status_rows = [(label, statuses.get(value, 0), value) for value, label in Response.Status.choices]
        paper_only = request.GET.get("paper") == "1"
        non_respondents = selectors.non_respondents(survey_round, paper_only=paper_only)
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(round)s の進み具合") % {"round": survey_round},
            "survey_round": survey_round,
            "total": total,
            "answered": answered,
            "rate": round(100 * answered / total) if total else 0,
            "by_type": rate_rows("provider__provider_type__name"),
            "by_district": rate_rows("provider__area__name"),
            "status_rows": status_rows,
            "non_respondents": non_respondents[:300],
            "non_respondent_count": non_respondents.count(),
            "paper_only": paper_only,
            "opts": self.model._meta,
        }
        context["rate_tables"] = [
            (_("種別ごとの回答率"), _("種別"), context["by_type"]),
            (_("地区ごとの回答率"), _("地区"), context["by_district"]),
        ]
        return TemplateResponse(request, "admin/surveys/dashboard.html", context)

    def nonrespondents_csv(self, request, pk):
        survey_round = self._round(request, pk)
        # The survey contact only for staff with its permission (区職員（閲覧） gets the rest).
        contact = Provider.may_see_private_contact(request.user)
        headers = [
            _("事業所ID"), _("名称"), _("種別"), _("地区"), _("電話"), _("FAX"),
            *((_("担当者"), _("連絡用電話"), _("連絡用メール")) if contact else ()),
            _("公開メール"), _("案内メール送信"), _("初めて開いた日時"),
        ]
        invitations = selectors.non_respondents(survey_round, paper_only=request.GET.get("paper") == "1")
        rows = (
            (
                inv.provider.pk, inv.provider.name, inv.provider.provider_type.name,
                inv.provider.area.name if inv.provider.area else "", inv.provider.phone,
                inv.provider.fax,
                *((inv.provider.contact_person, inv.provider.contact_phone,
                   inv.provider.contact_email) if contact else ()),
                inv.provider.email,
                timezone.localtime(inv.emailed_at).strftime("%Y-%m-%d") if inv.emailed_at else "",
                timezone.localtime(inv.opened_at).strftime("%Y-%m-%d %H:%M") if inv.opened_at else "",
            )
            for inv in invitations.iterator(chunk_size=500)
        )
        response = HttpResponse(formats.write_csv(headers, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="nonrespondents-{survey_round.pk}.csv"'
        return response

    # -- letters --------------------------------------------------------------------------

    def letters_view(self, request, pk):
        survey_round = self._round(request, pk)
        can_make = self.has_letters_permission(request)
        if request.method == "POST":
            if not can_make:
                raise PermissionDenied
            letters.start_letters(
                survey_round, user=request.user,
                only_unanswered=request.POST.get("only_unanswered") == "1",
            )
            self.message_user(request, _("案内状PDFの作成を始めました。このページで進み具合を確かめられます。"))
            return HttpResponseRedirect(request.path)
        jobs = list(Job.objects.filter(
            kind=letters.LETTERS_KIND, scope=letters.round_scope(survey_round.pk),
        ).select_related("requested_by")[:20])
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(round)s の案内状") % {"round": survey_round},
            "survey_round": survey_round,
            "jobs": jobs,
            "can_make": can_make,
            "running": any(j.is_active for j in jobs),
            "opts": self.model._meta,
            "command": f"python manage.py survey_letters --round {survey_round.pk}",
        }
        return TemplateResponse(request, "admin/surveys/letters.html", context)


# ---------------------------------------------------------------------------------------------
# Invitations


class AnsweredFilter(admin.SimpleListFilter):
    title = gettext_lazy("回答")
    parameter_name = "answered"

    def lookups(self, request, model_admin):
        return (("yes", _("回答あり")), ("no", _("未回答")), ("paper", _("未回答・メールなし")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return selectors.answered(queryset)
        if self.value() in ("no", "paper"):
            return selectors.unanswered(queryset, paper_only=self.value() == "paper")
        return queryset


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("provider", "survey_round", "answer", "emailed_at", "opened_at", "revoked_at", "enter_link")
    list_filter = ("survey_round", AnsweredFilter, "provider__provider_type", "provider__area__parent")
    search_fields = ("provider__name", "provider__kana", "provider__phone")
    list_select_related = ("provider", "survey_round", "response")
    readonly_fields = ("survey_round", "provider", "issued_at", "reissue_count", "opened_at",
                       "emailed_at", "reminded_at", "letter_printed_at", "revoked_at")
    fields = readonly_fields
    actions = ["letters_pdf", "email_selected", "reissue_selected", "revoke_selected"]
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    @admin.display(description=gettext_lazy("回答"))
    def answer(self, obj):
        response = getattr(obj, "response", None)
        return response.get_status_display() if response else "—"

    @admin.display(description=gettext_lazy("代理入力"))
    def enter_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:surveys_invitation_enter", args=[obj.pk]),
                           _("紙・FAXの回答を入力"))

    def get_urls(self):
        return [
            path("<id:pk>/enter/", self.admin_site.admin_view(self.enter_view), name="surveys_invitation_enter"),
        ] + super().get_urls()

    def enter_view(self, request, pk):
        if not self.has_change_permission(request):
            raise PermissionDenied
        invitation = get_object_or_404(
            Invitation.objects.select_related("survey_round", "provider", "provider__provider_type"), pk=pk
        )
        response = views.survey_form_page(request, invitation, staff_user=request.user)
        response["X-Robots-Tag"] = "noindex"
        return response

    @admin.action(description=gettext_lazy("選んだ事業所の案内状PDF"), permissions=["letters"])
    def letters_pdf(self, request, queryset):
        rounds = set(queryset.values_list("survey_round_id", flat=True))
        if len(rounds) != 1:
            self.message_user(request, _("案内状は1つの調査ごとに作ってください。"), messages.ERROR)
            return None
        survey_round = SurveyRound.objects.get(pk=rounds.pop())
        letters.start_letters(survey_round, user=request.user,
                              invitation_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("案内状PDFの作成を始めました。このページで進み具合を確かめられます。"))
        return HttpResponseRedirect(reverse("admin:surveys_surveyround_letters", args=[survey_round.pk]))

    @admin.action(description=gettext_lazy("選んだ事業所に案内メールを送る"), permissions=["letters"])
    def email_selected(self, request, queryset):
        by_round: dict[int, list[int]] = {}
        for pk, round_id in queryset.values_list("pk", "survey_round_id"):
            by_round.setdefault(round_id, []).append(pk)
        for survey_round in SurveyRound.objects.filter(pk__in=by_round):
            emails.start_round_emails(survey_round, which="invitations", user=request.user,
                                      invitation_ids=by_round[survey_round.pk])
        self.message_user(request, _("メールの送信を始めました。進み具合と結果は「バックグラウンド処理」と「送信メール」で確かめられます。"))

    def has_letters_permission(self, request, obj=None) -> bool:
        return runner.can_use(request.user, letters.LETTERS_KIND)

    @admin.action(description=gettext_lazy("リンクとコードを再発行する（古いものは使えなくなります）"), permissions=["change"])
    def reissue_selected(self, request, queryset):
        for invitation in queryset:
            services.reissue(invitation=invitation)
        self.message_user(request, _("%(n)s 件を再発行しました。案内状を印刷し直してください。") % {"n": queryset.count()})

    @admin.action(description=gettext_lazy("リンクとコードを無効にする"), permissions=["change"])
    def revoke_selected(self, request, queryset):
        for invitation in queryset:
            services.revoke(invitation=invitation)
        self.message_user(request, _("%(n)s 件を無効にしました。") % {"n": queryset.count()})


# ---------------------------------------------------------------------------------------------
# Review queue


class ResponseKindFilter(admin.SimpleListFilter):
    title = gettext_lazy("種類")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return Response.Kind.choices + [("staff", _("職員の代理入力"))]

    def queryset(self, request, queryset):
        if self.value() in Response.Kind.values:
            return queryset.filter(kind=self.value())
        if self.value() == "staff":
            return queryset.filter(entered_by__isnull=False)
        return queryset


@admin.register(Response)
class ResponseAdmin(GuardedLookupsMixin, NoAddNoDeleteMixin, admin.ModelAdmin):
    # The answer (and the page it was given) holds the survey contact; so does who answered.
    private_lookups = ("proposed", "snapshot", "respondent_name", "respondent_email")
    list_display = ("provider", "provider_type", "district", "survey_round", "status", "kind",
                    "submitted_at", "entered_by")
    list_filter = ("status", "survey_round", ResponseKindFilter, "provider__provider_type",
                   "provider__area__parent", "provider__area")
    search_fields = ("provider__name", "provider__kana")
    list_select_related = ("provider", "provider__provider_type", "provider__area", "survey_round", "entered_by")
    actions = ["approve_no_change"]
    list_per_page = 100

    @admin.display(description=gettext_lazy("種別"), ordering="provider__provider_type__sort_order")
    def provider_type(self, obj):
        return obj.provider.provider_type.name

    @admin.display(description=gettext_lazy("地区"), ordering="provider__area__sort_order")
    def district(self, obj):
        return obj.provider.area.name if obj.provider.area else "—"

    @admin.action(description=gettext_lazy("「変更なし」の回答をまとめて承認する"), permissions=["change"])
    def approve_no_change(self, request, queryset):
        approved, skipped = services.bulk_approve_no_change(queryset, user=request.user)
        self.message_user(request, ngettext(
            "%(n)s 件を承認しました（対象外 %(s)s 件）。", "%(n)s 件を承認しました（対象外 %(s)s 件）。", approved,
        ) % {"n": approved, "s": skipped})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.review_view(request, object_id)

    def review_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if positive_id(object_id) is None:  # the id comes from the URL as text
            raise Http404
        response = get_object_or_404(
            Response.objects.select_related("survey_round", "provider", "provider__provider_type",
                                            "invitation", "entered_by", "reviewed_by"),
            pk=positive_id(object_id),
        )
        errors: list[str] = []
        can_change = self.has_change_permission(request, response)
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            action = request.POST.get("action")
            note = (request.POST.get("review_note") or "").strip()
            # The provider version this page showed: what others saved after it is not undone.
            version = request.POST.get("provider_version") or ""
            base_version = int(version) if version.isdigit() and len(version) < 10 else None
            try:
                # A "no change" answer only confirms the record: no field to compare.
                if action in ("approve", "approve_all") and base_version is None and services.changed_rows(response):
                    raise ValidationError(_("この画面は古くなっています。開き直してから承認してください。"))
                if action == "approve":
                    services.approve_response(response=response, keys=request.POST.getlist("keys"),
                                              user=request.user, note=note, base_version=base_version)
                elif action == "approve_all":
                    services.approve_response(response=response, keys=None, user=request.user, note=note,
                                              base_version=base_version)
                elif action == "reject":
                    if not note:
                        raise ValidationError(_("差し戻しの理由を書いてください（事業所に伝わります）。"))
                    services.reject_response(response=response, user=request.user, note=note)
                else:
                    raise ValidationError(_("操作を選んでください。"))
            except services.ResponseLocked:
                errors.append(_("この回答は確認済みです。"))
            except provider_service.ProviderConflict as error:
                errors.extend(error.lines())
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for key, msgs in error.message_dict.items():
                        label = FIELD_LABELS.get(key, key)
                        errors.extend(f"{label}: {m}" for m in msgs)
                else:
                    errors.extend(error.messages)
            else:
                response.refresh_from_db()
                emails.send_review_result(response)
                self.message_user(request, _("%(obj)s を「%(status)s」にしました。")
                                  % {"obj": response, "status": response.get_status_display()})
                return HttpResponseRedirect(self._next_url(response))
        elif can_change:
            services.mark_in_review(response)
        rows = services.diff_rows(response)
        contact = Provider.may_see_private_contact(request.user)
        if not contact:  # the survey contact (and who answered) only with its permission
            rows = [row for row in rows if row.key not in Provider.PRIVATE_FIELDS]
        provider = response.provider
        history = ProviderChange.objects.filter(provider=provider).select_related("user")[:20]
        other_responses = (
            Response.objects.filter(provider=provider).exclude(pk=response.pk).select_related("survey_round")
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("回答の確認: %(provider)s") % {"provider": provider},
            "response": response,
            "provider": provider,
            "rows": rows,
            "changed_rows": [r for r in rows if r.changed],
            "conflicts": [r for r in rows if r.conflict],
            "errors": errors,
            "history": history,
            "other_responses": other_responses,
            "can_change": can_change and not response.is_reviewed,
            "show_contact": contact,
            "opts": self.model._meta,
            "original": response,
        }
        return TemplateResponse(request, "admin/surveys/review.html", context)

    def _next_url(self, response: Response) -> str:
        nxt = (
            Response.objects.filter(survey_round=response.survey_round, status=Response.Status.NEW)
            .order_by("submitted_at").first()
        )
        if nxt:
            return reverse("admin:surveys_response_change", args=[nxt.pk])
        return reverse("admin:surveys_response_changelist")


# ---------------------------------------------------------------------------------------------
# New registrations and corrections


@admin.register(Registration)
class RegistrationAdmin(ContactFieldsMixin, admin.ModelAdmin):
    list_display = ("provider", "provider_type", "status", "applicant_name", "created_at", "edit_provider")
    list_filter = ("status", "provider__provider_type")
    list_select_related = ("provider", "provider__provider_type")
    readonly_fields = ("provider", "applicant_name", "applicant_email", "applicant_phone", "comment",
                       "created_at", "status", "reviewed_by", "reviewed_at")
    fields = readonly_fields + ("review_note",)
    actions = ["approve", "reject"]
    # The applicant is the new office's survey contact: shown with that permission only.
    contact_fields = ("applicant_name", "applicant_email", "applicant_phone")

    def has_add_permission(self, request):
        return False

    @admin.display(description=gettext_lazy("種別"))
    def provider_type(self, obj):
        return obj.provider.provider_type.name

    @admin.display(description=gettext_lazy("事業所の編集"))
    def edit_provider(self, obj):
        try:
            url = reverse("admin:resourcemap_provider_change", args=[obj.provider_id])
        except Exception:  # noqa: BLE001 - provider admin not registered
            return "—"
        return format_html('<a href="{}">{}</a>', url, _("内容を直す"))

    @admin.action(description=gettext_lazy("承認して地図に公開する"), permissions=["change"])
    def approve(self, request, queryset):
        done = 0
        for registration in queryset.filter(status=Registration.Status.NEW).select_related("provider"):
            try:
                services.approve_registration(registration=registration, user=request.user)
            except services.RegistrationReviewed:
                continue  # another staff member was quicker
            except provider_service.ProviderConflict as error:
                self.message_user(request, f"{registration.provider}: {' '.join(error.lines())}", messages.ERROR)
                continue
            except ValidationError as error:
                self.message_user(request, f"{registration.provider}: {'; '.join(error.messages)}", messages.ERROR)
                continue
            done += 1
        self.message_user(request, _("%(n)s 件を公開しました。") % {"n": done})

    @admin.action(description=gettext_lazy("却下する（公開しない）"), permissions=["change"])
    def reject(self, request, queryset):
        n = services.reject_registrations(registrations=queryset, user=request.user)
        self.message_user(request, _("%(n)s 件を却下しました。") % {"n": n})


@admin.register(Correction)
class CorrectionAdmin(ContactFieldsMixin, admin.ModelAdmin):
    list_display = ("provider", "short_message", "status", "created_at", "resolved_by")
    list_filter = ("status",)
    search_fields = ("provider__name", "message")
    list_select_related = ("provider", "resolved_by")
    readonly_fields = ("provider", "message", "reporter_name", "reporter_contact", "created_at",
                       "status", "resolved_by", "resolved_at")
    fields = readonly_fields + ("staff_note",)
    actions = ["resolve", "send_survey_link"]
    # A resident's or provider's own contact, left with the report: like the survey contact.
    contact_fields = ("reporter_name", "reporter_contact")

    def has_add_permission(self, request):
        return False

    @admin.display(description=gettext_lazy("内容"))
    def short_message(self, obj):
        return obj.message[:60]

    @admin.action(description=gettext_lazy("対応済みにする"), permissions=["change"])
    def resolve(self, request, queryset):
        n = services.resolve_corrections(corrections=queryset, user=request.user)
        self.message_user(request, _("%(n)s 件を対応済みにしました。") % {"n": n})

    @admin.action(description=gettext_lazy("事業所に調査のリンクを送る（実施中の調査）"), permissions=["change"])
    def send_survey_link(self, request, queryset):
        survey_round = selectors.current_round()
        if survey_round is None:
            self.message_user(request, _("実施中の調査がありません。先に調査を作ってください。"), messages.ERROR)
            return
        sent = no_mail = 0
        for correction in queryset.select_related("provider"):
            invitation = services.invite_for_correction(
                correction=correction, survey_round=survey_round, user=request.user
            )
            ok, _skipped = emails.send_invitations(Invitation.objects.filter(pk=invitation.pk))
            sent += ok
            no_mail += 1 - ok
        self.message_user(request, _("%(sent)s 件にメールを送りました。メールのない %(n)s 件は「調査の案内」から案内状を印刷してください。")
                          % {"sent": sent, "n": no_mail})
