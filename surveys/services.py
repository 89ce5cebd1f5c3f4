"""Survey services: issuing invitations, storing responses, reviewing and applying them.

Responses are proposals. ``approve_response`` is the only place a response reaches a provider,
and it does so through ``resourcemap.providers`` (the one write path).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from resourcemap import geo, links
from resourcemap import hours as hours_mod
from resourcemap import providers as provider_service
from resourcemap.models import Area, Capability, Provider, ProviderChange

from . import selectors, tokens
from .models import FIELD_LABELS, Correction, Invitation, Registration, Response, SurveyRound

# ---------------------------------------------------------------------------------------------
# Invitations


def _new_secrets() -> dict[str, str]:
    nonce = tokens.new_nonce()
    return {
        "nonce": nonce,
        "token_hash": tokens.hash_secret(tokens.token_for(nonce)),
        "code_hash": tokens.hash_secret(tokens.code_for(nonce)),
    }


@transaction.atomic
def issue_round(*, survey_round: SurveyRound) -> int:
    """One invitation per in-scope provider that has none yet; returns how many were created."""
    have = set(survey_round.invitations.values_list("provider_id", flat=True))
    new = [
        Invitation(survey_round=survey_round, provider_id=pk, **_new_secrets())
        for pk in selectors.in_scope_providers(survey_round).values_list("pk", flat=True)
        if pk not in have
    ]
    Invitation.objects.bulk_create(new, batch_size=500)
    survey_round.issued_at = survey_round.issued_at or timezone.now()
    survey_round.save(update_fields=["issued_at"])
    return len(new)


def invite_provider(*, survey_round: SurveyRound, provider: Provider) -> Invitation:
    invitation, _created = Invitation.objects.get_or_create(
        survey_round=survey_round, provider=provider, defaults=_new_secrets()
    )
    return invitation


@transaction.atomic
def reissue(*, invitation: Invitation) -> Invitation:
    """New link and code; the old ones stop working at once."""
    for name, value in _new_secrets().items():
        setattr(invitation, name, value)
    invitation.revoked_at = None
    invitation.issued_at = timezone.now()
    invitation.reissue_count += 1
    invitation.save()
    return invitation


def revoke(*, invitation: Invitation) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])


def invitation_token(invitation: Invitation) -> str:
    return tokens.token_for(invitation.nonce)


def invitation_code(invitation: Invitation) -> str:
    return tokens.format_code(tokens.code_for(invitation.nonce))


def invitation_url(invitation: Invitation) -> str:
    """Absolute personal link, from SITE_URL (never from a request's Host header)."""
    return links.absolute_url(
        reverse("surveys:open", kwargs={"token": invitation_token(invitation)})
    )


def start_url() -> str:
    return links.absolute_url(reverse("surveys:start"))


def _usable(queryset) -> Invitation | None:
    invitation = (
        queryset.select_related("survey_round", "provider", "provider__provider_type")
        .filter(revoked_at__isnull=True)
        .first()
    )
    if invitation is None or invitation.survey_round.has_closed():
        return None
    if invitation.survey_round.opens_on > timezone.localdate():
        return None
    return invitation


def find_by_token(token: str) -> Invitation | None:
    if not tokens.looks_like_token(token):
        return None
    return _usable(Invitation.objects.filter(token_hash=tokens.hash_secret(token)))


def find_by_code(typed: str) -> Invitation | None:
    code = tokens.normalise_code(typed)
    if len(code) != tokens.CODE_LENGTH:
        return None
    return _usable(Invitation.objects.filter(code_hash=tokens.hash_secret(code)))


# ---------------------------------------------------------------------------------------------
# What a round asks a provider


def asked_capabilities(survey_round: SurveyRound, provider: Provider) -> list[Capability]:
    qs = Capability.objects.filter(provider_types=provider.provider_type_id)
    chosen = list(survey_round.capabilities.values_list("pk", flat=True)) if survey_round.pk else []
    if chosen:
        qs = qs.filter(pk__in=chosen)
    return list(qs.order_by("sort_order", "code"))


def location_text(lat: Any, lng: Any) -> str:
    if lat in (None, "") or lng in (None, ""):
        return ""
    return f"{Decimal(str(lat)).quantize(Decimal('0.000001'))}, {Decimal(str(lng)).quantize(Decimal('0.000001'))}"


def snapshot_text(snapshot: Mapping[str, Any], key: str) -> str:
    """Comparable text of one key of a ``provider_snapshot``."""
    if key == "location":
        return location_text(snapshot.get("latitude"), snapshot.get("longitude"))
    value = snapshot.get(key)
    if key == "status":
        return str(Provider.Status(value).label) if value in Provider.Status.values else str(value or "")
    if isinstance(value, bool):
        return _("はい") if value else _("いいえ")
    return "" if value is None else str(value)


def _parse_date(value):
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _parse_time(value):
    """A stored proposal's time (``hours.fmt_time`` text), None for none."""
    if value in (None, ""):
        return None
    return hours_mod.parse_time(value) if isinstance(value, str) else value


def proposed_periods(proposed: Mapping[str, Any]) -> list[hours_mod.Period]:
    return [
        hours_mod.Period(int(wd), _parse_time(o), _parse_time(c))
        for wd, o, c in proposed.get("opening_periods", [])
    ]


def proposed_exceptions(proposed: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "start_date": _parse_date(e["start_date"]),
            "end_date": _parse_date(e.get("end_date") or e["start_date"]),
            "closed": bool(e.get("closed", True)),
            "opens": _parse_time(e.get("opens")),
            "closes": _parse_time(e.get("closes")),
            "note": e.get("note", ""),
        }
        for e in proposed.get("hours_exceptions", [])
    ]


def proposed_text(proposed: Mapping[str, Any], key: str) -> str:
    """The same text form as ``snapshot_text``, for the proposed value."""
    if key not in proposed and key != "location":
        return ""
    if key == "location":
        loc = proposed.get("location") or [None, None]
        return location_text(loc[0], loc[1])
    if key == "capabilities":
        return provider_service.capabilities_text(
            (code, v.get("count"), v.get("note", "")) for code, v in proposed[key].items()
        )
    if key == "opening_periods":
        return hours_mod.format_periods(proposed_periods(proposed))
    if key == "hours_exceptions":
        return hours_mod.format_exceptions(proposed_exceptions(proposed))
    return snapshot_text(proposed, key)


def to_plain_proposal(cleaned: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """JSON-able proposal from the form's cleaned values (only the asked keys)."""
    result: dict[str, Any] = {}
    for key in keys:
        if key == "location":
            lat, lng = cleaned.get("latitude"), cleaned.get("longitude")
            result[key] = [
                None if lat is None else str(Decimal(lat).quantize(Decimal("0.000001"))),
                None if lng is None else str(Decimal(lng).quantize(Decimal("0.000001"))),
            ]
        elif key == "capabilities":
            result[key] = {
                code: {"count": v.get("count"), "note": v.get("note", "")}
                for code, v in cleaned["capabilities"].items()
            }
        elif key == "opening_periods":
            result[key] = [
                [p.weekday, hours_mod.fmt_time(p.opens), hours_mod.fmt_time(p.closes)]
                for p in cleaned["opening_periods"]
            ]
        elif key == "hours_exceptions":
            result[key] = [
                {
                    "start_date": e["start_date"].isoformat(),
                    "end_date": e["end_date"].isoformat(),
                    "closed": e["closed"],
                    "opens": hours_mod.fmt_time(e["opens"]) if e.get("opens") else None,
                    "closes": hours_mod.fmt_time(e["closes"]) if e.get("closes") else None,
                    "note": e.get("note", ""),
                }
                for e in cleaned["hours_exceptions"]
            ]
        else:
            result[key] = cleaned.get(key)
    return result


def write_arguments(proposed: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Arguments for ``provider_update`` applying ``keys`` of a proposal."""
    changes: dict[str, Any] = {}
    args: dict[str, Any] = {"capabilities": None, "periods": None, "exceptions": None}
    for key in keys:
        if key not in proposed:
            continue
        if key == "location":
            lat, lng = proposed["location"]
            changes["latitude"] = None if lat is None else Decimal(lat)
            changes["longitude"] = None if lng is None else Decimal(lng)
        elif key == "capabilities":
            args["capabilities"] = proposed["capabilities"]
        elif key == "opening_periods":
            args["periods"] = proposed_periods(proposed)
        elif key == "hours_exceptions":
            args["exceptions"] = proposed_exceptions(proposed)
        else:
            changes[key] = proposed[key]
    args["changes"] = changes
    return args


def validate_proposal(provider: Provider, proposed: Mapping[str, Any]) -> dict[str, list[str]]:
    """The write path's own messages for a proposal (``provider_validate``: nothing is written).

    Returns errors keyed like the write path (field names, ``capabilities``,
    ``opening_periods``, ``hours_exceptions``); empty when the proposal could be applied.
    """
    return provider_service.provider_validate(
        provider=provider, **write_arguments(proposed, proposed.keys())
    )


# ---------------------------------------------------------------------------------------------
# Responses


class ResponseLocked(Exception):
    """The response was reviewed already (or the round closed): it cannot be revised."""


@transaction.atomic
def submit_response(
    *,
    invitation: Invitation,
    kind: str,
    proposed: Mapping[str, Any],
    snapshot: Mapping[str, Any],
    comment: str = "",
    closure_note: str = "",
    respondent_name: str = "",
    respondent_email: str = "",
    entered_by=None,
) -> Response:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    existing = Response.objects.filter(invitation=invitation).first()
    if existing and existing.is_reviewed:
        raise ResponseLocked
    if kind == Response.Kind.NO_CHANGE:
        proposed = {}
    values = {
        "survey_round_id": invitation.survey_round_id,
        "provider_id": invitation.provider_id,
        "kind": kind,
        "proposed": dict(proposed),
        "snapshot": dict(snapshot),
        "comment": comment,
        "closure_note": closure_note,
        "respondent_name": respondent_name,
        "respondent_email": respondent_email,
        "entered_by": entered_by if getattr(entered_by, "is_authenticated", False) else None,
        "submitted_at": timezone.now(),
        "status": Response.Status.NEW,
    }
    if existing:
        for name, value in values.items():
            setattr(existing, name, value)
        existing.revised_count += 1
        existing.save()
        return existing
    return Response.objects.create(invitation=invitation, **values)


@dataclass
class DiffRow:
    key: str
    label: str
    shown: str
    proposed: str
    live: str

    names: Mapping[str, str] | None = None

    def _human(self, text: str) -> str:
        """Capability codes as names (``mitori:7`` -> ``看取り・ターミナルケア:7``)."""
        if self.key != "capabilities" or not self.names or not text:
            return text
        parts = []
        for part in text.split("; "):
            code = re.match(r"[a-z0-9_]+", part)
            if code and code.group(0) in self.names:
                part = self.names[code.group(0)] + part[code.end():]
            parts.append(part)
        return "; ".join(parts)

    @property
    def shown_h(self) -> str:
        return self._human(self.shown)

    @property
    def proposed_h(self) -> str:
        return self._human(self.proposed)

    @property
    def live_h(self) -> str:
        return self._human(self.live)

    @property
    def changed(self) -> bool:
        """The provider proposes something different from what it was shown."""
        return self.proposed != self.shown

    @property
    def conflict(self) -> bool:
        """The live record changed after the provider opened the form."""
        return self.live != self.shown

    @property
    def already_live(self) -> bool:
        return self.proposed == self.live


def diff_rows(response: Response, provider: Provider | None = None) -> list[DiffRow]:
    provider = provider or response.provider
    live = provider_service.provider_snapshot(provider)
    names = dict(Capability.objects.values_list("code", "name")) if "capabilities" in response.proposed else {}
    rows = []
    for key, label in FIELD_LABELS.items():
        if key not in response.proposed:
            continue
        rows.append(
            DiffRow(
                key=key,
                label=str(label),
                shown=snapshot_text(response.snapshot, key),
                proposed=proposed_text(response.proposed, key),
                live=snapshot_text(live, key),
                names=names,
            )
        )
    return rows


def changed_rows(response: Response) -> list[DiffRow]:
    return [row for row in diff_rows(response) if row.changed]


def approval_source(response: Response, user) -> str:
    who = user.get_full_name() or user.get_username() if user else "-"
    return _("%(round)s 回答#%(pk)s 承認: %(who)s") % {
        "round": response.survey_round.name, "pk": response.pk, "who": who,
    }


@transaction.atomic
def approve_response(
    *, response: Response, keys: Iterable[str] | None, user, note: str = "", base_version: int | None = None
) -> Response:
    """Apply the chosen keys (all changed keys when ``None``) and confirm the record.

    ``base_version`` is the provider version the review page showed: a field changed after
    that, and proposed differently, raises ``ProviderConflict`` (see ``provider_update``).
    Raises ValidationError (nothing saved) when the result would be invalid.
    """
    response = Response.objects.select_for_update().select_related("survey_round", "provider").get(
        pk=response.pk
    )
    if response.is_reviewed:
        raise ResponseLocked
    changed = [row.key for row in changed_rows(response)]
    chosen = changed if keys is None else [k for k in changed if k in set(keys)]
    source = approval_source(response, user)
    # Shown on the public page as how the record was confirmed: no staff names there.
    public_source = _("%(round)s 回答#%(pk)s") % {"round": response.survey_round.name, "pk": response.pk}
    today = timezone.localdate()
    provider = response.provider
    if chosen:
        args = write_arguments(response.proposed, chosen)
        args["changes"]["last_confirmed_on"] = today
        args["changes"]["last_confirmed_source"] = public_source[:200]
        provider_service.provider_update(
            provider=provider, actor_kind=ProviderChange.Actor.SURVEY, user=user, source=source,
            base_version=base_version, **args,
        )
    else:
        # provider_confirm uses one text for history and last-confirmed; the approving staff
        # user is recorded on the history row itself.
        provider_service.provider_confirm(
            provider=provider, actor_kind=ProviderChange.Actor.SURVEY, user=user,
            source=public_source, on=today,
        )
    response.status = (
        Response.Status.APPROVED if set(chosen) == set(changed) else Response.Status.PARTLY
    )
    response.approved_keys = chosen
    response.reviewed_by = user
    response.reviewed_at = timezone.now()
    response.review_note = note
    response.save()
    return response


@transaction.atomic
def reject_response(*, response: Response, user, note: str) -> Response:
    response = Response.objects.select_for_update().get(pk=response.pk)
    if response.is_reviewed:
        raise ResponseLocked
    response.status = Response.Status.REJECTED
    response.approved_keys = []
    response.reviewed_by = user
    response.reviewed_at = timezone.now()
    response.review_note = note
    response.save()
    return response


def mark_in_review(response: Response) -> None:
    if response.status == Response.Status.NEW:
        Response.objects.filter(pk=response.pk, status=Response.Status.NEW).update(
            status=Response.Status.IN_REVIEW
        )
        response.status = Response.Status.IN_REVIEW


def bulk_approve_no_change(responses, *, user) -> tuple[int, int]:
    """Approve "変更なし" confirmations; returns (approved, skipped)."""
    approved = skipped = 0
    for response in responses.select_related("survey_round", "provider"):
        if response.kind != Response.Kind.NO_CHANGE or response.is_reviewed:
            skipped += 1
            continue
        approve_response(response=response, keys=None, user=user)
        approved += 1
    return approved, skipped


# ---------------------------------------------------------------------------------------------
# New registrations

# Fields of the registration form written to the new provider as they are.
REGISTRATION_FIELDS = (
    "name", "kana", "postal_code", "address", "building", "phone", "fax", "website", "email",
    "medical_code", "care_code", "latitude", "longitude",
)


@transaction.atomic
def register_provider(
    *,
    provider_type,
    fields: Mapping[str, Any],
    capabilities: Mapping[str, Mapping[str, Any]],
    periods: Iterable[hours_mod.Period],
    applicant_name: str,
    applicant_email: str = "",
    applicant_phone: str = "",
    comment: str = "",
) -> Registration:
    """A newly opened office registers itself: a pending provider and its registration.

    Nothing is public until staff approve (``approve_registration``). Raises ValidationError
    (nothing saved) when the write path refuses the data; its keys are provider field names.
    """
    data = {name: fields.get(name) for name in REGISTRATION_FIELDS}
    data = {k: v for k, v in data.items() if v not in (None, "")}
    data.update(
        provider_type=provider_type, status=Provider.Status.PENDING, contact_person=applicant_name,
        contact_email=applicant_email, contact_phone=applicant_phone,
    )
    area = geo.nearest_district(
        data.get("latitude"), data.get("longitude"), Area.objects.filter(level=Area.Level.DISTRICT)
    )
    if area:
        data["area"] = area
    provider = provider_service.provider_create(
        data=data, capabilities=capabilities, periods=periods,
        actor_kind=ProviderChange.Actor.SURVEY, source="新規登録の申込（事業所から）",
    )
    return Registration.objects.create(
        provider=provider, applicant_name=applicant_name, applicant_email=applicant_email,
        applicant_phone=applicant_phone, comment=comment,
    )

# A registration is reviewed against what the applicant sent: the provider's first version.
REGISTRATION_BASE_VERSION = 1


class RegistrationReviewed(Exception):
    """The registration was approved or rejected already (e.g. by another staff member)."""


@transaction.atomic
def approve_registration(*, registration: Registration, user) -> Registration:
    """Publish a newly registered provider: the provider and the registration in one transaction.

    The registration row is locked, so two staff approving at once publish it once (the other
    gets ``RegistrationReviewed``). Corrections staff made to the provider meanwhile are kept;
    if its status was changed meanwhile (e.g. to 廃止), ``ProviderConflict`` is raised and
    nothing is saved.
    """
    registration = (
        Registration.objects.select_for_update(of=("self",)).select_related("provider").get(pk=registration.pk)
    )
    if registration.status != Registration.Status.NEW:
        raise RegistrationReviewed
    source = _("新規登録の申込を承認: %(who)s") % {"who": user.get_username()}
    provider_service.provider_update(
        provider=registration.provider,
        changes={
            "status": Provider.Status.ACTIVE,
            "last_confirmed_on": timezone.localdate(),
            # Public (provider page, API, open data): how it was confirmed, never who (the
            # history row keeps the approving user).
            "last_confirmed_source": _("新規登録の申込"),
        },
        actor_kind=ProviderChange.Actor.STAFF, user=user, source=source,
        base_version=REGISTRATION_BASE_VERSION,
    )
    registration.status = Registration.Status.APPROVED
    registration.reviewed_by = user
    registration.reviewed_at = timezone.now()
    registration.save()
    return registration


@transaction.atomic
def reject_registrations(*, registrations, user) -> int:
    """Refuse the chosen registrations still waiting; returns how many were refused."""
    return registrations.filter(status=Registration.Status.NEW).update(
        status=Registration.Status.REJECTED, reviewed_by=user, reviewed_at=timezone.now()
    )


# ---------------------------------------------------------------------------------------------
# Correction reports


@transaction.atomic
def invite_for_correction(*, correction: Correction, survey_round: SurveyRound, user) -> Invitation:
    """Answer a correction report by inviting its provider to the running round.

    The provider gets an invitation (its existing one if it has one) and the report is marked
    「事業所に調査を依頼」; the caller sends the invitation (``emails.send_invitations``).
    """
    invitation = invite_provider(survey_round=survey_round, provider=correction.provider)
    correction.status = Correction.Status.INVITED
    correction.resolved_by = user
    correction.resolved_at = timezone.now()
    correction.save(update_fields=["status", "resolved_by", "resolved_at"])
    return invitation


@transaction.atomic
def resolve_corrections(*, corrections, user) -> int:
    """Mark the chosen reports as dealt with; returns how many changed."""
    return corrections.exclude(status=Correction.Status.RESOLVED).update(
        status=Correction.Status.RESOLVED, resolved_by=user, resolved_at=timezone.now()
    )
