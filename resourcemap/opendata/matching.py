"""Matching file rows to stored providers: every provider loaded once and looked up in memory."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ..models import Provider, ProviderExternalId, ProviderType
from .normalise import address_key, name_key


class _Index:
    """Every provider, loaded once, looked up by code, ナビイ ID and name/address keys."""

    def __init__(self):
        self.by_pk: dict[int, Provider] = {}
        self.medical: dict[str, int] = {}
        self.care: dict[tuple[str, int], int] = {}
        self.external: dict[tuple[str, str], int] = {}
        self.by_name_address: dict[tuple[int, str, str], list[int]] = {}
        self.by_address: dict[tuple[int, str], list[int]] = {}
        self.by_name: dict[tuple[int, str], list[int]] = {}
        for provider in Provider.objects.select_related("provider_type", "area"):
            self.add(provider)
        # Providers fed by two sources (staff merged a row into them): imports only fill gaps.
        self.merged: set[int] = set()
        for scheme, value, provider_id in ProviderExternalId.objects.values_list("scheme", "value", "provider_id"):
            self.external[(scheme, value)] = provider_id
            if scheme == ProviderExternalId.Scheme.SAME_AS:
                self.merged.add(provider_id)

    def same_as(self, data: Mapping[str, Any], ptype: ProviderType) -> Provider | None:
        """The provider that staff said a row with this name and address is (an earlier merge)."""
        found = self.external.get((ProviderExternalId.Scheme.SAME_AS, same_as_key(data, ptype)))
        return self.by_pk.get(found) if found is not None else None

    def add(self, provider: Provider) -> None:
        self.by_pk[provider.pk] = provider
        if provider.medical_code:
            self.medical[provider.medical_code] = provider.pk
        if provider.care_code:
            self.care[(provider.care_code, provider.provider_type_id)] = provider.pk
        name, address = name_key(provider.name), address_key(provider.address)
        type_id = provider.provider_type_id
        self.by_name_address.setdefault((type_id, name, address), []).append(provider.pk)
        self.by_address.setdefault((type_id, address), []).append(provider.pk)
        self.by_name.setdefault((type_id, name), []).append(provider.pk)


def same_as_key(data: Mapping[str, Any], ptype: ProviderType) -> str:
    """The id a merged row leaves on its provider: type, name and address, hashed to 40 characters."""
    text = "|".join((ptype.code, name_key(data.get("name", "")), address_key(data.get("address", ""))))
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _different_places(data: Mapping[str, Any], provider: Provider) -> bool:
    """True when codes or buildings show that a row and a provider are not the same office
    (several clinics in one building share the address)."""
    for key in ("medical_code", "care_code", "corporate_number"):
        if data.get(key) and getattr(provider, key) and getattr(provider, key) != data[key]:
            return True
    building = name_key(data.get("building", ""))
    return bool(building and provider.building and name_key(provider.building) != building)
