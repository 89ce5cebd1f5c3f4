"""Reference data (municipality, areas, types, capabilities), providers, hours and history.

Writes to providers go through ``resourcemap.providers``; nothing here has side effects in
``save()`` or signals (``Provider.save()`` only refreshes its derived search column).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import RegexValidator
from django.db import connections, models, router
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import folding, geo
from .hours import period_error
from .language import english

postal_code_validator = RegexValidator(
    r"^\d{3}-\d{4}$", _("郵便番号は「123-4567」の形で入力してください。")
)
phone_validator = RegexValidator(
    r"^0\d{1,4}-\d{1,4}-\d{3,4}$",
    _("電話・FAX番号は「03-1234-5678」のように、ハイフン付きの半角数字で入力してください。"),
)
municipality_code_validator = RegexValidator(
    r"^\d{6}$", _("全国地方公共団体コードは6桁の数字です。")
)
medical_code_validator = RegexValidator(r"^\d{7,10}$", _("医療機関コードは7〜10桁の数字です。"))
care_code_validator = RegexValidator(r"^\d{10}$", _("介護保険事業所番号は10桁の数字です。"))
corporate_number_validator = RegexValidator(r"^\d{13}$", _("法人番号は13桁の数字です。"))
code_validator = RegexValidator(
    r"^[a-z0-9_]+$", _("コードは半角英小文字・数字・アンダースコアで入力してください。")
)


def staff_user_field(verbose_name, **options) -> models.ForeignKey:
    """The staff member who did something to a row; kept as empty when that account is deleted."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=verbose_name, null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+", **options,
    )


_PINNED_MUNICIPALITY: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("pinned_municipality", default=None)


class LocalizedNameMixin:
    """``display_name`` picks the English name when the active language is English."""

    @property
    def display_name(self) -> str:
        if english() and getattr(self, "name_en", ""):
            return self.name_en
        return self.name


class Municipality(LocalizedNameMixin, models.Model):
    code = models.CharField(
        _("全国地方公共団体コード"), max_length=6, unique=True,
        validators=[municipality_code_validator],
        help_text=_("6桁（検査数字付き）。manage.py start_reference が計算します。"),
    )
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("名称（英語）"), max_length=80, blank=True)
    prefecture = models.CharField(_("都道府県"), max_length=10)
    map_title = models.CharField(_("マップの名称"), max_length=80, default="在宅療養資源マップ")
    map_title_en = models.CharField(_("マップの名称（英語）"), max_length=120, blank=True)
    center_lat = models.DecimalField(_("地図の中心（緯度）"), max_digits=9, decimal_places=6)
    center_lng = models.DecimalField(_("地図の中心（経度）"), max_digits=9, decimal_places=6)
    zoom = models.PositiveSmallIntegerField(_("地図の初期ズーム"), default=13)
    min_lat = models.DecimalField(_("区域の南端（緯度）"), max_digits=9, decimal_places=6)
    max_lat = models.DecimalField(_("区域の北端（緯度）"), max_digits=9, decimal_places=6)
    min_lng = models.DecimalField(_("区域の西端（経度）"), max_digits=9, decimal_places=6)
    max_lng = models.DecimalField(_("区域の東端（経度）"), max_digits=9, decimal_places=6)
    boundary = models.JSONField(
        _("区域の境界"), default=list, blank=True,
        help_text=_("[[緯度, 経度], …] の多角形（おおよそで可）。空なら南北東西端の四角で判定します。"),
    )
    contact_department = models.CharField(_("問い合わせ先（担当課）"), max_length=100)
    contact_phone = models.CharField(_("問い合わせ先電話"), max_length=20, blank=True)
    contact_fax = models.CharField(_("問い合わせ先FAX"), max_length=20, blank=True)
    contact_email = models.EmailField(_("問い合わせ先メール"), blank=True)
    data_license = models.CharField(
        _("公開データのライセンス"), max_length=100, default="CC BY 4.0"
    )
    # Words that differ between municipalities (shown on public and staff pages).
    district_label = models.CharField(
        _("地区の呼び名"), max_length=60, default="地区",
        help_text=_("地図の絞り込みに出る名前（例: 地区、日常生活圏域）。"),
    )
    district_label_en = models.CharField(_("地区の呼び名（英語）"), max_length=80, blank=True)
    place_examples = models.CharField(
        _("場所の例"), max_length=120, blank=True,
        help_text=_("「近くの場所」の入力例（地区名、町名と丁目、駅名などを「、」で区切って）。"),
    )
    place_examples_en = models.CharField(_("場所の例（英語）"), max_length=160, blank=True)
    staff_title = models.CharField(
        _("職員の呼び名"), max_length=30, default="職員", help_text=_("管理画面の「○○メニュー」と職員グループの名前に使います（例: 市職員、町職員）。")
    )
    staff_title_en = models.CharField(_("職員の呼び名（英語）"), max_length=40, blank=True)
    office_name = models.CharField(
        _("担当者の呼び名"), max_length=40, default="担当者",
        help_text=_("住民・事業所向けの文に出る名前（例: 市の担当者、町の担当者）。"),
    )
    office_name_en = models.CharField(_("担当者の呼び名（英語）"), max_length=60, blank=True)
    geometry_derived = models.BooleanField(
        _("地図の範囲を事業所から計算"), default=False,
        help_text=_("参照ファイルに地図の中心・範囲がないとき、取り込んだ事業所の位置から計算し直します。"),
    )

    class Meta:
        verbose_name = _("自治体")
        verbose_name_plural = _("自治体")

    def __str__(self) -> str:
        return f"{self.prefecture}{self.name}"

    @property
    def display_map_title(self) -> str:
        if english() and self.map_title_en:
            return self.map_title_en
        return self.map_title

    def _localized(self, name: str) -> str:
        if english() and getattr(self, f"{name}_en"):
            return getattr(self, f"{name}_en")
        return getattr(self, name)

    @property
    def display_district_label(self) -> str:
        return self._localized("district_label")

    @property
    def display_place_examples(self) -> str:
        return self._localized("place_examples")

    @property
    def display_staff_title(self) -> str:
        return self._localized("staff_title")

    @property
    def display_office_name(self) -> str:
        return self._localized("office_name")

    @classmethod
    @contextlib.contextmanager
    def pinned(cls):
        """Within the block, ``current()`` answers without a query (e.g. a 5,000-row import
        validating each provider against the municipality's area)."""
        token = _PINNED_MUNICIPALITY.set((cls.current(),))
        try:
            yield _PINNED_MUNICIPALITY.get()[0]
        finally:
            _PINNED_MUNICIPALITY.reset(token)

    @classmethod
    def current(cls) -> Municipality | None:
        """The municipality this deployment serves.

        ``MUNICIPALITY_CODE`` (setting / environment variable) chooses it explicitly; without
        it the only row is used. Several rows and no setting is a configuration error, never
        a silent choice of the first one.
        """
        pinned = _PINNED_MUNICIPALITY.get()
        if pinned is not None:
            return pinned[0]
        code = getattr(settings, "MUNICIPALITY_CODE", "")
        if code:
            found = cls.objects.filter(code=code).first()
            if found is None and cls.objects.exists():
                raise ImproperlyConfigured(
                    f"MUNICIPALITY_CODE={code} is not loaded; run manage.py load_reference with its file."
                )
            return found
        rows = list(cls.objects.order_by("pk")[:2])
        if len(rows) > 1:
            raise ImproperlyConfigured(
                "Several municipalities are loaded: set MUNICIPALITY_CODE to the one this site serves."
            )
        return rows[0] if rows else None

    def contains(self, lat: float | Decimal, lng: float | Decimal) -> bool:
        lat, lng = float(lat), float(lng)
        if self.geometry_derived:
            # Bounds derived from the providers imported so far are a map view, not the
            # municipality's extent: only a boundary polygon given in the reference file decides.
            if self.boundary and len(self.boundary) >= 3:
                return geo.point_in_polygon(lat, lng, self.boundary)
            return True
        if not (
            float(self.min_lat) <= lat <= float(self.max_lat)
            and float(self.min_lng) <= lng <= float(self.max_lng)
        ):
            return False
        if self.boundary and len(self.boundary) >= 3:
            return geo.point_in_polygon(lat, lng, self.boundary)
        return True  # no outline (yet): the bounding box is the municipality


class Area(LocalizedNameMixin, models.Model):
    """A 地域 (region) or a 地区 (district, the まちづくりセンター area) inside a region."""

    class Level(models.TextChoices):
        REGION = "region", _("地域")
        DISTRICT = "district", _("地区")

    code = models.CharField(_("コード"), max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(_("名称"), max_length=40)
    name_en = models.CharField(_("名称（英語）"), max_length=60, blank=True)
    kana = models.CharField(_("よみがな"), max_length=60, blank=True)
    level = models.CharField(_("区分"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("地域"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="districts", limit_choices_to={"level": Level.REGION},
    )
    center_lat = models.DecimalField(_("中心（緯度）"), max_digits=9, decimal_places=6)
    center_lng = models.DecimalField(_("中心（経度）"), max_digits=9, decimal_places=6)
    center_derived = models.BooleanField(
        _("中心を事業所から計算"), default=False,
        help_text=_("参照ファイルに中心がないとき、この地区の事業所の位置から計算し直します。"),
    )
    sort_order = models.PositiveSmallIntegerField(_("並び順"), default=0)

    class Meta:
        verbose_name = _("地域・地区")
        verbose_name_plural = _("地域・地区")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                name="area_district_has_parent",
                condition=Q(level="region", parent__isnull=True)
                | Q(level="district", parent__isnull=False),
            )
        ]

    def __str__(self) -> str:
        if self.level == self.Level.DISTRICT:
            return f"{self.name}地区"
        return f"{self.name}地域"

    @property
    def region(self) -> Area:
        return self.parent if self.level == self.Level.DISTRICT else self


class ProviderType(LocalizedNameMixin, models.Model):
    class Group(models.TextChoices):
        MEDICAL = "medical", _("医療")
        CARE = "care", _("介護")
        CONSULT = "consult", _("相談窓口")

    class Shape(models.TextChoices):
        CIRCLE = "circle", _("丸")
        SQUARE = "square", _("四角")
        TRIANGLE = "triangle", _("三角")
        DIAMOND = "diamond", _("ひし形")
        PENTAGON = "pentagon", _("五角形")
        HEXAGON = "hexagon", _("六角形")
        STAR = "star", _("星")
        CROSS = "cross", _("十字")
        HEART = "heart", _("ハート")
        SHIELD = "shield", _("盾")
        HOUSE = "house", _("家")

    code = models.CharField(_("コード"), max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(_("名称（英語）"), max_length=80, blank=True)
    short_name = models.CharField(
        _("略号"), max_length=2, help_text=_("地図の目印に表示する1文字（例: 病、薬）。")
    )
    group = models.CharField(_("分類"), max_length=10, choices=Group.choices)
    color = models.CharField(
        _("地図の色"), max_length=7, default="#1f5fa8",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("色は #RRGGBB で入力してください。"))],
    )
    shape = models.CharField(_("目印の形"), max_length=10, choices=Shape.choices)
    sort_order = models.PositiveSmallIntegerField(_("並び順"), default=0)
    service_code = models.CharField(
        _("介護サービスコード"), max_length=3, blank=True,
        help_text=_("介護サービス情報公表システムのサービスコード（例: 130 訪問看護）。"),
    )
    medical_kinds = models.CharField(
        _("医療機関の種類（取込用）"), max_length=100, blank=True,
        help_text=_("オープンデータの「医療機関の種類」でこの種別に当たる値（; 区切り）。"),
    )
    import_names = models.TextField(
        _("取込で同じとみなす名前"), blank=True,
        help_text=_(
            "公開データのサービス名・種類名のうち、この種別に当たるもの（; 区切り、例: 訪問看護;介護予防訪問看護）。"
            "全角・半角、空白、かっこ書き、末尾の「事業所」の違いは自動でそろえます。"
        ),
    )

    class Meta:
        verbose_name = _("事業所の種別")
        verbose_name_plural = _("事業所の種別")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Capability(LocalizedNameMixin, models.Model):
    code = models.CharField(_("コード"), max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(_("名称（英語）"), max_length=80, blank=True)
    short_name = models.CharField(_("略称（印刷の列見出し）"), max_length=12, blank=True)
    description = models.TextField(_("住民向けの説明"), blank=True)
    description_en = models.TextField(_("住民向けの説明（英語）"), blank=True)
    provider_types = models.ManyToManyField(
        ProviderType, verbose_name=_("対象の種別"), related_name="capabilities", blank=True
    )
    has_count = models.BooleanField(_("件数を持つ"), default=False)
    count_label = models.CharField(
        _("件数の名前"), max_length=40, blank=True, help_text=_("例: 看取り件数（年間）")
    )
    count_label_en = models.CharField(_("件数の名前（英語）"), max_length=60, blank=True)
    after_hours = models.CharField(
        _("営業時間外の連絡"),
        max_length=10,
        blank=True,
        default="",
        choices=[
            ("", _("なし（営業時間内だけ）")),
            ("always", _("24時間いつでも連絡できる")),
            ("night", _("夜間・日曜・祝日は電話で連絡できる")),
        ],
        help_text=_(
            "この対応がある事業所は、営業時間外でも「夜間・休日」や「曜日と時刻」の検索に出て、"
            "一覧に連絡のしかたが表示されます。"
        ),
    )
    sort_order = models.PositiveSmallIntegerField(_("並び順"), default=0)

    class Meta:
        verbose_name = _("対応できること")
        verbose_name_plural = _("対応できること")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def display_description(self) -> str:
        if english() and self.description_en:
            return self.description_en
        return self.description

    @property
    def display_count_label(self) -> str:
        if english() and self.count_label_en:
            return self.count_label_en
        return self.count_label


# Ids bound in one ``IN (…)`` at the most (SQLite allows 999 parameters in a statement).
ID_CHUNK = 900


class ProviderQuerySet(models.QuerySet):
    def published(self) -> ProviderQuerySet:
        """What the public may see: active or temporarily closed, never pending or closed."""
        return self.filter(status__in=Provider.PUBLIC_STATUSES)

    def data_as_of(self, ids: Iterable[int] | None = None) -> dt.date | None:
        """"Data as of": the newest 最終確認日 or update (local date) among these providers,
        or among those of ``ids`` (read in chunks: any number of ids counts)."""
        if ids is None:
            parts = [self]
        else:
            ids = list(ids)
            parts = [self.filter(pk__in=ids[i:i + ID_CHUNK]) for i in range(0, len(ids), ID_CHUNK)]
        dates = []
        for part in parts:
            stats = part.aggregate(confirmed=Max("last_confirmed_on"), updated=Max("updated_at"))
            if stats["confirmed"]:
                dates.append(stats["confirmed"])
            if stats["updated"]:
                dates.append(timezone.localdate(stats["updated"]))
        return max(dates, default=None)

    def with_related(self) -> ProviderQuerySet:
        return self.select_related("provider_type", "area", "area__parent")

    def with_capabilities(self) -> ProviderQuerySet:
        return self.prefetch_related("provider_capabilities__capability")

    def with_hours(self) -> ProviderQuerySet:
        return self.prefetch_related("opening_periods", "hours_exceptions")


class Provider(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("運営中")
        SUSPENDED = "suspended", _("休止中")
        CLOSED = "closed", _("廃止")
        PENDING = "pending", _("確認待ち（新規登録）")

    PUBLIC_STATUSES = (Status.ACTIVE, Status.SUSPENDED)

    # Fields copied into history and compared on import; order is the display order.
    TRACKED_FIELDS = (
        "name", "kana", "name_en", "provider_type", "status", "postal_code", "address",
        "building", "latitude", "longitude", "area", "phone", "fax", "website", "email",
        "contact_person", "contact_email", "contact_phone", "notes", "notes_en",
        "hours_unknown", "hours_note", "medical_code", "care_code", "corporate_number",
        "corporate_name", "last_confirmed_on", "last_confirmed_source", "is_demo",
    )
    PRIVATE_FIELDS = ("contact_person", "contact_email", "contact_phone")
    PRIVATE_CONTACT_PERMISSION = "resourcemap.access_private_contact"

    name = models.CharField(_("名称"), max_length=120)
    kana = models.CharField(
        _("よみがな"), max_length=200, help_text=_("五十音順の並べ替えと検索に使います（カタカナ）。")
    )
    name_en = models.CharField(_("名称（英語）"), max_length=200, blank=True)
    provider_type = models.ForeignKey(
        ProviderType, verbose_name=_("種別"), on_delete=models.PROTECT, related_name="providers"
    )
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )

    postal_code = models.CharField(
        _("郵便番号"), max_length=8, blank=True, validators=[postal_code_validator]
    )
    address = models.CharField(
        _("住所"), max_length=200, help_text=_("都道府県から番地まで（丁目・番地・号は「1-2-3」の形で）")
    )
    building = models.CharField(_("建物名・階"), max_length=120, blank=True)
    latitude = models.DecimalField(
        _("緯度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("経度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    area = models.ForeignKey(
        Area, verbose_name=_("地区"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="providers", limit_choices_to={"level": Area.Level.DISTRICT},
    )

    phone = models.CharField(_("電話"), max_length=20, blank=True, validators=[phone_validator])
    fax = models.CharField(_("FAX"), max_length=20, blank=True, validators=[phone_validator])
    website = models.URLField(_("ホームページ"), max_length=300, blank=True)
    email = models.EmailField(_("公開メールアドレス"), blank=True)

    contact_person = models.CharField(
        _("担当者（非公開）"), max_length=60, blank=True,
        help_text=_("調査の連絡にだけ使います。公開されません。"),
    )
    contact_email = models.EmailField(
        _("連絡用メール（非公開）"), blank=True, help_text=_("調査の案内を送ります。公開されません。")
    )
    contact_phone = models.CharField(
        _("連絡用電話（非公開）"), max_length=20, blank=True, validators=[phone_validator]
    )

    notes = models.TextField(_("住民へのお知らせ"), blank=True)
    notes_en = models.TextField(_("住民へのお知らせ（英語）"), blank=True)
    hours_unknown = models.BooleanField(
        _("営業時間不明"), default=False, help_text=_("時間が分からないときに付けます。")
    )
    hours_note = models.CharField(_("営業時間の補足"), max_length=300, blank=True)

    medical_code = models.CharField(
        _("医療機関コード"), max_length=10, blank=True, validators=[medical_code_validator]
    )
    care_code = models.CharField(
        _("介護保険事業所番号"), max_length=10, blank=True, validators=[care_code_validator]
    )
    corporate_number = models.CharField(
        _("法人番号"), max_length=13, blank=True, validators=[corporate_number_validator]
    )
    corporate_name = models.CharField(_("法人の名称"), max_length=120, blank=True)

    last_confirmed_on = models.DateField(_("最終確認日"), null=True, blank=True)
    last_confirmed_source = models.CharField(
        _("確認の方法"), max_length=200, blank=True, help_text=_("例: 令和8年度調査、職員の電話確認")
    )
    is_demo = models.BooleanField(
        _("デモデータ"), default=False, help_text=_("架空の事業所です（デモ用）。")
    )
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    # Folded name, kana, address, building and English name (``folding.search_text``), kept by
    # ``save()`` and the bulk write path; the keyword search matches it in SQL.
    search_text = models.TextField(editable=False, blank=True, default="")
    # Raised by one with every recorded change (resourcemap/providers/). A form or preview
    # sends back the version it showed, so a save based on an older version cannot silently
    # undo what someone else saved meanwhile.
    version = models.PositiveIntegerField(_("版"), default=1, editable=False)

    objects = ProviderQuerySet.as_manager()

    class Meta:
        verbose_name = _("事業所")
        verbose_name_plural = _("事業所")
        ordering = ["kana", "pk"]
        # PRIVATE_FIELDS (the survey contact) are shown and exported only with this permission;
        # 区職員（閲覧） sees and exports providers without them.
        permissions = [("access_private_contact", _("調査の連絡先（非公開）を見る・書き出す"))]
        indexes = [
            models.Index(fields=["status", "provider_type"]),
            # 地域/地区 with or without a type: one index range instead of a BitmapAnd with the
            # type's whole national list (a town's nursing stations among 36,000 in Japan).
            models.Index(fields=["area", "provider_type"], name="provider_area_type"),
            models.Index(fields=["kana"]),
            models.Index(fields=["latitude", "longitude"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["medical_code"], condition=~Q(medical_code=""),
                name="provider_unique_medical_code",
                violation_error_message=_("この医療機関コードは既に登録されています。"),
            ),
            models.UniqueConstraint(
                fields=["care_code", "provider_type"], condition=~Q(care_code=""),
                name="provider_unique_care_code_per_type",
                violation_error_message=_("この介護保険事業所番号は同じ種別で既に登録されています。"),
            ),
            models.CheckConstraint(
                name="provider_lat_lng_together",
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                violation_error_message=_("緯度と経度は両方入力してください。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.refresh_search_text()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) & set(folding.SEARCH_FIELDS):
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    @classmethod
    def may_see_private_contact(cls, user) -> bool:
        """Staff who may see and export the survey contact (``PRIVATE_FIELDS``)."""
        return bool(user and user.is_active and user.has_perm(cls.PRIVATE_CONTACT_PERMISSION))

    def refresh_search_text(self) -> None:
        self.search_text = folding.search_text(getattr(self, name) for name in folding.SEARCH_FIELDS)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if (self.latitude is None) != (self.longitude is None):
            errors["longitude" if self.longitude is None else "latitude"] = _(
                "緯度と経度は両方入力してください。"
            )
        elif self.latitude is not None:
            municipality = Municipality.current()
            if municipality and not municipality.contains(self.latitude, self.longitude):
                errors["latitude"] = _("地図上の位置が%(name)sの区域の外です。位置を確かめてください。") % {
                    "name": municipality.name
                }
        if self.area_id and self.area.level != Area.Level.DISTRICT:
            errors["area"] = _("地区を選んでください（地域ではなく）。")
        if errors:
            raise ValidationError(errors)

    @property
    def is_public(self) -> bool:
        return self.status in self.PUBLIC_STATUSES

    @property
    def full_address(self) -> str:
        return f"{self.address} {self.building}".strip()

    @property
    def display_name(self) -> str:
        if english() and self.name_en:
            return self.name_en
        return self.name


class ProviderCapability(models.Model):
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="provider_capabilities"
    )
    capability = models.ForeignKey(
        Capability, verbose_name=_("対応できること"), on_delete=models.PROTECT,
        related_name="provider_capabilities",
    )
    count = models.PositiveIntegerField(_("件数"), null=True, blank=True)
    note = models.CharField(_("補足"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("対応できること")
        verbose_name_plural = _("対応できること")
        ordering = ["capability__sort_order", "capability__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "capability"], name="providercapability_unique"
            )
        ]
        # "Providers that can do X": the search's EXISTS semi-join and capability counts read
        # this index alone (the unique one above starts with the provider).
        indexes = [models.Index(fields=["capability", "provider"], name="providercap_cap_provider")]

    def __str__(self) -> str:
        return str(self.capability)


class Weekday(models.IntegerChoices):
    MON = 0, _("月")
    TUE = 1, _("火")
    WED = 2, _("水")
    THU = 3, _("木")
    FRI = 4, _("金")
    SAT = 5, _("土")
    SUN = 6, _("日")
    HOLIDAY = 7, _("祝日")


class OpeningPeriod(models.Model):
    """One opening period on a weekday or on public holidays.

    ``closes`` earlier than ``opens`` means the period runs past midnight (e.g. 22:00–06:00);
    00:00–00:00 means open all day.
    """

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="opening_periods")
    weekday = models.PositiveSmallIntegerField(_("曜日"), choices=Weekday.choices)
    opens = models.TimeField(_("開始"))
    closes = models.TimeField(_("終了"))

    class Meta:
        verbose_name = _("営業時間")
        verbose_name_plural = _("営業時間")
        ordering = ["weekday", "opens"]
        # The hours filters of the search look up a candidate's periods of one or two weekdays
        # and compare their times: answered from this index alone (search/opening.py).
        indexes = [models.Index(fields=["provider", "weekday", "opens", "closes"], name="openingperiod_provider_day")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def clean(self) -> None:
        message = period_error(self.opens, self.closes)
        if message:
            raise ValidationError({"closes": message})


class HoursException(models.Model):
    """Dated change to the weekly hours, e.g. closed over 年末年始 or special hours."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="hours_exceptions")
    start_date = models.DateField(_("開始日"))
    end_date = models.DateField(_("終了日"), help_text=_("1日だけなら開始日と同じ日"))
    closed = models.BooleanField(_("休み"), default=True)
    opens = models.TimeField(_("開始"), null=True, blank=True)
    closes = models.TimeField(_("終了"), null=True, blank=True)
    note = models.CharField(_("理由・補足"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("臨時の休み・営業時間")
        verbose_name_plural = _("臨時の休み・営業時間")
        # Where two exceptions cover a day the first one counts (hours.status_at): with the
        # id as tie-break, the page and the search (search/opening.py) read the same one.
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(
                name="hoursexception_dates_ordered", condition=Q(end_date__gte=models.F("start_date")),
                violation_error_message=_("終了日は開始日と同じかそれより後にしてください。"),
            )
        ]
        # "Does any exception cover these days?" reads only the exceptions not yet over.
        indexes = [models.Index(fields=["end_date", "start_date"], name="hoursexception_dates")]

    def __str__(self) -> str:
        return f"{self.start_date}–{self.end_date} {self.note}"

    def clean(self) -> None:
        errors = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = _("終了日は開始日と同じかそれより後にしてください。")
        if not self.closed:
            if self.opens is None or self.closes is None:
                errors["opens"] = _("休みでない日は開始と終了の時刻を入力してください。")
            else:
                message = period_error(self.opens, self.closes)
                if message:
                    errors["closes"] = message
        if errors:
            raise ValidationError(errors)


class ProviderChange(models.Model):
    """One change to a provider: who, through what, when, and each field's old and new value."""

    class Actor(models.TextChoices):
        STAFF = "staff", _("職員")
        IMPORT = "import", _("一括取込")
        SURVEY = "survey", _("調査回答")
        SYSTEM = "system", _("システム")

    class Action(models.TextChoices):
        CREATE = "create", _("登録")
        UPDATE = "update", _("変更")
        CONFIRM = "confirm", _("内容確認")

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="changes")
    changed_at = models.DateTimeField(_("日時"), auto_now_add=True, db_index=True)
    actor_kind = models.CharField(_("変更の経路"), max_length=10, choices=Actor.choices)
    user = staff_user_field(_("担当者"))
    action = models.CharField(_("操作"), max_length=10, choices=Action.choices)
    source = models.CharField(_("出所"), max_length=300, blank=True)
    changes = models.JSONField(_("変更内容"), default=dict, help_text=_("{項目: [変更前, 変更後]}"))
    # The provider's version this change produced (empty for a confirmation that changed
    # nothing, and for history recorded before versions existed).
    version = models.PositiveIntegerField(_("版"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("変更履歴")
        verbose_name_plural = _("変更履歴")
        ordering = ["-changed_at", "-pk"]
        constraints = [
            # Versions are handed out under the provider's row lock; this is the safety net.
            models.UniqueConstraint(fields=["provider", "version"], name="providerchange_one_per_version"),
        ]

    def __str__(self) -> str:
        when = timezone.localtime(self.changed_at) if self.changed_at else None
        return f"{self.provider} {self.get_action_display()} {when:%Y-%m-%d %H:%M}"


class Flyer(models.Model):
    """A saved variant of the A4 QR flyer, e.g. one 地域 or "24時間対応の訪問看護".

    The default flyer (whole map) needs no row; staff add rows for pre-filtered searches.
    """

    RESERVED_SLUGS = ("pdf", "qr", "qr-svg", "qr-png")

    title = models.CharField(
        _("題名"), max_length=80,
        help_text=_("チラシの一番上に大きく出ます（例: 玉川地域の在宅療養資源マップ）。"),
    )
    slug = models.SlugField(
        _("URL用の名前"), max_length=50, unique=True, allow_unicode=False,
        help_text=_("チラシのアドレスの一部です。半角英数字とハイフン（例: tamagawa）。"),
    )
    body = models.TextField(
        _("本文"), blank=True,
        help_text=_("マップの説明文。空なら標準の文章を使います。改行はそのまま印刷されます。"),
    )
    target_query = models.CharField(
        _("QRコードの行き先（検索条件）"), max_length=500, blank=True,
        help_text=_(
            "空ならマップ全体。地図で条件を選んだときのアドレスの「?」より後ろを貼り付けます"
            "（例: region=tamagawa や type=nursing&cap=h24）。"
        ),
    )
    is_active = models.BooleanField(_("公開する"), default=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("チラシ")
        verbose_name_plural = _("チラシ")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        # The search in ``target_query`` is checked by the admin form (``forms.FlyerAdminForm``).
        if self.slug in self.RESERVED_SLUGS:
            errors["slug"] = _("「%(slug)s」は使えません。別の名前にしてください。") % {"slug": self.slug}
        if errors:
            raise ValidationError(errors)


class AreaPopulation(models.Model):
    """Reference population of a 地域 or 地区 (total and 65歳以上), for per-population indicators."""

    area = models.OneToOneField(
        Area, verbose_name=_("地域・地区"), on_delete=models.CASCADE, related_name="population"
    )
    total = models.PositiveIntegerField(_("人口（総数）"))
    aged_65_plus = models.PositiveIntegerField(_("65歳以上の人口"))
    as_of = models.DateField(_("人口の時点"), help_text=_("例: 2026-01-01（住民基本台帳の基準日）"))
    source = models.CharField(
        _("出典"), max_length=200, help_text=_("例: 住民基本台帳 町丁別世帯数及び人口")
    )
    is_demo = models.BooleanField(
        _("架空の値（デモ）"), default=False, help_text=_("実際の人口ではありません（デモ用）。")
    )

    class Meta:
        verbose_name = _("地域・地区の人口")
        verbose_name_plural = _("地域・地区の人口")
        ordering = ["area__sort_order", "area__code"]

    def __str__(self) -> str:
        return f"{self.area} {self.total}"

    def clean(self) -> None:
        super().clean()
        if self.total is not None and self.aged_65_plus is not None and self.aged_65_plus > self.total:
            raise ValidationError(
                {"aged_65_plus": _("65歳以上の人口は、人口（総数）以下の数にしてください。")}
            )


class KeyIndicator(models.Model):
    """A capability the ward watches for gaps (e.g. 24時間対応 of 訪問看護), kept as data."""

    capability = models.ForeignKey(
        Capability, verbose_name=_("対応できること"), on_delete=models.CASCADE,
        related_name="key_indicators",
    )
    provider_type = models.ForeignKey(
        ProviderType, verbose_name=_("種別"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="key_indicators", help_text=_("空なら、すべての種別を数えます。"),
    )
    threshold = models.PositiveSmallIntegerField(
        _("少ないとみなす件数"), default=1,
        help_text=_("地区の件数がこの数以下なら「少ない地区」として示します。"),
    )
    sort_order = models.PositiveSmallIntegerField(_("並び順"), default=0)

    class Meta:
        verbose_name = _("重点指標")
        verbose_name_plural = _("重点指標")
        ordering = ["sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["capability", "provider_type"], name="keyindicator_unique",
                violation_error_message=_("この重点指標は既に登録されています。"),
            )
        ]

    def __str__(self) -> str:
        if self.provider_type_id:
            return f"{self.capability.name}（{self.provider_type.name}）"
        return self.capability.name

    def clean(self) -> None:
        super().clean()
        if (
            self.provider_type_id and self.capability_id
            and not self.capability.provider_types.filter(pk=self.provider_type_id).exists()
        ):
            raise ValidationError(
                {"provider_type": _("この種別には「%(cap)s」がありません。") % {"cap": self.capability.name}}
            )
class ProviderCell(models.Model):
    """Published providers with a point, counted per map grid cell, zoom level and type.

    The cell of a point at ``zoom`` is ``floor(degrees / (112.5 / 2**zoom))`` (about 80 screen
    pixels, as ``api.py`` draws them), for zooms 0 to ``MAX_ZOOM``. On PostgreSQL a trigger on
    the provider table keeps these rows (migration 0016), whatever writes a provider, so a
    zoomed-out map reads a few cells instead of every provider; SQLite counts live.
    """

    MAX_ZOOM = 10

    zoom = models.PositiveSmallIntegerField()
    provider_type = models.ForeignKey(ProviderType, on_delete=models.CASCADE, related_name="+")
    cy = models.IntegerField()
    cx = models.IntegerField()
    n = models.IntegerField(default=0)
    sum_lat = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    sum_lng = models.DecimalField(max_digits=20, decimal_places=6, default=0)

    class Meta:
        # Not shown anywhere (no admin page): no verbose names to translate.
        constraints = [
            models.UniqueConstraint(fields=["zoom", "provider_type", "cy", "cx"], name="providercell_unique")
        ]

    def __str__(self) -> str:
        return f"{self.zoom}/{self.cy}/{self.cx}: {self.n}"


class DataVersion(models.Model):
    """One row whose counter moves with every change of public data.

    Bumped inside the write path's transaction (``resourcemap.providers``) and when reference data is
    loaded; read by ETags and caches instead of an aggregate over all providers.
    """

    value = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("データの版")
        verbose_name_plural = _("データの版")

    def __str__(self) -> str:
        return f"{self.value}"

    @classmethod
    def current(cls) -> str:
        """A short text that changes whenever public data changes (one primary-key read).

        Inside :func:`request_scope` (every web request, ``resourcemap.middleware.DataVersionMiddleware``) it is read
        once per request; :meth:`bump` forgets the remembered value, so a request that writes
        sees its own change. (A bump rolled back after a read can only leave a version that
        names nothing until the request ends: a cache miss, never stale data.)
        """
        scope = _version_scope.get()
        if scope is not None and "value" in scope:
            return scope["value"]
        # One primary-key read in plain SQL: building the ORM query cost more CPU than the read.
        connection = connections[router.db_for_read(cls)]
        table = connection.ops.quote_name(cls._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT "value", "changed_at" FROM {table} WHERE "id" = 1')  # noqa: S608 - the model's own table name
            row = cursor.fetchone()
        if row is None:
            value = "0"
        else:
            # PostgreSQL returns a datetime, SQLite the stored text: either names one instant.
            changed = row[1].timestamp() if hasattr(row[1], "timestamp") else row[1]
            value = f"{row[0]}.{changed:.6f}" if isinstance(changed, float) else f"{row[0]}.{changed}"
        if scope is not None:
            scope["value"] = value
        return value

    @classmethod
    def bump(cls) -> None:
        """Move the version; call inside the transaction that changes the data."""
        scope = _version_scope.get()
        if scope is not None:
            scope.pop("value", None)
        now = timezone.now()
        if not cls.objects.filter(pk=1).update(value=models.F("value") + 1, changed_at=now):
            cls.objects.get_or_create(pk=1, defaults={"value": 1, "changed_at": now})


# The data version read once per web request (ETag, page cache key, reference cache all ask).
_version_scope: contextvars.ContextVar[dict | None] = contextvars.ContextVar("data_version_scope", default=None)


@contextlib.contextmanager
def request_scope():
    """Remember :meth:`DataVersion.current` until the block ends (one read per request)."""
    token = _version_scope.set({})
    try:
        yield
    finally:
        _version_scope.reset(token)


class ProviderExternalId(models.Model):
    """A provider's id in a public source without a field of its own (e.g. the ナビイ ID).

    Written by the open-data import so that a second import of the same file finds the same
    provider; never shown to the public.
    """

    class Scheme(models.TextChoices):
        NAVII = "navii", _("医療情報ネット（ナビイ）ID")
        # A row without codes that staff said is this provider (type, name and address, hashed).
        SAME_AS = "same_as", _("取込で同じ事業所とした行")

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="external_ids")
    scheme = models.CharField(_("出所"), max_length=20, choices=Scheme.choices)
    value = models.CharField(_("ID"), max_length=40)

    class Meta:
        verbose_name = _("公開データのID")
        verbose_name_plural = _("公開データのID")
        constraints = [
            models.UniqueConstraint(fields=["scheme", "value"], name="providerexternalid_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_scheme_display()} {self.value}"


class DistrictTown(models.Model):
    """町丁目 -> 地区 (reference data): which district an address belongs to.

    ``chome`` empty means every 丁目 of the town; otherwise a list such as ``1-3;5``.
    """

    district = models.ForeignKey(
        Area, verbose_name=_("地区"), on_delete=models.CASCADE, related_name="towns",
        limit_choices_to={"level": Area.Level.DISTRICT},
    )
    town = models.CharField(_("町名"), max_length=40)
    chome = models.CharField(_("丁目"), max_length=40, blank=True, help_text=_("空ならすべての丁目（例: 1-3;5）"))

    class Meta:
        verbose_name = _("町丁目と地区")
        verbose_name_plural = _("町丁目と地区")
        ordering = ["town", "chome"]
        constraints = [
            models.UniqueConstraint(fields=["town", "chome"], name="districttown_unique")
        ]

    def __str__(self) -> str:
        return f"{self.town}{self.chome} → {self.district.name}"

    def chome_numbers(self) -> set[int] | None:
        """None for every 丁目, else the set of 丁目 numbers."""
        if not self.chome.strip():
            return None
        numbers: set[int] = set()
        for part in re.split(r"[;,、]", self.chome):
            part = part.strip()
            if not part:
                continue
            a, _sep, b = part.partition("-")
            if a.isdigit() and (b.isdigit() or not b):
                numbers.update(range(int(a), int(b or a) + 1))
        return numbers


class GazetteerPlace(models.Model):
    """A named point residents type into "near a place" (reference data, per municipality).

    Railway stations and 町丁目 representative points, loaded from ``fixtures/gazetteer/<code>.csv``
    by ``load_reference`` (or ``load_gazetteer``); see ``resourcemap/gazetteer.py`` and
    ``fixtures/gazetteer/SOURCES.md``. A town row without ``chome`` stands for the whole town.
    """

    class Kind(models.TextChoices):
        STATION = "station", _("駅")
        TOWN = "town", _("町丁目")

    municipality = models.ForeignKey(
        Municipality, verbose_name=_("市区町村"), on_delete=models.CASCADE, related_name="gazetteer"
    )
    kind = models.CharField(_("種類"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=60)
    kana = models.CharField(_("よみがな"), max_length=80, blank=True)
    town = models.CharField(_("町名"), max_length=40, blank=True)
    chome = models.PositiveSmallIntegerField(_("丁目"), null=True, blank=True)
    detail = models.CharField(_("補足"), max_length=120, blank=True, help_text=_("駅なら路線名"))
    key = models.CharField(max_length=80, db_index=True, editable=False)
    latitude = models.DecimalField(_("緯度"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("経度"), max_digits=9, decimal_places=6)

    class Meta:
        verbose_name = _("地名（駅・町丁目）")
        verbose_name_plural = _("地名（駅・町丁目）")
        ordering = ["municipality", "kind", "key"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "kind", "name"], name="gazetteer_unique")
        ]

    def __str__(self) -> str:
        return self.name


class RateCounter(models.Model):
    """One rate-limit counter (a fixed window), shared by every app server through the database.

    Written only by ``resourcemap.ratelimits.CounterCache`` with single-statement upserts and
    ``UPDATE … SET count = count + 1 RETURNING count``, so parallel requests never lose a count.
    """

    bucket = models.CharField(max_length=250, primary_key=True)
    count = models.BigIntegerField(default=0)
    expires = models.BigIntegerField(help_text="Unix time after which the window is over")

    class Meta:
        verbose_name = _("回数制限のカウンタ")
        verbose_name_plural = _("回数制限のカウンタ")
        indexes = [models.Index(fields=["expires"], name="ratecounter_expires")]

    def __str__(self) -> str:
        return f"{self.bucket}: {self.count}"
