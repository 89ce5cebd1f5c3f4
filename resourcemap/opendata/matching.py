"""Matching the rows of an import to stored providers: one rule for every importer (the staff
sheet in ``resources.py`` and the public files of this package).

Every provider is loaded once (:class:`ProviderIndex`) and looked up in memory, in order:

1. 医療機関コード;
2. 介護保険事業所番号 + type (one office number is shared by its services);
3. an external id (ナビイ ID);
4. name + address of the same type, where names and addresses written differently match
   (``生野屋南一丁目10番1号`` = ``生野屋南1-10-1``, full/half width, spaces).

A row is never made a second provider silently: two stored providers with that name and
address, or one whose codes differ from the row's, or one of the same type at the same
address or with the same name (unless codes or buildings show another office), make the row a
problem for staff to decide (:attr:`Match.problem`), as does a second row for the same office
in one file. Rows are compared with the providers stored before the import (new rows of one
file with each other only by that same-office key). The public-file import also honours staff
merges (``ProviderIndex.same_as``) before calling a row a problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from ..models import Provider, ProviderExternalId, ProviderType
from .normalise import address_key, name_key


class ProviderIndex:
    """Every provider, loaded once, looked up by code, external id and name/address keys."""

    def __init__(self):
        self.by_pk: dict[int, Provider] = {}
        self.medical: dict[str, int] = {}
        self.care: dict[tuple[str, int], int] = {}
        self.external: dict[tuple[str, str], int] = {}
        self.by_name_address: dict[tuple[int, str, str], list[int]] = {}
        self.by_address: dict[tuple[int, str], list[int]] = {}
        self.by_name: dict[tuple[int, str], list[int]] = {}
        # Rows already matched in this file: key -> file line.
        self.seen: dict[tuple, int] = {}
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


@dataclass(frozen=True)
class Match:
    """What an import row is: a stored provider, new, or a problem for staff (the message)."""

    provider: Provider | None = None
    problem: str = ""
    # The field the problem is about (the column staff look at).
    field: str = "name"
    # The stored provider the row may be (staff decide), if one.
    likely: Provider | None = None
    # The problem is a second row for the same office in one file.
    duplicate: bool = False


def _row_key(data: Mapping[str, Any], type_id: int | None, external_id: str) -> tuple:
    if data.get("medical_code"):
        return ("medical", data["medical_code"])
    if data.get("care_code"):
        return ("care", data["care_code"], type_id)
    if external_id:
        return ("external", external_id)
    return ("name", type_id, name_key(data.get("name") or ""), address_key(data.get("address") or ""))


def _likely_problem(provider: Provider) -> str:
    return _(
        "登録済みの「%(name)s」（%(address)s、ID %(id)d）と同じ事業所かもしれません。"
        "同じなら、その事業所に%(code)sを書き足してから取り込み直してください。"
        "別の事業所なら、名称か住所の違いが分かるように直してください。"
    ) % {"name": provider.name, "address": provider.address, "id": provider.pk,
         "code": _("事業所番号などのコード")}


def provider_match(
    data: Mapping[str, Any], *, type_id: int | None, index: ProviderIndex, line: int,
    external_id: str = "",
) -> Match:
    """The stored provider an import row (``data``: model field -> value, file line ``line``)
    of type ``type_id`` is, by the rule in this module's docstring."""
    key = _row_key(data, type_id, external_id)
    first = index.seen.get(key)
    if first is not None:
        field = {"medical": "medical_code", "care": "care_code"}.get(key[0], "name")
        return Match(problem=_("%(line)d行目と同じ事業所です（同じファイルに2回あります）。") % {"line": first},
                     field=field, duplicate=True)
    index.seen[key] = line
    found_id = None
    if data.get("medical_code"):
        found_id = index.medical.get(data["medical_code"])
    if found_id is None and data.get("care_code"):
        found_id = index.care.get((data["care_code"], type_id))
    if found_id is None and external_id:
        found_id = index.external.get((ProviderExternalId.Scheme.NAVII, external_id))
    if found_id is not None:
        return Match(provider=index.by_pk[found_id])
    name, address = name_key(data.get("name") or ""), address_key(data.get("address") or "")
    candidates = index.by_name_address.get((type_id, name, address), [])
    if len(candidates) > 1:
        return Match(problem=_(
            "同じ名称・住所の事業所が複数登録されています。医療機関コードか事業所番号を入れてください。"
        ))
    if candidates:
        found = index.by_pk[candidates[0]]
        clash = any(
            data.get(key) and getattr(found, key) and getattr(found, key) != data[key]
            for key in ("medical_code", "care_code")
        )
        if not clash:
            return Match(provider=found)
        return Match(problem=_likely_problem(found), likely=found)
    likely = [
        pk for pk in index.by_address.get((type_id, address), []) + index.by_name.get((type_id, name), [])
        if not _different_places(data, index.by_pk[pk])
    ]
    if likely:
        found = index.by_pk[likely[0]]
        return Match(problem=_likely_problem(found), likely=found)
    return Match()
