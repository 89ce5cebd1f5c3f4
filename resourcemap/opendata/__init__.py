"""Japanese public provider lists: import (five layouts) and the municipal-standard export.

Import (``import_file``) reads a CSV in one of these layouts (see DATA-FORMATS.md), detected
from the header row and always read by column *name* (alias tables below, never position):

- ``mhlw``: 介護サービス情報公表システム open data (``jigyosho_{code}.csv``, 24 columns);
- ``v1_medical`` / ``v1_care``: 推奨データセット v1 医療機関一覧 / 介護サービス事業所一覧, also
  as municipalities publish them (prefecture code or name in the first column, 市区町村名 or
  市町村, 所在地 instead of 住所, blank カナ);
- ``standard``: 自治体標準オープンデータセット (current header block: 名称_英字 or 名称_英語,
  所在地_連結表記 …), including the portal's own export (its 種別 column is read as well);
- ``navii``: 医療情報ネット（ナビイ） facility files (病院・診療所・歯科診療所・薬局), optionally with
  the matching ``*_speciality_hours`` file for opening times.

Rules:

- Rows outside ``Municipality.current()`` (by 全国地方公共団体コード, by 都道府県コード +
  市区町村コード, or by 市区町村名) are counted as skipped, never imported.
- The type comes from the service code (サービスの種類 / 実施サービス -> ``ProviderType.service_code``),
  from the service *name* (the type's name or one of its ``import_names``; full/half width,
  spaces, bracketed additions such as （複合型サービス） and a trailing 事業所 do not matter),
  from the code in the file name (``jigyosho_770.csv``), from 医療機関の種類
  (``ProviderType.medical_kinds``), from ナビイ 機関区分 / the file kind, or from the portal's 種別
  column. A row whose 実施サービス lists several mapped services becomes one provider per type.
  Services the map does not list are counted ("not on this map"), never errors.
- Names, addresses and phone numbers are normalised (NFKC; odd hyphens such as ₋ ‐ − – — in
  numbers become ``-``; a phone that lost its leading zero in a spreadsheet gets it back).
  The building (方書) is stored once: MHLW 住所 already ends with it and it is cut off there.
- Matching (in memory, one query for all providers): 医療機関コード, (介護保険事業所番号, type),
  ナビイ ID, then name + address of the same type, where addresses written differently match
  (``生野屋南一丁目10番1号`` = ``生野屋南1-10-1``). A row of the same type with the same address
  but another name, or the same name at another address, is a likely duplicate: it is listed
  as a problem for staff to decide, never created a second time silently.
- The 地区 of a new provider comes from the address through the 町丁目 → 地区 table
  (``DistrictTown``, reference data), else from the nearest district centre.
- Codes are text; a code that lost its leading zero in a spreadsheet is padded
  (事業所番号 to 10 digits, 法人番号 to 13, 医療機関コード from 9 to 10).
- Latitude/longitude 0 or empty mean unknown. Multiple values are split on ``;``, ``、``, ``,``.
- 住所 without a prefecture gets the prefecture (and the 市区町村名 when missing) in front.
- These formats carry no capabilities: capabilities and hours of existing providers are never
  touched, status is never changed, and an empty cell never clears a stored value. A new
  provider gets weekly hours only when the file gives times (診療曜日 + 診療開始時間 +
  診療終了時間, or the ナビイ hours file), otherwise ``hours_unknown`` and the open days as a note.
  備考 becomes the notes of new providers only.
- One bad cell never blocks a whole file: every problem is reported by file line (line 1 is
  the header) and column name. Staff then choose: fix the file and upload it again (nothing is
  saved), or import the good rows and leave out the listed ones (``leave_out_errors``; the
  left-out rows can be downloaded with the reason, ``left_out_csv``). Either way every write
  goes through ``providers.py`` (``actor_kind="import"``) inside one transaction.

医療情報ネット（ナビイ）: the weekday columns ``毎週決まった曜日に休診（月）…（日）`` and ``祝日に休診``
are read as 1 = open that day (see ``realdata/README.md``: every hospital has 日 = 0, the big
outpatient hospitals 土 = 0, all-zero rows reported nothing). They are advisory: they become a
note ("診療日（届出）: 月・火…"), never hours; the 第N週 columns are not used. Opening times come
only from the hours file. Dated closures in ``その他の休診日`` (``01月01日``, ``06月第二土曜日``) become
dated exceptions for their next occurrence (consecutive days merged, 年末年始 named).

Export (``export_rows``): the current 自治体標準オープンデータセット header block, then the v1
domain columns, then the portal's own columns (see ``EXPORT_HEADERS`` and the /opendata/ page).
Public providers and public fields only.

The package, by job:

- ``layouts``: the layouts, their column aliases and detection;
- ``normalise``: normalising names, addresses, phones, codes, days and times; 地区 of an address;
- ``navii``: 医療情報ネット（ナビイ） open days, closures and the hours file;
- ``rows``: reading one row into provider fields (``matching`` finds the stored provider);
- ``importing``: ``import_file``, the only part that writes (through ``providers``);
- ``report``: ``ImportReport`` and ``left_out_csv``;
- ``export``: the municipal-standard export (its "as of" date: ``ProviderQuerySet.data_as_of``).
"""

from .export import (
    DOMAIN_HEADERS,
    EXPORT_HEADERS,
    PORTAL_HEADERS,
    STANDARD_HEADERS,
    export_csv,
    export_row,
    export_rows,
    split_address,
)
from .importing import (
    import_file,
    read_dataset,
)
from .layouts import (
    ALIASES,
    FIELD_ALIASES,
    FILE_CODE_RE,
    LAYOUT_LABELS,
    MHLW,
    NAVII,
    NAVII_FILE_KINDS,
    NAVII_HEADERS,
    NAVII_KINDS,
    NAVII_ONLY_KEYS,
    NAVII_WEEKDAY_HEADER,
    REQUIRED_KEYS,
    SOURCE_LABELS,
    STANDARD,
    V1_CARE,
    V1_MEDICAL,
    LayoutError,
    column_map,
    detect_layout,
)
from .navii import (
    NaviiHours,
    navii_open_days,
    parse_closures,
    read_navii_hours,
)
from .normalise import (
    DASHES,
    MULTI_SPLIT_RE,
    PHONE_PARTS_RE,
    PREFECTURE_RE,
    DistrictTable,
    address_key,
    full_address,
    kanji_number,
    katakana,
    name_key,
    norm_address,
    norm_name,
    normalise_phone,
    split_multi,
    strip_building,
)
from .report import (
    ERROR,
    LEFT_OUT_REASON_HEADER,
    NEW,
    NOT_LISTED,
    SKIPPED,
    STATUS_LABELS,
    UNCHANGED,
    UPDATE,
    ImportReport,
    RowOutcome,
    left_out_csv,
)

__all__ = [
    "ALIASES",
    "DASHES",
    "DOMAIN_HEADERS",
    "DistrictTable",
    "ERROR",
    "EXPORT_HEADERS",
    "FIELD_ALIASES",
    "FILE_CODE_RE",
    "ImportReport",
    "LAYOUT_LABELS",
    "LEFT_OUT_REASON_HEADER",
    "LayoutError",
    "MHLW",
    "MULTI_SPLIT_RE",
    "NAVII",
    "NAVII_FILE_KINDS",
    "NAVII_HEADERS",
    "NAVII_KINDS",
    "NAVII_ONLY_KEYS",
    "NAVII_WEEKDAY_HEADER",
    "NEW",
    "NOT_LISTED",
    "NaviiHours",
    "PHONE_PARTS_RE",
    "PORTAL_HEADERS",
    "PREFECTURE_RE",
    "REQUIRED_KEYS",
    "RowOutcome",
    "SKIPPED",
    "SOURCE_LABELS",
    "STANDARD",
    "STANDARD_HEADERS",
    "STATUS_LABELS",
    "UNCHANGED",
    "UPDATE",
    "V1_CARE",
    "V1_MEDICAL",
    "address_key",
    "column_map",
    "detect_layout",
    "export_csv",
    "export_row",
    "export_rows",
    "full_address",
    "import_file",
    "kanji_number",
    "katakana",
    "left_out_csv",
    "name_key",
    "navii_open_days",
    "norm_address",
    "norm_name",
    "normalise_phone",
    "parse_closures",
    "read_dataset",
    "read_navii_hours",
    "split_address",
    "split_multi",
    "strip_building",
]
