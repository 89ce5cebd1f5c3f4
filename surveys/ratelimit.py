"""Survey rate limits: per client address and per target, on the shared atomic counters.

- Access codes (typed from a letter, 60 bits): limited per client address and, for all
  clients together, per "every access code of the survey" — a guesser spread over many
  addresses is stopped too. Over either limit a right code is refused as well (otherwise the
  limit would tell a guesser when it is right); the page explains that the personal link or QR
  code of the letter still works.
- Personal links (160 bits, not guessable): wrong links are limited per client and for all
  clients together, but a right link is never counted and always opens, even when the address
  (e.g. a shared proxy) or everyone is over the limit.
- New registrations per client and for all clients together; correction reports per client and
  per provider.

Rates are settings (README "Configuration"); counting is ``resourcemap.ratelimits.hit``.
"""

from __future__ import annotations

from django.conf import settings

from resourcemap.ratelimits import hit


def _rate(name: str) -> str:
    return settings.RATELIMITS[name]


def code_guess_allowed(request) -> bool:
    """One typed access code: counted per client and for all codes together."""
    per_client = hit(request, "survey-code", _rate("survey_code"))
    every_code = hit(request, "survey-code-all", _rate("survey_code_all"), target="every-code")
    return per_client and every_code


def wrong_link_allowed(request) -> bool:
    """One wrong personal link: counted per client and for all links together (a right link
    is never counted and always opens)."""
    per_client = hit(request, "survey-link", _rate("survey_link"))
    every_link = hit(request, "survey-link-all", _rate("survey_link_all"), target="every-link")
    return per_client and every_link


def registration_allowed(request) -> bool:
    """One sent registration form: per client and for all clients together (a flood from many
    addresses cannot fill the staff queue)."""
    per_client = hit(request, "survey-register", _rate("survey_register"))
    everyone = hit(request, "survey-register-all", _rate("survey_register_all"), target="every-registration")
    return per_client and everyone


def correction_allowed(request, provider_id: int) -> bool:
    per_client = hit(request, "correction", _rate("correction"))
    per_provider = hit(
        request, "correction-provider", _rate("correction_provider"), target=str(provider_id)
    )
    return per_client and per_provider


def limit_of(name: str) -> int:
    """The number of tries in one window for a rate name (tests, messages)."""
    return int(_rate(name).split("/", 1)[0])
