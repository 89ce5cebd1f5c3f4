"""The open-data import page with the work on a worker: progress, preview, staff choice, apply;
likely duplicates merged by staff from the preview; readings of names without カナ."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.models import Job
from resourcemap import admin_views, kana, opendata
from resourcemap.models import Provider, ProviderExternalId
from tests.factories import make_provider
from tests.jobs.test_queue import DB_TASKS, run_worker
from tests.test_opendata import page_text, sample

IMPORT_URL = "admin:resourcemap_provider_opendata_import"
MHLW_HEADER = (
    "都道府県コード又は市町村コード,No,都道府県名,市区町村名,事業所名,事業所名カナ,サービスの種類,住所,方書（ビル名等）,"
    "緯度,経度,電話番号,FAX番号,法人番号,法人の名称,事業所番号,利用可能曜日,利用可能曜日特記事項,定員,URL"
)


def mhlw_file(ward_rows: list[str], others: int = 0) -> bytes:
    lines = [MHLW_HEADER, *ward_rows]
    lines += [f"271004,{n},大阪府,大阪市,よそ訪問看護{n},ヨソホウモンカンゴ,訪問看護,大阪府大阪市北区梅田{n % 9 + 1}-1-1,,"
              f"34.70,135.49,06-6000-0000,,,,27{n:08d},,,," for n in range(others)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


WARD_ROWS = [
    "131121,1,東京都,世田谷区,もくれん訪問看護,モクレンホウモンカンゴ,訪問看護,東京都世田谷区用賀2-3-4,,,,03-3700-5001,,,,1361205001,,,,",
    "131121,2,東京都,世田谷区,けやき訪問看護,,訪問看護,東京都世田谷区北沢2-10-5,,,,03-ABCD-5002,,,,1361205002,,,,",
    "131121,3,東京都,世田谷区,三軒茶屋訪問看護,,訪問看護,東京都世田谷区三軒茶屋1-2-3,,,,03-3700-5003,,,,1361205003,,,,",
]


@pytest.fixture
def background(monkeypatch):
    """Every file is big enough for the worker."""
    monkeypatch.setattr(admin_views, "SYNC_MAX_BYTES", 0)


def follow_job(client, response):
    assert response.status_code == 302 and "?job=" in response["Location"], response
    return client.get(response["Location"])


# --- a real worker -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_big_file_is_previewed_and_applied_by_the_worker_with_progress(staff_client, settings, background, reference):
    settings.TASKS = DB_TASKS
    upload = SimpleUploadedFile("jigyosho_130.csv", mhlw_file(WARD_ROWS[:1] + WARD_ROWS[2:], others=500))
    response = staff_client.post(reverse(IMPORT_URL), {"import_file": upload})
    page = follow_job(staff_client, response)
    text = page_text(page)
    # Waiting for a worker: the page says so and reloads itself; nothing is read yet.
    assert "ファイルを確かめています" in text and "待機中" in text and 'http-equiv="refresh"' in text
    preview_job = Job.objects.get(kind="opendata_import")
    assert preview_job.status == Job.Status.QUEUED

    run_worker()
    preview_job.refresh_from_db()
    assert preview_job.status == Job.Status.DONE
    assert (preview_job.done, preview_job.total) == (502, 502)  # progress counted in rows read
    page = staff_client.get(response["Location"])
    text = page_text(page)
    assert "新規 2件" in text and "対象外（他の自治体） 500件" in text and 'http-equiv="refresh"' not in text
    assert "もくれん訪問看護" in text and "よそ訪問看護1" not in text
    assert not Provider.objects.filter(name="もくれん訪問看護").exists()

    applying = staff_client.post(reverse(IMPORT_URL), {"token": page.context["token"]})
    text = page_text(follow_job(staff_client, applying))
    assert "取り込み中です" in text
    assert not Provider.objects.filter(name="もくれん訪問看護").exists()
    run_worker()
    done = staff_client.get(applying["Location"], follow=True)
    assert "取り込みました: 新規 2件" in page_text(done)
    assert Provider.objects.filter(care_code__in=["1361205001", "1361205003"]).count() == 2
    # Derived reading for the row without カナ.
    assert Provider.objects.get(name="三軒茶屋訪問看護").kana == "サンケンチャヤホウモンカンゴ"


@pytest.mark.django_db
def test_progress_of_a_running_import_is_shown(staff_client, staff_user):
    from jobs import runner
    from resourcemap import import_jobs

    seen = []
    report = opendata.import_file(mhlw_file(WARD_ROWS[:1], others=450), file_name="jigyosho_130.csv",
                                  progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (450, 451) and seen[-1] == (451, 451) and report.rows_read == 451

    job = runner.create(import_jobs.IMPORT_KIND, user=staff_user,
                        params={"stage": "preview", "file_name": "jigyosho_140.csv"})
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    import_jobs._ProgressFile(job)(2000, 5091)
    text = page_text(staff_client.get(reverse(IMPORT_URL) + f"?job={job.pk}"))
    assert "jigyosho_140.csv: 実行中" in text and "2000 / 5091 行" in text and 'value="2000"' in text


# --- inline (the test settings run queued tasks at once) ---------------------------------------


@pytest.mark.django_db
def test_national_file_in_background_good_rows_imported_and_bad_row_listed(staff_client, background):
    data = mhlw_file(WARD_ROWS, others=3000)
    response = staff_client.post(reverse(IMPORT_URL), {"import_file": SimpleUploadedFile("jigyosho_130.csv", data)})
    page = follow_job(staff_client, response)
    text = page_text(page)
    assert "3行目 電話番号" in text and "1行に誤りがあります。まだ何も取り込んでいません" in text
    assert "誤りのない2件を取り込み、誤りのある1行は取り込まない" in text
    assert "対象外（他の自治体） 3000件" in text

    # The left-out rows as they were in the file, with the reason.
    download = staff_client.get(page.context["left_out_url"])
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "取り込まなかった理由" and len(rows) == 2
    assert rows[1][4] == "けやき訪問看護" and rows[1][-1].startswith("電話番号: ")

    # A plain confirm is refused while rows have problems: the worker saves nothing.
    refused = staff_client.post(reverse(IMPORT_URL), {"token": page.context["token"]})
    assert "データが変わった" in page_text(staff_client.get(refused["Location"], follow=True))
    assert not Provider.objects.filter(care_code__startswith="136120500").exists()

    page = follow_job(staff_client, staff_client.post(
        reverse(IMPORT_URL), {"import_file": SimpleUploadedFile("jigyosho_130.csv", data)}))
    applying = staff_client.post(reverse(IMPORT_URL), {"token": page.context["token"], "choice": "leave_out"})
    done = staff_client.get(applying["Location"], follow=True)
    assert "取り込みました: 新規 2件" in page_text(done)
    assert set(Provider.objects.filter(care_code__startswith="136120500").values_list("name", flat=True)) == {
        "もくれん訪問看護", "三軒茶屋訪問看護"}
    # The same preview cannot be applied twice.
    again = staff_client.post(reverse(IMPORT_URL), {"token": page.context["token"], "choice": "leave_out"})
    assert again.status_code == 302 and "?job=" not in again["Location"]
    assert Provider.objects.filter(care_code__startswith="136120500").count() == 2


@pytest.mark.django_db
def test_job_pages_of_another_user_are_not_shown(staff_client, background, django_user_model):
    response = staff_client.post(reverse(IMPORT_URL), {"import_file": SimpleUploadedFile(
        "jigyosho_130.csv", sample("jigyosho_130.csv"))})
    other = django_user_model.objects.create_superuser("other", password="x-Pass-1234567")
    staff_client.force_login(other)
    page = staff_client.get(response["Location"], follow=True)
    assert "確認の期限が切れました" in page_text(page)
    assert "さくら訪問看護ステーション" not in page_text(page)


@pytest.mark.django_db
def test_unreadable_file_in_background_is_reported_not_a_500(staff_client, background):
    response = staff_client.post(reverse(IMPORT_URL), {"import_file": SimpleUploadedFile("x.csv", b"PK\x03\x04garbage")})
    page = follow_job(staff_client, response)
    assert page.status_code == 200 and "ZIP" in page_text(page)


# --- likely duplicates merged by staff ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("in_background", [False, True])
def test_likely_duplicate_merged_by_staff_from_the_preview(staff_client, monkeypatch, in_background, reference):
    if in_background:
        monkeypatch.setattr(admin_views, "SYNC_MAX_BYTES", 0)
    # From the city's list: no 事業所番号, the name written another way, no FAX.
    city = make_provider(type_code="nursing", name="訪問看護はなみずき", kana="ホウモンカンゴハナミズキ",
                         address="東京都世田谷区深沢1-2-3", care_code="", fax="")
    mhlw = mhlw_file(["131121,1,東京都,世田谷区,はなみずき訪問看護,ハナミズキホウモンカンゴ,訪問看護,"
                      "東京都世田谷区深沢一丁目2番3号,,,,03-3700-4001,03-3700-4009,,,1361204001,,,,"])

    def page_for(response):
        return follow_job(staff_client, response) if in_background else response

    preview = page_for(staff_client.post(reverse(IMPORT_URL), {
        "import_file": SimpleUploadedFile("jigyosho_130.csv", mhlw)}))
    text = page_text(preview)
    assert "同じ事業所かもしれません" in text and "同じ事業所としてまとめる（ID" in text
    token = preview.context["token"]

    # A value for another provider than the one offered is ignored: the row stays a problem.
    stranger = make_provider(type_code="nursing", name="別の訪問看護", address="東京都世田谷区用賀1-1-1")
    ignored = page_for(staff_client.post(reverse(IMPORT_URL), {
        "token": token, "merge_again": "1", "merge": [f"2:{stranger.pk}"]}))
    assert "同じ事業所かもしれません" in page_text(ignored)

    # The replaced preview can no longer be applied.
    stale = staff_client.post(reverse(IMPORT_URL), {"token": token}, follow=True)
    assert "確認の期限が切れました" in page_text(stale)
    merged = page_for(staff_client.post(reverse(IMPORT_URL), {
        "token": ignored.context["token"], "merge_again": "1", "merge": [f"2:{city.pk}"]}))
    text = page_text(merged)
    assert f"登録済みの事業所（ID {city.pk}）と同じ事業所としてまとめます" in text
    assert "誤りがあります" not in text and "変更 1件" in text
    applied = staff_client.post(reverse(IMPORT_URL), {"token": merged.context["token"]})
    if in_background:
        applied = staff_client.get(applied["Location"])
    assert applied.status_code == 302 and applied["Location"] == reverse("admin:resourcemap_provider_changelist")

    city.refresh_from_db()
    # What the city's record lacked is added; its name and the rest stay as they were.
    assert (city.care_code, city.fax, city.name) == ("1361204001", "03-3700-4009", "訪問看護はなみずき")
    assert Provider.objects.filter(provider_type__code="nursing", address__contains="深沢").count() == 1
    assert ProviderExternalId.objects.filter(provider=city, scheme=ProviderExternalId.Scheme.SAME_AS).count() == 1

    # Importing either file again changes nothing, and never creates the office twice.
    again = opendata.import_file(mhlw, file_name="jigyosho_130.csv", commit=True)
    assert again.totals["unchanged"] == 1 and not again.has_errors, again.error_lines()
    without_code = mhlw.replace(b"1361204001", b"")
    again = opendata.import_file(without_code, file_name="jigyosho_130.csv", commit=True)
    assert again.totals["unchanged"] == 1 and not again.has_errors, again.error_lines()
    assert Provider.objects.filter(provider_type__code="nursing", address__contains="深沢").count() == 1


# --- readings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, reading", [
    ("さくら訪問看護", "サクラホウモンカンゴ"),
    ("ﾂﾊﾞｷ", "ツバキ"),
    ("つばき ケア", "ツバキケア"),
    ("世田谷中央病院", "セタガヤチュウオウビョウイン"),
    ("ＳＯＭＰＯケア 世田谷", "SOMPOケアセタガヤ"),
    ("龘クリニック", ""),  # a character the dictionary cannot read: no guess
    ("", ""),
])
def test_reading_of_a_name(name, reading):
    assert kana.reading(name) == reading


@pytest.mark.django_db
def test_blank_kana_derived_and_said_in_the_preview(reference):
    data = mhlw_file([
        "131121,1,東京都,世田谷区,世田谷中央訪問看護,,訪問看護,東京都世田谷区用賀2-3-4,,,,03-3700-5001,,,,1361205001,,,,",
        "131121,2,東京都,世田谷区,龘訪問看護,,訪問看護,東京都世田谷区用賀2-3-5,,,,03-3700-5002,,,,1361205002,,,,",
    ])
    report = opendata.import_file(data, file_name="jigyosho_130.csv", commit=True)
    derived, unknown = report.rows
    assert "よみがなは名称から推定しました" in derived.note
    assert Provider.objects.get(care_code="1361205001").kana == "セタガヤチュウオウホウモンカンゴ"
    assert "名称から決められませんでした" in unknown.note
    assert Provider.objects.get(care_code="1361205002").kana == "龘訪問看護"


@pytest.mark.django_db
def test_two_clicks_on_the_same_preview_start_one_import(staff_user, reference):
    from resourcemap import import_jobs

    preview = import_jobs.start_preview(
        user=staff_user, upload=SimpleUploadedFile("jigyosho_130.csv", mhlw_file(WARD_ROWS[:1])), run_here=True)
    stale = Job.objects.get(pk=preview.pk)  # what a second request read at the same moment
    first = import_jobs.start_apply(user=staff_user, preview=preview, choice="all", run_here=True)
    assert import_jobs.payload(first)["committed"] is True
    assert import_jobs.start_apply(user=staff_user, preview=stale, choice="all", run_here=True) is None
    assert Job.objects.filter(kind="opendata_import", params__stage="apply").count() == 1
    assert Provider.objects.filter(care_code="1361205001").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["１２３", "9" * 30, "-1", "abc", "1\x00", "ｔｏｋｅｎ", "%"])
def test_hostile_job_and_token_values_never_500(staff_client, value):
    for query in ({"job": value}, {"left_out": value}):
        assert staff_client.get(reverse(IMPORT_URL), query).status_code == 302
    for data in ({"token": value}, {"token": value, "merge_again": "1", "merge": [value, f"{value}:{value}"]}):
        assert staff_client.post(reverse(IMPORT_URL), data).status_code == 302
