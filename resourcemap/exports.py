"""Large provider exports as background jobs (``providers_export``): a worker writes the file
to the configured storage and staff download it from admin → バックグラウンド処理.

The same sheet as the admin's エクスポート and ``manage.py export_providers``
(``resourcemap.resources``), so an exported file re-imports unchanged.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jobs import runner

from . import formats
from .models import Provider
from .resources import ProviderResource, PublicProviderResource

EXPORT_KIND = "providers_export"


def start_export(*, user=None, fmt: str = "xlsx", public: bool = False,
                 provider_ids: list[int] | None = None):
    params = {"format": "xlsx" if fmt == "xlsx" else "csv", "public": bool(public)}
    if provider_ids is not None:
        params["ids"] = list(provider_ids)
    return runner.start(EXPORT_KIND, params=params, scope="providers", user=user)


# The full sheet holds private contact fields: the same permission as the admin export.
@runner.register_kind(EXPORT_KIND, label=gettext_lazy("事業所の書き出し"),
                      permission="resourcemap.view_provider")
def providers_export_job(job, progress) -> str:
    public = job.params.get("public", False)
    resource = PublicProviderResource() if public else ProviderResource()
    queryset = Provider.objects.all()
    if "ids" in job.params:
        queryset = queryset.filter(pk__in=job.params["ids"])
    total = queryset.count()
    progress(0, total)
    dataset = resource.export(queryset=queryset)
    fmt = formats.XLSX() if job.params.get("format") == "xlsx" else formats.CSV()
    data = fmt.export_data(dataset)
    if isinstance(data, str):
        data = data.encode("utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    suffix = "-public" if public else ""
    runner.save_result(job, f"providers{suffix}-{stamp}.{fmt.get_extension()}", data)
    progress(len(dataset), total)
    return _("%(n)s 件") % {"n": len(dataset)}
