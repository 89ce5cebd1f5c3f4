"""Public survey pages: start (access code), personal link, the provider form, receipt,
new registration and correction reports.

Every page here is private to one provider or a form: never indexed, never cached, and no
Referer leaves it (the personal link must not travel to other sites).
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from resourcemap import hours as hours_mod
from resourcemap import providers as provider_service
from resourcemap import ratelimits
from resourcemap.models import Provider

from . import emails, ratelimit, services, tokens
from .forms import (
    AccessCodeForm,
    CorrectionForm,
    RegistrationForm,
    SurveyForm,
    exceptions_lines,
)
from .models import Invitation, Response

SESSION_KEY = "surveys_invitation"
SNAPSHOT_KEY = "surveys_snapshot"


def private_page(view):
    """noindex, no Referer to other sites, no caching."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        # same-origin: no Referer to other sites. ("no-referrer" would make browsers send
        # "Origin: null" on form posts, which CSRF protection rightly refuses.)
        response["Referrer-Policy"] = "same-origin"
        add_never_cache_headers(response)
        return response

    return wrapped


def too_many(request):
    return ratelimits.too_many(request, template="surveys/too_many.html")


def invalid_link(request):
    """The one page for wrong, revoked, expired or not-yet-open links and codes."""
    return render(request, "surveys/invalid.html", status=404)


def _login(request, invitation: Invitation) -> None:
    request.session.cycle_key()
    # Ends when the browser closes (care offices share computers); the letter opens it again.
    request.session.set_expiry(0)
    request.session[SESSION_KEY] = [invitation.pk, tokens.hash_secret(invitation.nonce)]
    request.session.pop(SNAPSHOT_KEY, None)
    if invitation.opened_at is None:
        Invitation.objects.filter(pk=invitation.pk).update(opened_at=timezone.now())


def _session_invitation(request) -> Invitation | None:
    value = request.session.get(SESSION_KEY)
    if not value or not isinstance(value, list) or len(value) != 2:
        return None
    invitation = (
        Invitation.objects.select_related("survey_round", "provider", "provider__provider_type")
        .filter(pk=value[0])
        .first()
    )
    if invitation is None or tokens.hash_secret(invitation.nonce) != value[1]:
        return None
    if not invitation.is_usable or invitation.survey_round.opens_on > _today():
        return None
    return invitation


def _today():
    return timezone.localdate()


@sensitive_post_parameters("code")
@private_page
@require_http_methods(["GET", "POST"])
def start(request):
    form = AccessCodeForm(request.POST or None)
    if request.method == "POST":
        if not ratelimit.code_guess_allowed(request):
            return too_many(request)
        if form.is_valid():
            invitation = services.find_by_code(form.cleaned_data["code"])
            if invitation is None:
                return invalid_link(request)
            _login(request, invitation)
            return HttpResponseRedirect(reverse("surveys:form"))
    return render(request, "surveys/start.html", {"form": form})


@sensitive_variables("token")
@private_page
def open_link(request, token: str):
    """Exchange the personal link for a session entry, then 303 to the token-free form URL.

    The token leaves the address bar, the browser history and any Referer at once; the log
    lines of refused links are redacted (``resourcemap.logfilters``).
    """
    invitation = services.find_by_token(token)
    if invitation is None:
        # Only wrong links are counted and refused over the limit: the right one always opens.
        return invalid_link(request) if ratelimit.wrong_link_allowed(request) else too_many(request)
    _login(request, invitation)
    response = HttpResponseRedirect(reverse("surveys:form"))
    response.status_code = 303
    return response


def initial_from_proposal(response: Response, form: SurveyForm) -> dict:
    """Show a provider its own earlier answer when it comes back to revise it."""
    proposed = response.proposed
    initial = {}
    for key, value in proposed.items():
        if key == "location":
            initial["latitude"], initial["longitude"] = value
        elif key == "capabilities":
            for cap in getattr(form, "capability_list", []):
                have = value.get(cap.code)
                initial[f"cap_{cap.code}"] = have is not None
                initial[f"count_{cap.code}"] = (have or {}).get("count")
                initial[f"note_{cap.code}"] = (have or {}).get("note", "")
        elif key == "opening_periods":
            periods = services.proposed_periods(proposed)
            for weekday in range(8):
                initial[f"hours_{weekday}"] = hours_mod.format_day(periods, weekday)
        elif key == "hours_exceptions":
            initial[key] = exceptions_lines(services.proposed_exceptions(proposed))
        else:
            initial[key] = value
    for name in ("comment", "closure_note", "respondent_name", "respondent_email"):
        initial[name] = getattr(response, name)
    return initial


def survey_form_page(request, invitation: Invitation, *, staff_user=None):
    """The provider form; also used by staff entering a paper/FAX answer (``staff_user``)."""
    existing = Response.objects.filter(invitation=invitation).first()
    if existing and existing.is_reviewed:
        return render(request, "surveys/reviewed.html", {"invitation": invitation, "response": existing})
    snapshot_key = f"{SNAPSHOT_KEY}_{invitation.pk}"
    if request.method == "POST" and request.POST.get("no_change"):
        # One click: the provider confirms the record as shown; no field is read.
        snapshot = request.session.get(snapshot_key) or provider_service.provider_snapshot(
            invitation.provider
        )
        try:
            response = services.submit_response(
                invitation=invitation, kind=Response.Kind.NO_CHANGE, proposed={},
                snapshot=snapshot, comment=(request.POST.get("comment") or "")[:2000],
                entered_by=staff_user,
            )
        except services.ResponseLocked:
            return render(request, "surveys/reviewed.html", {"invitation": invitation, "response": existing})
        request.session.pop(snapshot_key, None)
        if staff_user is not None:
            return HttpResponseRedirect(reverse("admin:surveys_response_change", args=[response.pk]))
        emails.send_receipt(response)
        return HttpResponseRedirect(reverse("surveys:done"))
    if request.method == "POST":
        form = SurveyForm(request.POST, invitation=invitation)
        if form.is_valid():
            snapshot = request.session.get(snapshot_key) or provider_service.provider_snapshot(
                invitation.provider
            )
            cleaned = form.cleaned_data
            proposal = form.proposal
            shown_equal = all(
                    services.proposed_text(proposal, k) == services.snapshot_text(snapshot, k)
                for k in proposal
            )
            no_change = shown_equal and not cleaned.get("closure_note")
            try:
                response = services.submit_response(
                    invitation=invitation,
                    kind=Response.Kind.NO_CHANGE if no_change else Response.Kind.UPDATE,
                    proposed=proposal,
                    snapshot=snapshot,
                    comment=cleaned.get("comment", ""),
                    closure_note=cleaned.get("closure_note", ""),
                    respondent_name=cleaned.get("respondent_name", ""),
                    respondent_email=cleaned.get("respondent_email", ""),
                    entered_by=staff_user,
                )
            except services.ResponseLocked:
                return render(request, "surveys/reviewed.html", {"invitation": invitation, "response": existing})
            request.session.pop(snapshot_key, None)
            if staff_user is not None:
                return HttpResponseRedirect(
                    reverse("admin:surveys_response_change", args=[response.pk])
                )
            emails.send_receipt(response)
            return HttpResponseRedirect(reverse("surveys:done"))
    else:
        form = SurveyForm(invitation=invitation)
        if existing:
            form = SurveyForm(invitation=invitation, initial=initial_from_proposal(existing, form))
        request.session[snapshot_key] = provider_service.provider_snapshot(invitation.provider)
    return render(request, "surveys/form.html", {
        "form": form,
        "invitation": invitation,
        "survey_round": invitation.survey_round,
        "provider": invitation.provider,
        "existing": existing,
        "staff_user": staff_user,
        "MAP_TILE_URL": settings.MAP_TILE_URL,
    })


@private_page
@require_http_methods(["GET", "POST"])
def survey_form(request):
    invitation = _session_invitation(request)
    if invitation is None:
        return invalid_link(request)
    return survey_form_page(request, invitation)


@private_page
def done(request):
    invitation = _session_invitation(request)
    if invitation is None:
        return invalid_link(request)
    response = Response.objects.filter(invitation=invitation).first()
    if response is None:
        return HttpResponseRedirect(reverse("surveys:form"))
    return render(request, "surveys/done.html", {
        "invitation": invitation,
        "survey_round": invitation.survey_round,
        "response": response,
        "rows": services.changed_rows(response),
    })


@private_page
def leave(request):
    request.session.pop(SESSION_KEY, None)
    return HttpResponseRedirect(reverse("surveys:start"))


# ---------------------------------------------------------------------------------------------
# New providers and corrections


@private_page
@require_http_methods(["GET", "POST"])
def register(request):
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        if not ratelimit.registration_allowed(request):
            return too_many(request)
        if form.is_spam:
            # Look exactly like success; store nothing.
            return HttpResponseRedirect(reverse("surveys:register_done"))
        if form.is_valid():
            cleaned = form.cleaned_data
            try:
                registration = services.register_provider(
                    provider_type=cleaned["provider_type"], fields=cleaned,
                    capabilities=cleaned["capabilities"], periods=cleaned["opening_periods"],
                    applicant_name=cleaned["applicant_name"],
                    applicant_email=cleaned.get("applicant_email", ""),
                    applicant_phone=cleaned.get("applicant_phone", ""),
                    comment=cleaned.get("comment", ""),
                )
            except ValidationError as error:
                for key, messages in error.message_dict.items():
                    target = key if key in form.fields else None
                    for message in messages:
                        form.add_error(target, message)
            else:
                emails.notify_staff_registration(registration.provider)
                return HttpResponseRedirect(reverse("surveys:register_done"))
    return render(request, "surveys/register.html", {"form": form})


@private_page
def register_done(request):
    return render(request, "surveys/register_done.html")


@private_page
@require_http_methods(["GET", "POST"])
def report_correction(request, pk: int):
    provider = get_object_or_404(Provider.objects.published(), pk=pk)
    form = CorrectionForm(request.POST or None)
    if request.method == "POST":
        if not ratelimit.correction_allowed(request, provider.pk):
            return too_many(request)
        if form.is_spam:
            return HttpResponseRedirect(reverse("surveys:correction_done", args=[provider.pk]))
        if form.is_valid():
            correction = form.save(commit=False)
            correction.provider = provider
            correction.save()
            return HttpResponseRedirect(reverse("surveys:correction_done", args=[provider.pk]))
    return render(request, "surveys/correction.html", {"form": form, "provider": provider})


@private_page
def correction_done(request, pk: int):
    provider = Provider.objects.published().filter(Q(pk=pk)).first()
    if provider is None:
        raise Http404
    return render(request, "surveys/correction_done.html", {"provider": provider})


def robots_txt(request):
    """Keep personal survey links and the survey forms out of search engines."""
    lines = ["User-agent: *"]
    for prefix in ("/survey/", "/en/survey/", "/admin/"):
        lines.append(f"Disallow: {prefix}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
