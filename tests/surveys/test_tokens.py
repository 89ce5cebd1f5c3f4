"""Secret links and access codes: derived from the nonce and SECRET_KEY, typed forgivingly."""

from __future__ import annotations

from surveys import tokens


def test_link_and_code_follow_the_nonce_and_the_secret_key(settings):
    nonce = tokens.new_nonce()
    token, code = tokens.token_for(nonce), tokens.code_for(nonce)
    assert tokens.token_for(nonce) == token and tokens.code_for(nonce) == code  # letters reprint
    other = tokens.new_nonce()
    assert other != nonce and tokens.token_for(other) != token and tokens.code_for(other) != code
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert tokens.token_for(nonce) != token and tokens.code_for(nonce) != code


def test_token_is_160_bits_url_safe_and_recognised():
    token = tokens.token_for(tokens.new_nonce())
    assert len(token) == 27 and tokens.looks_like_token(token)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    for bad in ("", "short", "x" * 65, "has space in it at all here", "ünïcode" * 4, None):
        assert not tokens.looks_like_token(bad)


def test_code_uses_only_unambiguous_letters_and_prints_in_groups():
    codes = [tokens.code_for(tokens.new_nonce()) for _i in range(200)]
    assert all(len(code) == tokens.CODE_LENGTH for code in codes)
    assert not set("".join(codes)) & set("01OIL")
    printed = tokens.format_code(codes[0])
    assert printed.count("-") == 2 and printed.replace("-", "") == codes[0]


def test_typed_codes_are_forgiven_case_spaces_hyphens_and_full_width():
    code = tokens.code_for(tokens.new_nonce())
    printed = tokens.format_code(code)
    full_width = printed.lower().translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    for typed in (printed, printed.lower(), f"  {code[:4]} {code[4:8]}  {code[8:]} ", full_width):
        assert tokens.normalise_code(typed) == code
    assert tokens.normalise_code(None) == ""


def test_only_hashes_are_comparable_and_they_differ_per_secret():
    assert tokens.hash_secret("ABC") == tokens.hash_secret("ABC")
    assert tokens.hash_secret("ABC") != tokens.hash_secret("ABD")
    assert len(tokens.hash_secret("ABC")) == 64 and "ABC" not in tokens.hash_secret("ABC")
