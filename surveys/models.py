"""The yearly provider survey: rounds, invitations, responses, registrations, corrections.

A response is a stored proposal. Only staff approval changes a provider, through
``resourcemap.providers`` (see ``surveys.services``).
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from resourcemap.models import Capability, Provider, ProviderType, staff_user_field
from resourcemap.providers import FIELD_LABELS as PROVIDER_FIELD_LABELS

# Keys a round can ask about. "location" stands for latitude + longitude together; the last
# three are the related data handled by the write path.
FIELD_KEYS = (
    "name", "kana", "postal_code", "address", "building", "location", "phone", "fax",
    "website", "email", "contact_person", "contact_email", "contact_phone", "notes",
    "hours_unknown", "hours_note", "status", "capabilities", "opening_periods",
    "hours_exceptions",
)
# How a round's form and the review page name each key: the write path's labels, except the
# pin (two fields shown as one) and the status (asked as a question).
FIELD_LABELS = {
    key: {"location": _("地図の位置"), "status": _("運営の状況")}.get(key) or PROVIDER_FIELD_LABELS[key]
    for key in FIELD_KEYS
}


def default_fields() -> list[str]:
    return list(FIELD_KEYS)


class SurveyRound(models.Model):
    name = models.CharField(
        _("調査の名前"), max_length=100, help_text=_("例: 令和8年度 在宅療養資源調査")
    )
    opens_on = models.DateField(_("開始日"))
    closes_on = models.DateField(
        _("締切日"), help_text=_("この日の終わりまで回答できます。翌日からリンクは使えません。")
    )
    intro = models.TextField(
        _("ごあいさつ"), blank=True, help_text=_("回答画面と案内状の最初に表示する文章。")
    )
    provider_types = models.ManyToManyField(
        ProviderType, verbose_name=_("対象の種別"), related_name="survey_rounds"
    )
    fields = models.JSONField(
        _("たずねる項目"), default=default_fields, blank=True,
        help_text=_("空なら全項目。項目の名前の一覧（例: phone, fax, capabilities）。"),
    )
    capabilities = models.ManyToManyField(
        Capability, verbose_name=_("たずねる対応項目"), blank=True, related_name="+",
        help_text=_("空なら、それぞれの種別に当てはまる項目をすべてたずねます。"),
    )
    issued_at = models.DateTimeField(_("発行日時"), null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("調査")
        verbose_name_plural = _("調査")
        ordering = ["-opens_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="surveyround_dates_ordered", condition=Q(closes_on__gte=models.F("opens_on")),
                violation_error_message=_("締切日は開始日と同じかそれより後にしてください。"),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def asked_keys(self) -> list[str]:
        chosen = set(self.fields or FIELD_KEYS)
        return [key for key in FIELD_KEYS if key in chosen]

    def is_open(self, today: dt.date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.opens_on <= today <= self.closes_on

    def has_closed(self, today: dt.date | None = None) -> bool:
        return (today or timezone.localdate()) > self.closes_on


class Invitation(models.Model):
    """One provider's personal way into a round: a secret link and a short access code.

    Only hashes are stored. The link and code are derived with HMAC from ``nonce`` and the
    SECRET_KEY (see ``surveys.tokens``), so letters can be reprinted; changing the nonce
    (re-issue) revokes the old link and code.
    """

    survey_round = models.ForeignKey(
        SurveyRound, verbose_name=_("調査"), on_delete=models.CASCADE, related_name="invitations"
    )
    provider = models.ForeignKey(
        Provider, verbose_name=_("事業所"), on_delete=models.CASCADE, related_name="survey_invitations"
    )
    nonce = models.CharField(max_length=64, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    revoked_at = models.DateTimeField(_("無効にした日時"), null=True, blank=True)
    issued_at = models.DateTimeField(_("発行日時"), default=timezone.now)
    reissue_count = models.PositiveSmallIntegerField(_("再発行の回数"), default=0)
    opened_at = models.DateTimeField(_("初めて開いた日時"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("メール送信日時"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("催促メール送信日時"), null=True, blank=True)
    letter_printed_at = models.DateTimeField(_("案内状の印刷日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("調査の案内")
        verbose_name_plural = _("調査の案内")
        ordering = ["survey_round", "provider__kana", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey_round", "provider"], name="invitation_unique_per_round"
            )
        ]

    def __str__(self) -> str:
        return f"{self.survey_round} / {self.provider}"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.survey_round.has_closed()


class Response(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("新着")
        IN_REVIEW = "in_review", _("確認中")
        APPROVED = "approved", _("承認")
        PARTLY = "partly", _("一部承認")
        REJECTED = "rejected", _("差し戻し")

    class Kind(models.TextChoices):
        NO_CHANGE = "no_change", _("変更なし")
        UPDATE = "update", _("変更あり")

    REVIEWED = (Status.APPROVED, Status.PARTLY, Status.REJECTED)

    invitation = models.OneToOneField(
        Invitation, verbose_name=_("案内"), on_delete=models.CASCADE, related_name="response"
    )
    survey_round = models.ForeignKey(
        SurveyRound, verbose_name=_("調査"), on_delete=models.CASCADE, related_name="responses"
    )
    provider = models.ForeignKey(
        Provider, verbose_name=_("事業所"), on_delete=models.CASCADE, related_name="survey_responses"
    )
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.NEW, db_index=True
    )
    kind = models.CharField(_("回答の種類"), max_length=10, choices=Kind.choices)
    proposed = models.JSONField(_("回答内容"), default=dict)
    snapshot = models.JSONField(
        _("回答者に表示した内容"), default=dict,
        help_text=_("回答画面を開いたときの登録内容。承認前に変わっていれば警告します。"),
    )
    comment = models.TextField(_("ご意見・連絡"), blank=True)
    closure_note = models.CharField(_("休止・廃止の時期など"), max_length=200, blank=True)
    respondent_name = models.CharField(_("回答者のお名前"), max_length=60, blank=True)
    respondent_email = models.EmailField(_("受付メールの送り先"), blank=True)
    entered_by = staff_user_field(_("代理入力した職員"), help_text=_("紙・FAXの回答を職員が入力したとき。"))
    submitted_at = models.DateTimeField(_("回答日時"), default=timezone.now)
    revised_count = models.PositiveSmallIntegerField(_("修正の回数"), default=0)
    reviewed_by = staff_user_field(_("確認した職員"))
    reviewed_at = models.DateTimeField(_("確認日時"), null=True, blank=True)
    approved_keys = models.JSONField(_("承認した項目"), default=list, blank=True)
    review_note = models.TextField(
        _("事業所へのメッセージ"), blank=True, help_text=_("差し戻しの理由など。事業所に伝わります。")
    )

    class Meta:
        verbose_name = _("調査の回答")
        verbose_name_plural = _("調査の回答")
        ordering = ["-submitted_at", "-pk"]
        indexes = [models.Index(fields=["survey_round", "status"])]

    def __str__(self) -> str:
        return _("%(provider)s の回答 #%(pk)s") % {"provider": self.provider, "pk": self.pk}

    @property
    def is_reviewed(self) -> bool:
        return self.status in self.REVIEWED


class Registration(models.Model):
    """A newly opened office registered itself; it points at the pending provider created."""

    class Status(models.TextChoices):
        NEW = "new", _("新着")
        APPROVED = "approved", _("承認（公開）")
        REJECTED = "rejected", _("却下")

    provider = models.OneToOneField(
        Provider, verbose_name=_("事業所（確認待ち）"), on_delete=models.CASCADE,
        related_name="registration",
    )
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.NEW, db_index=True
    )
    applicant_name = models.CharField(_("申込者のお名前"), max_length=60)
    applicant_email = models.EmailField(_("申込者のメール"), blank=True)
    applicant_phone = models.CharField(_("申込者の電話"), max_length=20, blank=True)
    comment = models.TextField(_("担当者への連絡"), blank=True)
    created_at = models.DateTimeField(_("受付日時"), auto_now_add=True)
    reviewed_by = staff_user_field(_("確認した職員"))
    reviewed_at = models.DateTimeField(_("確認日時"), null=True, blank=True)
    review_note = models.TextField(_("職員メモ"), blank=True)

    class Meta:
        verbose_name = _("新規登録の申込")
        verbose_name_plural = _("新規登録の申込")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return str(self.provider)


class Correction(models.Model):
    """"情報の誤りを知らせる" from a provider page."""

    class Status(models.TextChoices):
        NEW = "new", _("新着")
        INVITED = "invited", _("事業所に調査を依頼")
        RESOLVED = "resolved", _("対応済み")

    provider = models.ForeignKey(
        Provider, verbose_name=_("事業所"), on_delete=models.CASCADE, related_name="corrections"
    )
    message = models.TextField(_("まちがっている内容"), max_length=2000)
    reporter_name = models.CharField(_("お名前（任意）"), max_length=60, blank=True)
    reporter_contact = models.CharField(_("連絡先（任意）"), max_length=120, blank=True)
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.NEW, db_index=True
    )
    created_at = models.DateTimeField(_("受付日時"), auto_now_add=True)
    resolved_by = staff_user_field(_("対応した職員"))
    resolved_at = models.DateTimeField(_("対応日時"), null=True, blank=True)
    staff_note = models.TextField(_("職員メモ"), blank=True)

    class Meta:
        verbose_name = _("誤りの報告")
        verbose_name_plural = _("誤りの報告")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.provider} {self.created_at:%Y-%m-%d}"
