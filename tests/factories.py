"""Small builders for tests (instead of loading the whole demo data set)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from resourcemap import providers
from resourcemap.models import Area, Municipality, Provider, ProviderChange
from resourcemap.reference import load_reference

_seq = itertools.count(1)


def ensure_reference() -> None:
    if not Municipality.objects.exists():
        load_reference()


def make_provider(
    *,
    type_code: str = "clinic",
    area_code: str = "yoga",
    capabilities: dict | None = None,
    periods: list | None = None,
    exceptions: list | None = None,
    **fields,
) -> Provider:
    """Create a valid provider through the write path; ``fields`` override the defaults."""
    ensure_reference()
    n = next(_seq)
    area = Area.objects.get(code=area_code)
    data = {
        "name": f"テスト診療所{n}",
        "kana": f"テストシンリョウジョ{n}",
        "provider_type": type_code,
        "postal_code": "158-0097",
        "address": f"東京都世田谷区用賀{n % 4 + 1}-{n % 30 + 1}-{n % 20 + 1}",
        "latitude": Decimal(str(area.center_lat)),
        "longitude": Decimal(str(area.center_lng)),
        "area": area_code,
        "phone": f"03-{3000 + n % 6000:04d}-{n % 10000:04d}",
        "fax": "",
        "status": Provider.Status.ACTIVE,
    }
    data.update(fields)
    return providers.provider_create(
        data=data,
        capabilities=capabilities or {},
        periods=periods
        if periods is not None
        else [(d, dt.time(9), dt.time(18)) for d in range(5)],
        exceptions=exceptions or [],
        actor_kind=ProviderChange.Actor.SYSTEM,
        source="test",
    )
