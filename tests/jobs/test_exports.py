"""Large exports run as background jobs; the file is downloaded through the job's page."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from jobs import runner
from jobs.models import Job
from resourcemap import formats
from tests.factories import make_provider


@pytest.mark.django_db
def test_export_of_selected_providers_runs_as_a_job_and_reimports(staff_client):
    a = make_provider(name="書き出し医院A", contact_email="private@example.jp")
    b = make_provider(name="書き出し医院B")
    make_provider(name="選ばない医院")
    response = staff_client.post(reverse("admin:resourcemap_provider_changelist"), {
        "action": "export_xlsx_in_background", "_selected_action": [a.pk, b.pk]})
    job = Job.objects.get(kind="providers_export")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:jobs_job_change", args=[job.pk])
    assert job.status == Job.Status.DONE and job.message == "2 件"
    page = staff_client.get(response["Location"]).content.decode()
    assert "事業所の書き出し" in page and job.result_name in page
    download = staff_client.get(reverse("admin:jobs_job_download", args=[job.pk]))
    assert download.status_code == 200
    data = b"".join(download.streaming_content)
    dataset = formats.XLSX().create_dataset(data)
    names = {row[dataset.headers.index("名称")] for row in dataset}
    assert names == {"書き出し医院A", "書き出し医院B"}
    assert any("private@example.jp" in str(v) for row in dataset for v in row)


@pytest.mark.django_db
def test_public_csv_export_leaves_out_private_contacts(staff_user):
    from resourcemap.exports import start_export

    make_provider(name="公開書き出し医院", contact_email="secret@example.jp")
    job = start_export(user=staff_user, fmt="csv", public=True)
    assert job.status == Job.Status.DONE
    text = job.result_file.read().decode("utf-8-sig")
    assert "公開書き出し医院" in text and "secret@example.jp" not in text


@runner.register_kind("test_upload", label="upload", permission="jobs.change_job")
def _upload_job(job, progress):
    rows = job.input_file.read().decode().splitlines()
    progress(len(rows), len(rows))
    return f"{len(rows)} rows"


@pytest.mark.django_db
def test_an_uploaded_file_travels_with_the_job_through_the_shared_storage(staff_user):
    """The hook for imports: the upload is stored with the job, so any worker can read it."""
    job = runner.start("test_upload", user=staff_user,
                       input_file=ContentFile(b"a\nb\nc\n"), input_name="rows.csv")
    assert job.status == Job.Status.DONE and job.message == "3 rows"
    assert job.input_file.name.startswith("private/jobs/in/")
