"""The README's "Where things live" matches the tree: every module of the project's apps is
named there (with its package), and every file and folder it names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("resourcemap", "surveys", "jobs", "demo")
SKIPPED_DIRS = {".git", ".venv", "var", "media", "staticfiles", "node_modules", "__pycache__"}
FILE_RE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:py|json|html|md|csv))\b")


def _block() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Where things live\n", 1)[1]
    return section.split("```", 2)[1]


def _tree() -> set[str]:
    paths: set[str] = set()
    for top in ROOT.iterdir():
        if top.name in SKIPPED_DIRS:
            continue
        for path in [top, *(top.rglob("*") if top.is_dir() else [])]:
            if not SKIPPED_DIRS.intersection(path.parts):
                rel = path.relative_to(ROOT).as_posix()
                paths.add(rel + "/" if path.is_dir() else rel)
    return paths


def _modules() -> list[Path]:
    """Project modules a reader looks for (migrations, commands and package markers aside)."""
    return [
        path.relative_to(ROOT)
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if path.name != "__init__.py" and not {"migrations", "commands"}.intersection(path.parts)
    ]


def test_every_project_module_is_named_with_its_package():
    block = _block()
    names = set(re.findall(r"[\w.]+\.py", block)) | set(re.findall(r"\w+/", block))
    missing = [
        module.as_posix() for module in _modules()
        if module.name not in names or any(f"{part}/" not in names for part in module.parts[:-1])
    ]
    assert not missing, f"README 'Where things live' does not name: {', '.join(missing)}"


def test_every_file_and_folder_named_exists():
    block, tree = _block(), _tree()
    named = set(FILE_RE.findall(block))
    # Folders: the entries of the tree (first word of a line) and paths such as tests/browser/.
    named |= {line.split()[0] for line in block.splitlines() if line.strip() and line.split()[0].endswith("/")}
    named |= set(re.findall(r"(?<![\w/.-])((?:\.?[\w-]+/)+)(?!\w)", block))
    unknown = sorted(
        name for name in named
        if not any(path == name or path.endswith("/" + name) for path in tree)
    )
    assert not unknown, f"README 'Where things live' names what is not in the tree: {', '.join(unknown)}"
