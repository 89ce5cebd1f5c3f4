"""Survey queries: who a round is for, who has answered, who has not.

Read-only; the services (``surveys.services``) and the back office (``surveys.admin``) share
these, so "a non-respondent" or "in scope" means one thing everywhere.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.utils import timezone

from resourcemap.models import Provider

from .models import Invitation, SurveyRound

# Mailing and review order: by type as the reference data orders them, then 五十音.
PROVIDER_ORDER = ("provider__provider_type__sort_order", "provider__kana")


def in_scope_providers(survey_round: SurveyRound) -> QuerySet[Provider]:
    """Published providers of the types the round is for."""
    return Provider.objects.published().filter(provider_type__in=survey_round.provider_types.all())


def live_invitations(survey_round: SurveyRound) -> QuerySet[Invitation]:
    """The round's invitations that were not revoked."""
    return survey_round.invitations.filter(revoked_at__isnull=True)


def answered(invitations: QuerySet[Invitation]) -> QuerySet[Invitation]:
    return invitations.filter(response__isnull=False)


def unanswered(invitations: QuerySet[Invitation], *, paper_only: bool = False) -> QuerySet[Invitation]:
    """Invitations without a response; ``paper_only``: also without any e-mail address."""
    invitations = invitations.filter(response__isnull=True)
    if paper_only:
        invitations = invitations.filter(provider__contact_email="", provider__email="")
    return invitations


def non_respondents(survey_round: SurveyRound, *, paper_only: bool = False) -> QuerySet[Invitation]:
    """Live invitations of the round not answered yet, with their providers, in mailing order."""
    return (
        unanswered(live_invitations(survey_round), paper_only=paper_only)
        .select_related("provider", "provider__provider_type", "provider__area")
        .order_by(*PROVIDER_ORDER)
    )


def answer_counts(invitations: QuerySet[Invitation], field: str) -> list[dict]:
    """Per value of ``field`` (e.g. ``provider__area__name``): invitations and answers."""
    return list(
        invitations.values(field).annotate(total=Count("pk"), answered=Count("response")).order_by(field)
    )


def status_counts(survey_round: SurveyRound) -> dict[str, int]:
    """Responses of the round by review status."""
    return dict(survey_round.responses.values_list("status").annotate(n=Count("pk")).order_by())


def current_round() -> SurveyRound | None:
    """The round open today (the first one if several are)."""
    today = timezone.localdate()
    return SurveyRound.objects.filter(opens_on__lte=today, closes_on__gte=today).first()
