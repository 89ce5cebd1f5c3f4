"""Secret links and access codes for invitations.

The link token (160 bits) and the access code (60 bits, typed from paper) are derived with
HMAC-SHA256 from the SECRET_KEY and a random per-invitation nonce (256 bits). The database holds
only the nonce and SHA-256 hashes of token and code, so a copy of the database alone opens no
survey, while letters and e-mails can be produced again at any time. Re-issuing draws a new
nonce, which revokes the old link and code.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import unicodedata

from django.utils.crypto import salted_hmac

# No 0/O, 1/I/L: easy to read aloud and to type from a letter.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
_SALT = "surveys.invitation"


def new_nonce() -> str:
    return secrets.token_hex(32)


def _digest(nonce: str, purpose: str) -> bytes:
    return salted_hmac(f"{_SALT}.{purpose}", nonce, algorithm="sha256").digest()


def token_for(nonce: str) -> str:
    return base64.urlsafe_b64encode(_digest(nonce, "link")[:20]).decode().rstrip("=")


def code_for(nonce: str) -> str:
    number = int.from_bytes(_digest(nonce, "code"), "big")
    chars = []
    for _i in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)


def format_code(code: str) -> str:
    """``ABCD-EFGH-JKMN`` for printing."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(typed: str) -> str:
    """Accept lower case, spaces, hyphens and full-width characters."""
    text = unicodedata.normalize("NFKC", typed or "").upper()
    return re.sub(r"[^A-Z0-9]", "", text)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def looks_like_token(value: str) -> bool:
    return bool(_TOKEN_RE.match(value or ""))
