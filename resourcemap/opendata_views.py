"""Open data pages: the public CSV export and the page that describes it."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from . import opendata, search
from .models import Municipality, Provider


def _as_of_text(value) -> str:
    return value.isoformat() if value else ""


@require_GET
def providers_csv(request):
    """The public list (same filters as the map) in the municipal standard layout."""
    params = request.GET.copy()
    params.pop("page", None)
    result = search.run(params, with_conditions=False)
    municipality = Municipality.current()
    body = opendata.export_csv(result.ids, municipality)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="providers-{stamp}.csv"'
    response["X-Data-License"] = municipality.data_license if municipality else ""
    response["X-Data-As-Of"] = _as_of_text(Provider.objects.published().data_as_of(result.ids))
    response["Link"] = f'<{request.build_absolute_uri(reverse("opendata"))}>; rel="describedby"'
    response["Cache-Control"] = "public, max-age=300"
    return response


COLUMN_NOTES = (
    ("全国地方公共団体コード", gettext_lazy("この自治体のコード（6桁、検査数字付き）。")),
    ("ID", gettext_lazy("このマップでの事業所の番号。")),
    ("地方公共団体名", gettext_lazy("都道府県名と自治体名。")),
    ("名称 / 名称_カナ / 名称_英字", gettext_lazy("事業所の名前、よみがな（カタカナ）、英語の名前。")),
    ("所在地_全国地方公共団体コード", gettext_lazy("所在地の自治体のコード。")),
    ("町字ID", gettext_lazy("アドレス・ベース・レジストリの町字ID。まだ付けていないため空です。")),
    ("所在地_連結表記", gettext_lazy("都道府県から番地までの住所。")),
    ("所在地_都道府県 / 所在地_市区町村 / 所在地_町字 / 所在地_番地以下",
     gettext_lazy("住所を分けたもの。町字と番地以下は、住所の最初の数字の前で分けています。")),
    ("建物名等(方書)", gettext_lazy("建物名・階。")),
    ("緯度 / 経度", gettext_lazy("世界測地系（WGS84）の10進数。分からないときは空です。")),
    ("電話番号 / FAX番号", gettext_lazy("公開している電話・FAX番号。")),
    ("法人番号 / 法人の名称", gettext_lazy("運営する法人。")),
    ("医療機関コード / 事業所番号", gettext_lazy("医療機関コードと介護保険の事業所番号（文字として、先頭の0も含めて）。")),
    ("種別", gettext_lazy("このマップの種別（病院、診療所、訪問看護ステーションなど）。")),
    ("URL", gettext_lazy("ホームページ。")),
    ("備考", gettext_lazy("住民へのお知らせ。")),
    ("対応できること", gettext_lazy("このマップ独自の項目。24時間対応・看取りなど、調査で確かめた対応できることの名前を「;」で区切ったもの。")),
    ("最終確認日", gettext_lazy("このマップ独自の項目。調査や職員の確認で内容を確かめた日。")),
)


def opendata_page(request):
    municipality = Municipality.current()
    context = {
        "as_of": Provider.objects.published().data_as_of(),
        "license": municipality.data_license if municipality else "",
        "count": Provider.objects.published().count(),
        "column_notes": COLUMN_NOTES,
        "csv_url": reverse("opendata_csv"),
        "geojson_url": reverse("api_geojson"),
    }
    return render(request, "resourcemap/opendata.html", context)
