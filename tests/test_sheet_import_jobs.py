"""The staff sheet import (admin インポート) with the work on a worker: progress, preview with the
errors by row and column, confirm applying exactly the preview (once, all or nothing), job pages
of the requesting staff member only."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs import staged
from jobs.models import Job
from resourcemap import admin_views, sheet_import
from resourcemap.models import Provider, ProviderChange
from tests.factories import make_provider
from tests.jobs.test_queue import DB_TASKS, run_worker
from tests.test_import_export import (
    ADDRESS,
    IMPORT_URL,
    PROCESS_URL,
    _meanwhile_phone,
    csv_bytes,
    page_text,
    row,
)


@pytest.fixture
def background(monkeypatch):
    """Every sheet is big enough for the worker."""
    monkeypatch.setattr(admin_views, "SHEET_SYNC_MAX_BYTES", 0)


def upload(client, data: bytes, name="providers.csv"):
    return client.post(reverse(IMPORT_URL), {"format": "0", "resource": "0",
                                             "import_file": SimpleUploadedFile(name, data)})


def follow_job(client, response):
    assert response.status_code == 302 and "?job=" in response["Location"], response
    return client.get(response["Location"])


def confirm_data(page) -> dict:
    form = page.context.get("confirm_form")
    assert form is not None, page_text(page)[-3000:]
    return {k: form.initial[k] for k in form.fields if k in form.initial}


def many_rows(n: int) -> list[list[str]]:
    return [row(名称=f"一括訪問看護{i:03d}", よみがな="イッカツホウモンカンゴ", 種別="訪問看護ステーション",
                住所=f"東京都世田谷区用賀{i % 4 + 1}-{i + 1}-1", 営業時間="月 09:00-18:00", 対応できること="h24")
            for i in range(n)]


# --- a real worker -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_big_sheet_is_previewed_and_applied_by_the_worker_with_progress(staff_client, staff_user, settings,
                                                                        background):
    settings.TASKS = DB_TASKS
    response = upload(staff_client, csv_bytes(many_rows(120)))
    page = follow_job(staff_client, response)
    text = page_text(page)
    # Waiting for a worker: the page says so and reloads itself; nothing is read yet.
    assert "ファイルを確かめています" in text and "providers.csv: 待機中" in text
    assert 'http-equiv="refresh"' in text and page.context.get("confirm_form") is None
    preview_job = Job.objects.get(kind=sheet_import.SHEET_KIND)
    assert preview_job.status == Job.Status.QUEUED

    run_worker()
    preview_job.refresh_from_db()
    assert preview_job.status == Job.Status.DONE
    assert (preview_job.done, preview_job.total) == (120, 120)  # progress counted in rows
    page = staff_client.get(response["Location"])
    text = page_text(page)
    assert 'http-equiv="refresh"' not in text
    assert "一括訪問看護000" in text and "一括訪問看護119" in text
    assert not Provider.objects.exists()  # a preview saves nothing

    applying = staff_client.post(reverse(PROCESS_URL), confirm_data(page))
    text = page_text(follow_job(staff_client, applying))
    assert "取り込み中です" in text
    assert not Provider.objects.exists()
    run_worker()
    done = staff_client.get(applying["Location"], follow=True)
    assert "取り込みました: 新規 120件、変更 0件、変更なし 0件。" in page_text(done)
    assert Provider.objects.filter(name__startswith="一括訪問看護").count() == 120
    change = ProviderChange.objects.filter(provider__name="一括訪問看護007").get()
    assert change.actor_kind == ProviderChange.Actor.IMPORT and change.user == staff_user
    assert "providers.csv" in change.source
    assert LogEntry.objects.filter(user=staff_user, action_flag=ADDITION).count() == 120


# --- inline (the test settings run queued tasks at once) ---------------------------------------


@pytest.mark.django_db
def test_a_small_sheet_is_still_previewed_in_the_request(staff_client):
    response = upload(staff_client, csv_bytes(many_rows(2)))
    assert response.status_code == 200 and "一括訪問看護001" in page_text(response)
    assert Job.objects.get(kind=sheet_import.SHEET_KIND).status == Job.Status.DONE
    applied = staff_client.post(reverse(PROCESS_URL), confirm_data(response))
    assert applied.status_code == 302 and applied["Location"] == reverse("admin:resourcemap_provider_changelist")
    assert Provider.objects.count() == 2


@pytest.mark.django_db
def test_errors_by_row_and_column_on_the_job_page_and_nothing_saved(staff_client, background):
    rows = [row(名称="正しい行"), row(名称="種別誤り", 種別="動物病院"), row(名称="時間誤り", 営業時間="月 25:00-26:00")]
    page = follow_job(staff_client, upload(staff_client, csv_bytes(rows)))
    text = page_text(page)
    assert "2行に誤りがあります。何も取り込まれていません。" in text
    assert "3行目" in text and "<strong>種別</strong>: 種別「動物病院」は登録されていません。" in text
    assert "4行目" in text and "<strong>営業時間</strong>" in text
    assert page.context.get("confirm_form") is None
    assert not Provider.objects.exists() and not ProviderChange.objects.exists()


@pytest.mark.django_db
def test_wrong_header_and_unreadable_file_in_background_are_messages_not_a_500(staff_client, background):
    page = follow_job(staff_client, upload(staff_client, csv_bytes([["a", "b", "c"]], header=["なまえ", "種別", "住所"])))
    assert "見出し「なまえ」は分かりません" in page_text(page) and page.context.get("confirm_form") is None
    page = follow_job(staff_client, upload(staff_client, b"PK\x03\x04garbage"))
    assert page.status_code == 200 and "ZIP" in page_text(page)
    assert page.context["form"].errors["import_file"]
    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_confirm_after_a_change_meanwhile_saves_nothing_and_names_row_and_column(staff_client, background):
    provider = make_provider(name="競合の確認クリニック", kana="キョウゴウノカクニンクリニック", medical_code="1322222222",
                             phone="03-1000-0000", address=ADDRESS)
    sheet = csv_bytes([["競合の確認クリニック", "キョウゴウノカクニンクリニック", "診療所", ADDRESS, "1322222222", "03-3000-0000"],
                       ["後から来た新しい医院", "アトカラキタイイン", "診療所", "東京都世田谷区用賀3-3-3", "", "03-4000-0000"]],
                      header=["名称", "よみがな", "種別", "住所", "医療機関コード", "電話"])
    page = follow_job(staff_client, upload(staff_client, sheet))
    data = confirm_data(page)
    _meanwhile_phone(provider, "03-2000-0000")
    applying = staff_client.post(reverse(PROCESS_URL), data)
    text = page_text(staff_client.get(applying["Location"], follow=True))
    assert "取り込みを中止しました。何も保存されていません。" in text
    assert "2行目 電話: あなたが画面を開いた後に調査回答が「03-2000-0000」に変えました" in text
    provider.refresh_from_db()
    assert provider.phone == "03-2000-0000"
    assert not Provider.objects.filter(name="後から来た新しい医院").exists()  # all or nothing
    assert not ProviderChange.objects.filter(actor_kind="import").exists()


@pytest.mark.django_db
def test_a_preview_is_applied_once_and_a_replaced_or_foreign_version_list_is_refused(staff_client, background):
    first = follow_job(staff_client, upload(staff_client, csv_bytes(many_rows(1))))
    make_provider(name="別の医院", medical_code="1344444444", address=ADDRESS)
    other = follow_job(staff_client, upload(staff_client, csv_bytes(
        [["別の医院", "診療所", ADDRESS, "1344444444", "03-3000-0000"]],
        header=["名称", "種別", "住所", "医療機関コード", "電話"])))
    # The token of one preview with the (validly signed) versions of another: refused.
    mixed = {**confirm_data(first), "base_versions": confirm_data(other)["base_versions"]}
    refused = staff_client.post(reverse(PROCESS_URL), mixed, follow=True)
    assert "確認の期限が切れました" in page_text(refused)
    assert not Provider.objects.filter(name__startswith="一括訪問看護").exists()

    data = confirm_data(first)
    applied = staff_client.post(reverse(PROCESS_URL), data)
    assert "取り込みました: 新規 1件" in page_text(staff_client.get(applied["Location"], follow=True))
    again = staff_client.post(reverse(PROCESS_URL), data, follow=True)  # a second click, the back button
    assert "確認の期限が切れました" in page_text(again)
    assert Provider.objects.filter(name__startswith="一括訪問看護").count() == 1
    assert Job.objects.filter(kind=sheet_import.SHEET_KIND, params__stage="apply").count() == 1


@pytest.mark.django_db
def test_two_clicks_on_the_same_preview_start_one_import(staff_user):
    preview = sheet_import.start_preview(user=staff_user, fmt=0, run_here=True,
                                         upload=SimpleUploadedFile("providers.csv", csv_bytes(many_rows(1))))
    stale = Job.objects.get(pk=preview.pk)  # what a second request read at the same moment
    first = sheet_import.start_apply(user=staff_user, preview=preview, run_here=True)
    assert staged.payload(first)["committed"] is True
    assert sheet_import.start_apply(user=staff_user, preview=stale, run_here=True) is None
    assert Provider.objects.count() == 1


@pytest.mark.django_db
def test_job_pages_and_previews_of_another_user_are_not_shown(staff_client, background, django_user_model):
    response = upload(staff_client, csv_bytes(many_rows(1)))
    page = follow_job(staff_client, response)
    data = confirm_data(page)
    other = django_user_model.objects.create_superuser("other", password="x-Pass-1234567")
    staff_client.force_login(other)
    shown = staff_client.get(response["Location"], follow=True)
    assert "確認の期限が切れました" in page_text(shown) and "一括訪問看護000" not in page_text(shown)
    applied = staff_client.post(reverse(PROCESS_URL), data, follow=True)
    assert "確認の期限が切れました" in page_text(applied)
    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_progress_of_a_running_sheet_import_is_shown(staff_client, staff_user):
    from jobs import runner

    job = runner.create(sheet_import.SHEET_KIND, user=staff_user,
                        params={"stage": "preview", "file_name": "providers-1580.xlsx"})
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    staged.ProgressFile(job)(400, 1580)
    text = page_text(staff_client.get(reverse(IMPORT_URL) + f"?job={job.pk}"))
    assert "providers-1580.xlsx: 実行中" in text and "400 / 1580 行" in text and 'value="400"' in text
    assert 'http-equiv="refresh"' in text

    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED)
    stopped = staff_client.get(reverse(IMPORT_URL) + f"?job={job.pk}", follow=True)
    assert "取り込みの処理が途中で止まりました。何も保存されていません。" in page_text(stopped)


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["１２３", "9" * 30, "-1", "abc", "1\x00", "ｔｏｋｅｎ", "%", "' OR 1=1 --"])
def test_hostile_job_and_token_values_never_500(staff_client, value):
    from resourcemap.forms import sign_versions

    assert staff_client.get(reverse(IMPORT_URL), {"job": value}).status_code == 302
    # A hostile token with a real, validly signed version list.
    response = staff_client.post(reverse(PROCESS_URL), {"token": value, "base_versions": sign_versions({})},
                                 follow=True)
    assert response.status_code == 200 and "確認の期限が切れました" in page_text(response)
    response = staff_client.post(reverse(PROCESS_URL), {"token": value, "base_versions": value})
    assert response.status_code == 200 and "確認の期限が切れました" in page_text(response)
    assert staff_client.get(reverse(PROCESS_URL)).status_code == 405
    assert not Job.objects.filter(params__stage="apply").exists()


@pytest.mark.django_db
def test_the_preview_file_is_downloaded_only_with_the_survey_contact_permission(client, staff_user,
                                                                               django_user_model):
    from django.contrib.auth.models import Permission

    from jobs import runner

    job = sheet_import.start_preview(user=staff_user, fmt=0, run_here=True,
                                     upload=SimpleUploadedFile("providers.csv", csv_bytes(many_rows(1))))
    assert runner.can_use(staff_user, job)
    editor = django_user_model.objects.create_user("editor-no-contact", password="x-Pass-1234567", is_staff=True)
    editor.user_permissions.set(Permission.objects.filter(
        codename__in=["change_provider", "view_provider", "view_job", "change_job"]))
    editor = django_user_model.objects.get(pk=editor.pk)
    assert not editor.has_perm(Provider.PRIVATE_CONTACT_PERMISSION) and not runner.can_use(editor, job)
    client.force_login(editor)
    assert client.get(reverse("admin:jobs_job_download", args=[job.pk])).status_code in (403, 404)
