"""English pages and the completeness of the English catalog (Japanese is the source language)."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from tests.factories import make_provider

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"


def text(response) -> str:
    """The visible text of a page, with whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- pages -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _japanese_after_each_test():
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_front_page_in_english(client, reference):
    make_provider(name="さくら訪問看護", type_code="nursing", capabilities={"h24": None})
    make_provider(name="ひまわり薬局", type_code="pharmacy")

    response = client.get("/en/?type=nursing&cap=h24")

    assert response.status_code == 200
    assert '<html lang="en">' in response.content.decode()
    body = text(response)
    assert "Find home care providers" in body
    assert "Skip to main content" in body
    assert "Search by place" in body
    assert "1 provider found" in body
    assert "Sort order: Name (A–Z)" in body
    # Type and capability names come from the reference data's English names.
    assert "Type: Home-visit nursing station" in body
    assert "Services offered: 24-hour support" in body
    assert "さくら訪問看護" in body
    assert "ひまわり薬局" not in body
    # No Japanese UI strings leak through.
    for japanese in (
        "在宅療養の事業所をさがす",
        "件見つかりました",
        "訪問看護ステーション",
        "並び順",
    ):
        assert japanese not in body


def test_english_plural_forms(client, reference):
    make_provider(type_code="pharmacy")
    make_provider(type_code="pharmacy")

    body = text(client.get("/en/?type=pharmacy"))

    assert "2 providers found" in body


def test_provider_page_in_english(client, reference):
    provider = make_provider(name="さくら訪問看護", type_code="nursing", capabilities={"h24": None})

    response = client.get(f"/en/providers/{provider.pk}/")

    assert response.status_code == 200
    body = text(response)
    assert "Home-visit nursing station" in body
    assert "訪問看護ステーション" not in body
    assert "24-hour support" in body
    for english in (
        "Contact and location",
        "Opening hours",
        "Services offered",
        "Report incorrect information",
        "Printable page",
        "Back to the map and list",
    ):
        assert english in body
    for japanese in ("連絡先と場所", "営業時間", "情報のまちがいを知らせる"):
        assert japanese not in body


def test_pages_in_japanese(client, reference):
    provider = make_provider(name="さくら訪問看護", type_code="nursing", capabilities={"h24": None})

    front = client.get("/?type=nursing")
    detail = client.get(f"/providers/{provider.pk}/")

    assert '<html lang="ja">' in front.content.decode()
    front_body = text(front)
    assert "在宅療養の事業所をさがす" in front_body
    assert "1件見つかりました" in front_body
    assert "種別: 訪問看護ステーション" in front_body
    assert "Find home care providers" not in front_body
    detail_body = text(detail)
    assert "訪問看護ステーション" in detail_body
    assert "連絡先と場所" in detail_body
    assert "24時間対応" in detail_body
    assert "Contact and location" not in detail_body
    assert "Home-visit nursing station" not in detail_body


def test_gettext_in_english():
    expected = {
        "在宅療養資源マップ": "Home Care Resource Map",
        "五十音順": "Name (A–Z)",
        "地域": "Region",
        "地区": "District",
        "調査": "Survey",
    }
    with translation.override("en"):
        for japanese, english in expected.items():
            assert translation.gettext(japanese) == english


# -- catalog -----------------------------------------------------------------


def parse_po(path: Path) -> list[dict]:
    """A small .po reader: entries with msgctxt, msgid, msgid_plural, msgstr(s) and flags."""
    entries: list[dict] = []
    entry: dict = {}
    field = None

    def finish():
        nonlocal entry
        if "msgid" in entry:
            entries.append(entry)
        entry = {}

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            field = None
            continue
        if line.startswith("#~"):  # obsolete entries are not used
            continue
        has_msgstr = any(key.startswith("msgstr") for key in entry)
        if line.startswith("#"):
            if has_msgstr:
                finish()
            if line.startswith("#,"):
                entry.setdefault("flags", set()).update(
                    flag.strip() for flag in line[2:].split(",")
                )
            entry.setdefault("line", number)
            continue
        match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line)
        if match:
            keyword, quoted = match.groups()
            if keyword in ("msgctxt", "msgid") and has_msgstr:
                finish()
            field = keyword
            entry.setdefault("line", number)
            entry[field] = ast.literal_eval(quoted)
        elif line.startswith('"') and field is not None:
            entry[field] += ast.literal_eval(line)
        else:
            raise AssertionError(f"{path.name}:{number}: cannot parse {raw!r}")
    finish()
    return entries


@pytest.fixture(scope="module")
def catalog() -> list[dict]:
    assert PO_FILE.exists(), "run makemessages -l en"
    entries = parse_po(PO_FILE)
    assert entries[0]["msgid"] == "", "the catalog starts with its header"
    return entries


def translations(entry: dict) -> list[str]:
    return [value for key, value in entry.items() if key.startswith("msgstr")]


def test_catalog_is_fully_translated(catalog):
    problems = []
    for entry in catalog[1:]:
        where = f"django.po:{entry['line']} {entry['msgid'][:40]!r}"
        if "fuzzy" in entry.get("flags", ()):
            problems.append(f"{where}: fuzzy")
        strings = translations(entry)
        expected = 2 if "msgid_plural" in entry else 1
        if len(strings) < expected or not all(strings):
            problems.append(f"{where}: untranslated")
    assert len(catalog) > 700
    assert not problems, "\n".join(problems)


def test_catalog_keeps_placeholders(catalog):
    placeholder = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdf]|%[sd]|\{\w*\}|</?[a-z]+>")
    problems = []
    for entry in catalog[1:]:
        wanted = set(placeholder.findall(entry["msgid"] + entry.get("msgid_plural", "")))
        for string in translations(entry):
            if string and set(placeholder.findall(string)) != wanted:
                problems.append(f"django.po:{entry['line']} {entry['msgid'][:40]!r}")
    assert not problems, "\n".join(problems)


def test_compiled_catalog_matches_the_po_file(catalog):
    """The .mo file is committed (no gettext tools needed at run time) and must be current."""
    assert MO_FILE.exists(), "run compilemessages"
    with MO_FILE.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in catalog[1:]:
        msgid, context = entry["msgid"], entry.get("msgctxt")
        if "msgid_plural" in entry:
            got = [
                compiled.npgettext(context, msgid, entry["msgid_plural"], n)
                if context
                else compiled.ngettext(msgid, entry["msgid_plural"], n)
                for n in (1, 2)
            ]
            want = [entry["msgstr[0]"], entry["msgstr[1]"]]
        else:
            got = [compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)]
            want = [entry["msgstr"]]
        if got != want:
            stale.append(f"django.po:{entry['line']} {msgid[:40]!r}")
    assert not stale, "run compilemessages:\n" + "\n".join(stale)


# Which arguments of each translation function are (context, singular, plural) strings.
TRANSLATION_FUNCTIONS = {
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}


def marked_strings() -> dict[tuple[str | None, str], str]:
    """Strings the project's Python code marks for translation, under whatever local name.

    Catches names that the message extraction does not recognise (e.g. ``gettext_lazy as
    _lazy``): their strings would silently stay Japanese on English pages.
    """
    base = Path(settings.BASE_DIR)
    found: dict[tuple[str | None, str], str] = {}
    apps = [path.parent for path in base.glob("*/apps.py")]
    for path in sorted(file for app in apps for file in app.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        local = {
            alias.asname or alias.name: alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
            for alias in node.names
            if alias.name in TRANSLATION_FUNCTIONS
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name):
                name = local.get(func.id)
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                name = func.attr if func.value.id == "translation" else None
            else:
                name = None
            if name not in TRANSLATION_FUNCTIONS:
                continue
            context_at, singular_at, plural_at = TRANSLATION_FUNCTIONS[name]
            args = [
                arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
                for arg in node.args
            ]
            if len(args) <= singular_at or args[singular_at] is None:
                continue
            context = args[context_at] if context_at is not None else None
            where = f"{path.relative_to(base)}:{node.lineno}"
            found[(context, args[singular_at])] = where
            if plural_at is not None and len(args) > plural_at and args[plural_at]:
                found.setdefault((context, args[plural_at]), where)
    return found


def test_every_string_marked_in_code_is_in_the_catalog(catalog):
    known = {(entry.get("msgctxt"), entry["msgid"]) for entry in catalog}
    known |= {
        (entry.get("msgctxt"), entry["msgid_plural"])
        for entry in catalog
        if "msgid_plural" in entry
    }
    marked = marked_strings()
    assert len(marked) > 300
    missing = [
        f"{where}: {msgid!r}"
        for (context, msgid), where in marked.items()
        if (context, msgid) not in known
    ]
    assert not missing, "not in the English catalog:\n" + "\n".join(sorted(missing))
