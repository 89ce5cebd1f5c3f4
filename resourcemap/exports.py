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
from .resources import ContactlessProviderResource, ProviderResource, PublicProviderResource

EXPORT_KIND = "providers_export"  # every column, the survey contact included
CONTACTLESS_EXPORT_KIND = "providers_export_contactless"  # without the survey contact


def export_kind(*, contact: bool) -> str:
    return EXPORT_KIND if contact else CONTACTLESS_EXPORT_KIND


def start_export(*, user=None, fmt: str = "xlsx", public: bool = False, contact: bool = True,
                 provider_ids: list[int] | None = None):
    """``public``: only public providers and columns; ``contact=False``: every provider
    without the survey contact (for staff without ``Provider.PRIVATE_CONTACT_PERMISSION``)."""
    params = {"format": "xlsx" if fmt == "xlsx" else "csv", "public": bool(public)}
    if provider_ids is not None:
        params["ids"] = list(provider_ids)
    kind = export_kind(contact=contact and not public)
    return runner.start(kind, params=params, scope="providers", user=user)


# Starting a job and downloading its file need the kind's permission: the full sheet holds the
# survey contact, so it needs that permission, the others only the view permission.
@runner.register_kind(EXPORT_KIND, label=gettext_lazy("事業所の書き出し"),
                      permission=Provider.PRIVATE_CONTACT_PERMISSION)
@runner.register_kind(CONTACTLESS_EXPORT_KIND,
                      label=gettext_lazy("事業所の書き出し（調査の連絡先を除く）"),
                      permission="resourcemap.view_provider")
def providers_export_job(job, progress) -> str:
    public = job.params.get("public", False)
    if public:
        resource = PublicProviderResource()
    elif job.kind == EXPORT_KIND:
        resource = ProviderResource()
    else:
        resource = ContactlessProviderResource()
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
