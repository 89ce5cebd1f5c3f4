"""The search in words: one line per condition, as shown above a result."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .. import hours as hours_mod
from ..language import join_list
from ..models import Area, Capability, ProviderType
from .params import _DATE_RE


def conditions(cleaned: Mapping, now: dt.datetime | None = None) -> list[str]:
    types = {t.code: t for t in ProviderType.objects.filter(code__in=cleaned.get("type", []))}
    caps = {c.code: c for c in Capability.objects.filter(code__in=cleaned.get("cap", []))}
    out: list[str] = []
    if cleaned.get("type"):
        out.append(_("種別: %(names)s") % {"names": join_list(types[c].display_name for c in cleaned["type"])})
    if cleaned.get("cap"):
        out.append(
            _("対応できること: %(names)s") % {"names": join_list(caps[c].display_name for c in cleaned["cap"])}
        )
    area_code = cleaned.get("district") or cleaned.get("region")
    if area_code:
        area = Area.objects.filter(code=area_code).first()
        if area is not None:
            if area.level == Area.Level.DISTRICT:
                out.append(_("地区: %(name)s") % {"name": area.display_name})
            else:
                out.append(_("地域: %(name)s") % {"name": area.display_name})
    if cleaned.get("q"):
        out.append(_("キーワード: %(q)s") % {"q": cleaned["q"]})
    if cleaned.get("open") == "now":
        out.append(_("いま営業中"))
    elif cleaned.get("open") == "at":
        day = cleaned.get("day")
        if day and _DATE_RE.match(day):
            label = date_format(dt.date.fromisoformat(day), _("Y年n月j日"))
        elif day == "holiday":
            label = _("祝日")
        elif day:
            label = str(hours_mod.WEEKDAY_NAMES[int(day)])
        else:
            label = _("今日")
        if cleaned.get("time"):
            out.append(_("%(day)s %(time)s に営業") % {"day": label, "time": cleaned["time"]})
        else:
            out.append(_("%(day)sに営業") % {"day": label})
    if cleaned.get("nightholiday"):
        out.append(_("夜間（20時以降・7時前）や日曜・祝日も営業・連絡できる"))
    if cleaned.get("lat"):
        where = cleaned.get("place") or _("指定した場所")
        if cleaned.get("radius"):
            radius = int(cleaned["radius"])
            distance = (
                _("%(km)s km") % {"km": f"{radius / 1000:g}"} if radius >= 1000 else _("%(m)d m") % {"m": radius}
            )
            out.append(_("%(place)sから%(distance)s以内") % {"place": where, "distance": distance})
        else:
            out.append(_("%(place)sの近く") % {"place": where})
    if cleaned.get("ids"):
        out.append(_("選んだ事業所（%(n)d件）") % {"n": len(cleaned["ids"])})
    sort_labels = {"kana": _("五十音順"), "distance": _("近い順"), "area": _("地域・地区順")}
    out.append(_("並び順: %(sort)s") % {"sort": sort_labels[cleaned.get("sort", "kana")]})
    return out
