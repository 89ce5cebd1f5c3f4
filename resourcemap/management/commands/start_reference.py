"""Write a starting reference file for another municipality (see README: 他の自治体で使う)."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

PREFECTURES = Path(settings.BASE_DIR) / "fixtures" / "prefectures.json"
# Words by the last character of the municipality's name (市 / 区 / 町 / 村).
WORDS = {
    "市": ("市職員", "City staff", "市の担当者", "the city staff"),
    "区": ("区職員", "Ward staff", "区の担当者", "the ward staff"),
    "町": ("町職員", "Town staff", "町の担当者", "the town staff"),
    "村": ("村職員", "Village staff", "村の担当者", "the village staff"),
}


def check_digit(code5: str) -> str:
    """Check digit of a 全国地方公共団体コード (JIS X 0402)."""
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def full_code(code: str) -> str:
    code = code.strip()
    if not code.isdigit() or len(code) not in (5, 6):
        raise ValueError("The municipality code has 5 digits, or 6 with the check digit (e.g. 35207 or 352071).")
    digit = check_digit(code[:5])
    if len(code) == 6 and code[5] != digit:
        raise ValueError(f"Wrong check digit: {code[:5]} has check digit {digit} ({code[:5]}{digit}).")
    return code[:5] + digit


def starting_reference(code: str, name: str, prefecture: str = "", districts: list[str] | None = None) -> dict:
    code = full_code(code)
    if not prefecture:
        prefecture = json.loads(PREFECTURES.read_text(encoding="utf-8"))["prefectures"].get(code[:2], "")
    staff, staff_en, office, office_en = WORDS.get(name[-1:], ("職員", "Staff", "担当者", "the staff"))
    region = "all"
    areas = [{"code": region, "name": name, "name_en": "", "kana": "", "level": "region", "parent": None,
              "sort_order": 100}]
    for index, district in enumerate(districts or [], start=1):
        areas.append({"code": f"d{index:02d}", "name": district, "name_en": "", "kana": "", "level": "district",
                      "parent": region, "sort_order": 100 + index, "towns": []})
    return {
        "municipality": {
            "code": code,
            "name": name,
            "name_en": "",
            "prefecture": prefecture,
            "map_title": f"{name}在宅療養資源マップ",
            "map_title_en": "",
            "contact_department": "（担当課の名前）",
            "contact_phone": "",
            "data_license": "CC BY 4.0",
            "district_label": "地区",
            "district_label_en": "District",
            "place_examples": "",
            "place_examples_en": "",
            "staff_title": staff,
            "staff_title_en": staff_en,
            "office_name": office,
            "office_name_en": office_en,
        },
        "areas": areas,
    }


class Command(BaseCommand):
    help = (
        "Write a minimal reference file for a municipality (code and name; prefecture from the "
        "code). Map centre, bounds and district centres are left out: they are derived from the "
        "imported providers. Edit the districts and their towns, then run load_reference --file."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="全国地方公共団体コード, 5 or 6 digits (e.g. 352071)")
        parser.add_argument("name", help="e.g. 下松市")
        parser.add_argument("--prefecture", default="", help="e.g. 山口県 (default: from the code)")
        parser.add_argument("--districts", default="", help="District names separated by commas")
        parser.add_argument("-o", "--output", help="File to write (default: print)")

    def handle(self, *args, code, name, prefecture, districts, output, **options):
        try:
            data = starting_reference(code, name, prefecture,
                                      [d.strip() for d in districts.replace("、", ",").split(",") if d.strip()])
        except ValueError as error:
            raise CommandError(str(error)) from error
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {output}: edit the districts, then manage.py load_reference --file {output}")
        else:
            self.stdout.write(text)
