"""Read CRM exports (CSV or XLSX) into the canonical accounts table, accounting for every row.

A sales-ops analyst uploads whatever Salesforce, HubSpot or Excel gave them. This module sniffs the
encoding and delimiter, maps the columns onto ``territory.data.schema``, parses money and flags, geocodes
offline from ZIP codes, and writes a report in which every input row is either loaded or rejected
with a reason that names the row, the field and what to do. Nothing is dropped or merged silently:
``rows_read == rows_loaded + rows_rejected`` always.

Everything runs column-wise on whole arrays (pandas with Arrow strings, numpy); Python objects are
made only for the rows that have a problem, so a million-row export loads in seconds.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from territory.data import schema as S
from territory.data.geocode import (
    city_centroids,
    normalize_us_zip,
    parse_coordinate,
    parse_numbers,
    valid_coordinates,
    zip_centroids,
    zip_table,
)
from territory.data.picklists import account_type, readable_industries
from territory.data.workload import INDUSTRIES, derive_potential, derive_workload_hours
from territory.errors import DataError

EXTRA_FIELDS_COLUMN = "(extra fields)"
"""Raw-table column holding cells beyond the header's width (a row with an unquoted delimiter)."""

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
ISSUES_SHOWN_IN_TEXT = 20
"""``format_report`` lists this many rejected rows and warnings; the JSON report lists all."""
MAX_STREAM_BYTES = 512 * 2**20
"""A pipe or device (not a regular file) is read up to 512 MiB, millions of CRM rows (the 1M-row
benchmark export is 78 MB): ``/dev/zero`` or an endless pipe is refused there, not read forever."""

# --- column names recognised ----------------------------------------------------------------

# Compared after lower-casing and dropping everything but letters and digits, so "Billing
# Zip/Postal Code", "billing_zip_postal_code" and "BillingZipPostalCode" are the same name.
# Earlier names win when a file has several candidates.
# fmt: off
ACCOUNT_SYNONYMS: dict[str, tuple[str, ...]] = {
    S.ACCOUNT_ID: (
        "account_id", "Account ID", "Record ID", "Account ID (18)", "Account ID 18", "Account ID (15)",
        "Company ID", "Customer ID", "id", "Account Number", "Account No", "Customer Number",
        "Salesforce ID", "SFDC ID", "HubSpot ID",
    ),
    S.NAME: (
        "name", "Account Name", "Company name", "Company", "Account", "Customer Name", "Customer",
        "Organization", "Organisation", "Business Name",
    ),
    S.LATITUDE: ("latitude", "lat", "Billing Latitude", "Shipping Latitude", "Mailing Latitude"),
    S.LONGITUDE: (
        "longitude", "lon", "lng", "long", "Billing Longitude", "Shipping Longitude", "Mailing Longitude",
    ),
    S.POSTAL_CODE: (
        "postal_code", "Postal Code", "Zip", "Zip Code", "Zipcode", "Zip5", "Postcode", "Post Code",
        "Zip/Postal Code", "Billing Zip/Postal Code", "Billing Postal Code", "Billing Zip",
        "Shipping Zip/Postal Code", "Shipping Postal Code", "Mailing Zip/Postal Code",
    ),
    S.CITY: ("city", "Town", "Billing City", "Shipping City", "Mailing City"),
    S.STATE: (
        "state", "State/Region", "State/Province", "Province", "State Code", "Billing State/Province",
        "Billing State", "Billing State Code", "Shipping State/Province", "Mailing State/Province",
    ),
    S.COUNTRY: (
        "country", "Country/Region", "Country Code", "Billing Country", "Billing Country Code",
        "Shipping Country", "Mailing Country",
    ),
    S.INDUSTRY: ("industry", "Sector", "Vertical", "Industry Type"),
    S.REVENUE: (
        "revenue", "TTM Revenue", "Trailing 12 Month Revenue", "Revenue USD",
        "Revenue (USD)", "Sales", "Annual Sales", "ARR", "Bookings",
    ),
    S.POTENTIAL: (
        "potential", "Annual Potential", "Potential USD", "Potential (USD)", "Opportunity", "Wallet",
        "Wallet Size", "Total Addressable Spend",
    ),
    S.WORKLOAD_HOURS: (
        "workload_hours", "Workload", "Workload (hours)", "Annual Hours", "Hours", "Service Hours",
    ),
    S.TERRITORY_ID: (
        "territory_id", "Territory", "Territory Name", "Territory Code", "Sales Territory", "Territory ID",
    ),
    S.LOCKED: ("locked", "Lock", "Pinned", "Locked to Territory", "Keep in Territory"),
    # "Annual Revenue" in Salesforce and HubSpot is the customer company's own revenue, not what it
    # spends with us: it is shown as company_revenue and becomes potential only when mapped so.
    S.COMPANY_REVENUE: ("company_revenue", "Annual Revenue", "Company Revenue", "Company Annual Revenue"),
    S.ACCOUNT_TYPE: (
        "account_type", "Account Type", "Type", "Company Type", "Customer Type", "Lifecycle Stage", "Relationship",
    ),
}
OWNER_SYNONYMS: tuple[str, ...] = (
    "Account Owner", "Company owner", "Owner", "Owner Name", "HubSpot Owner", "Account Owner Name",
    "Sales Rep", "Rep", "Rep Name", "Account Manager", "Account Executive",
)
"""Used for ``territory_id`` only when no territory column exists: the alignment is by owner."""

TERRITORY_SYNONYMS: dict[str, tuple[str, ...]] = {
    S.TERRITORY_ID: ("territory_id", "Territory", "Territory ID", "Territory Name", "Territory Code"),
    S.REP_NAME: ("rep_name", "Rep", "Rep Name", "Sales Rep", "Owner", "Account Owner", "Name"),
    S.REGION: ("region", "Sales Region", "Area"),
    S.DISTRICT: ("district", "Sales District"),
    S.HOME_LATITUDE: ("home_latitude", "Home Lat", "Latitude", "lat"),
    S.HOME_LONGITUDE: ("home_longitude", "Home Lon", "Home Lng", "Longitude", "lon", "lng"),
    S.CAPACITY_FTE: ("capacity_fte", "Capacity", "FTE", "Capacity (FTE)", "Headcount"),
}
BOOKING_SYNONYMS: dict[str, tuple[str, ...]] = {
    S.ACCOUNT_ID: ACCOUNT_SYNONYMS[S.ACCOUNT_ID],
    S.QUARTER: ("quarter", "Fiscal Quarter", "Period", "Close Quarter", "Date", "Close Date"),
    S.AMOUNT: ("amount", "Booking Amount", "Bookings", "Value", "Revenue", "Total"),
}

COUNTRY_CODES: dict[str, str] = {
    "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "USA": "US", "US": "US", "U S": "US",
    "U S A": "US", "AMERICA": "US", "UNITED STATES US": "US", "CANADA": "CA", "MEXICO": "MX",
    "UNITED KINGDOM": "GB", "UK": "GB", "GREAT BRITAIN": "GB", "ENGLAND": "GB", "IRELAND": "IE",
    "GERMANY": "DE", "DEUTSCHLAND": "DE", "FRANCE": "FR", "SPAIN": "ES", "ITALY": "IT", "NETHERLANDS": "NL",
    "BELGIUM": "BE", "SWITZERLAND": "CH", "AUSTRIA": "AT", "SWEDEN": "SE", "NORWAY": "NO", "DENMARK": "DK",
    "FINLAND": "FI", "POLAND": "PL", "PORTUGAL": "PT", "AUSTRALIA": "AU", "NEW ZEALAND": "NZ",
    "JAPAN": "JP", "CHINA": "CN", "INDIA": "IN", "BRAZIL": "BR", "ARGENTINA": "AR", "SINGAPORE": "SG",
    "SOUTH KOREA": "KR", "ISRAEL": "IL", "SOUTH AFRICA": "ZA", "PUERTO RICO": "PR",
}
US_STATE_CODES: dict[str, str] = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA",
    "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC", "FLORIDA": "FL",
    "GEORGIA": "GA", "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA",
    "KANSAS": "KS", "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD",
    "MASSACHUSETTS": "MA", "MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO",
    "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ",
    "NEW MEXICO": "NM", "NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH",
    "OKLAHOMA": "OK", "OREGON": "OR", "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC",
    "SOUTH DAKOTA": "SD", "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA",
    "WASHINGTON": "WA", "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY", "PUERTO RICO": "PR",
    "GUAM": "GU", "VIRGIN ISLANDS": "VI",
}

# fmt: on
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "x", "locked", "1.0", "wahr", "oui", "si", "ja"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "", "0.0", "unlocked", "falsch", "non", "nein"})
NULL_WORDS = frozenset({"n/a", "na", "null", "none", "nan", "#n/a", "-", "--", "\u2013", "\u2014", "?"})
OTHER_INDUSTRY = "Other"


# --- report types -----------------------------------------------------------------------------


@dataclass(slots=True)
class RowIssue:
    """One problem with one input row. ``row`` is the 1-based data row (the header is not counted)."""

    row: int
    account_id: str | None
    field: str
    reason: str

    def to_dict(self) -> dict:
        """``{"row", "account_id", "field", "reason"}``, JSON-ready (faster than ``asdict``)."""
        return {"row": self.row, "account_id": self.account_id, "field": self.field, "reason": self.reason}


@dataclass
class LoadReport:
    """What happened to every input row; ``rows_read == rows_loaded + rows_rejected``."""

    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rejected: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict (the CLI's ``--json`` output)."""
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rejected": [issue.to_dict() for issue in self.rejected],
            "warnings": [issue.to_dict() for issue in self.warnings],
            "notes": list(self.notes),
            "mapping": dict(self.mapping),
        }


@dataclass
class LoadResult:
    """Loaded accounts (canonical schema, then extra input columns), the report, rejected raw rows."""

    accounts: pd.DataFrame
    report: LoadReport
    rejected_rows: pd.DataFrame


# --- reading files ----------------------------------------------------------------------------


def read_table(source: str | Path | bytes | BinaryIO, filename: str | None = None) -> pd.DataFrame:
    """Read a CSV or XLSX file into a raw table whose cells are all strings ("" when blank).

    Every cell stays text so nothing is lost to type guessing (ZIPs keep their leading zeros, IDs
    stay IDs). CSV encoding (UTF-8 with or without BOM, UTF-16, cp1252, latin-1) and delimiter
    (``,`` ``;`` TAB ``|``) are detected. ``source`` is a path, the bytes of a file, or a binary
    file object such as Streamlit's ``UploadedFile``; ``filename`` helps tell XLSX from CSV.
    What was detected is listed in ``frame.attrs["notes"]``. Raises ``DataError`` when the input
    cannot be read as a table with a header row.
    """
    data, name = _read_bytes(source, filename)
    label = f"'{Path(name).name}'" if name else "the file"
    filler = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"  # whitespace, NULs and BOM bytes
    if not data[:4096].strip(filler) and not data.strip(filler):
        raise DataError(f"{label} is empty: export it again with a header row and at least one data row")
    suffix = Path(name).suffix.lower() if name else ""
    if data[:4] == b"PK\x03\x04" or suffix in {".xlsx", ".xlsm"}:
        frame, notes = _read_xlsx(data, label)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or suffix == ".xls":
        raise DataError(f"{label} is an old Excel 97-2003 (.xls) workbook: open it in Excel and save as .xlsx or CSV")
    else:
        frame, notes = _read_csv(data, label)
    _check_header(frame, label)
    frame.attrs["notes"] = notes
    return frame


def _read_bytes(source: object, filename: str | None) -> tuple[bytes, str | None]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), filename
    if isinstance(source, str) and "\n" in source:
        raise DataError("got text, not a file path: pass the file's bytes (text.encode()) or its path")
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise DataError(f"file not found: {path} (check the path and the working directory)")
        if path.is_dir():
            raise DataError(f"{path} is a folder: give the path of a CSV or XLSX file")
        try:
            with path.open("rb") as handle:
                regular = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
                return (handle.read() if regular else _read_stream(handle, path)), filename or str(path)
        except OSError as error:
            raise DataError(f"cannot read {path}: {error.strerror or error} (check file permissions)") from None
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        data = source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        return bytes(data), filename or getattr(source, "name", None)
    raise DataError(
        f"cannot read a {type(source).__name__}: pass a file path, the file's bytes or a binary file object"
    )


def _read_stream(handle: BinaryIO, path: Path) -> bytes:
    """All of a pipe or device, or a DataError past MAX_STREAM_BYTES."""
    chunks, size = [], 0
    while chunk := handle.read(2**20):
        size += len(chunk)
        if size > MAX_STREAM_BYTES:
            raise DataError(
                f"{path} is not a regular file and holds more than {MAX_STREAM_BYTES:,} bytes (/dev/zero or an "
                "endless pipe?): save the accounts to a CSV or XLSX file and give its path"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _stray_as_cp1252(error: UnicodeDecodeError) -> tuple[str, int]:
    """Decoding error handler: a byte that is not UTF-8 is read as the Windows character it most
    likely was (a name pasted from a cp1252 file), Latin-1 where cp1252 has none."""
    def one(byte: int) -> str:
        try:
            return bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            return chr(byte)  # Latin-1

    return "".join(one(b) for b in error.object[error.start:error.end]), error.end


_STRAY_AS_CP1252 = "territory-stray-cp1252"
codecs.register_error(_STRAY_AS_CP1252, _stray_as_cp1252)


EAST_ASIAN_ENCODINGS: dict[str, str] = {
    "cp932": "Shift-JIS (Japanese, Windows)", "shift_jis": "Shift-JIS (Japanese)", "euc_jp": "EUC-JP (Japanese)",
    "cp949": "Korean (Windows, EUC-KR)", "euc_kr": "EUC-KR (Korean)", "gb18030": "GB18030 (Chinese)",
    "gbk": "GBK (Chinese)", "gb2312": "GB2312 (Chinese)", "big5": "Big5 (Traditional Chinese)",
}
"""Multi-byte encodings an Excel on a Japanese, Korean or Chinese Windows saves CSV in, with the
name the import notes give them. Their bytes also decode as cp1252 (as mojibake), so they are
recognised before it."""


def detect_encoding(data: bytes) -> str:
    """The text encoding of a CSV: BOMs first, then UTF-8, an East Asian encoding, cp1252 (Excel on
    Windows), latin-1.

    >>> detect_encoding("株式会社日立,東京".encode("shift_jis"))
    'cp932'
    >>> detect_encoding("Café Müller".encode("cp1252"))
    'cp1252'
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    east_asian = _east_asian_encoding(data)
    if east_asian:
        return east_asian
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _east_asian_encoding(data: bytes) -> str | None:
    """The East Asian encoding ``data`` is in, or None. Any byte string with a few high bytes decodes
    as some single-byte code page, so charset-normalizer's judgement (which reading is least
    garbled) decides, and only an East Asian verdict that decodes the whole file is taken; every
    other file keeps the cp1252, latin-1 order."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 2**20]).best()
    encoding = best.encoding if best is not None else None
    if encoding not in EAST_ASIAN_ENCODINGS:
        return None
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return encoding


def sniff_delimiter(sample: str) -> str:
    """The delimiter among ``, ; TAB |`` that splits the header widest and the rows most evenly."""
    best, best_score = ",", (-1.0, 0)
    for delimiter in DELIMITERS:
        rows: list[list[str]] = []
        try:
            for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
                if row:
                    rows.append(row)
                if len(rows) > 50:
                    break
        except csv.Error:
            pass
        if len(rows) > 2:
            rows = rows[:-1]  # the sample may cut the last row short
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:]
        even = sum(len(row) == width for row in body) / len(body) if body else 1.0
        score = (even, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _read_csv(data: bytes, label: str) -> tuple[pd.DataFrame, list[str]]:
    encoding = detect_encoding(data)
    if encoding == "utf-16":
        data = data.decode("utf-16").encode("utf-8")
        encoding = "utf-8"
    stray_note = None
    if encoding not in ("utf-8", "utf-8-sig"):
        # mostly UTF-8 with a few stray bytes (one Latin-1 name pasted in): decoding it all as
        # cp1252 would garble every accented name ("CafÃ©"); keep UTF-8 and name the bad lines
        text = data.decode("utf-8", errors="replace")
        stray = text.count("\ufffd")  # one per invalid sequence: where the stray bytes are
        high = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) >= 0x80))
        if high - stray > 4 * stray:  # bytes of valid UTF-8 characters (2-4 each) well above the stray ones
            lines = []
            at = text.find("\ufffd")
            while at >= 0 and len(lines) < 5:
                lines.append(text.count("\n", 0, at) + 1)
                at = text.find("\ufffd", at + 1)
            data, encoding = data.decode("utf-8", errors=_STRAY_AS_CP1252).encode("utf-8"), "utf-8"
            bytes_text = f"{stray:,} byte{'s that are' if stray > 1 else ' that is'}"
            stray_note = (f"{label} is UTF-8 except for {bytes_text} not (line "
                          f"{', '.join(map(str, dict.fromkeys(lines)))}{', ...' if stray > len(lines) else ''}): "
                          "read as Windows (cp1252) characters; check those names in the source")
    sample = data[:65536].decode(encoding, errors="replace")
    # Binary formats (PDF, images, executables) hold NUL bytes early on; a few other control
    # characters can sit in real cells, so only a text that is mostly control codes is refused.
    if "\x00" in sample or _control_share(sample) > 0.3:
        raise DataError(f"{label} looks like a binary file, not CSV or XLSX: export the accounts as CSV or XLSX")
    delimiter = sniff_delimiter(sample)
    first_line = sample.split("\n", 1)[0].strip("\r\ufeff")
    if re.fullmatch(r"sep=.", first_line):  # Excel's "sep=;" hint line
        delimiter = first_line[4]
        data = data[data.index(b"\n") + 1 :]
        sample = sample.split("\n", 1)[1] if "\n" in sample else ""
    notes = [
        f"Read {label} as CSV: encoding {EAST_ASIAN_ENCODINGS.get(encoding, encoding.replace('-sig', ' with BOM'))}, "
        f"delimiter {_DELIMITER_NAMES.get(delimiter, repr(delimiter))}."
    ]
    if encoding == "latin-1":
        notes.append(f"{label} is neither UTF-8 nor cp1252; read as latin-1: check accented names.")
    if encoding in EAST_ASIAN_ENCODINGS:
        notes.append(f"{label} is not UTF-8: its encoding was recognised from its text; check a few names, and "
                     "export as UTF-8 to be sure.")
    if stray_note:
        notes.append(stray_note)
    frame = _read_csv_arrow(data, encoding, delimiter, sample)
    if frame is None:
        try:
            frame = pd.read_csv(
                io.BytesIO(data),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding=encoding,
                engine="c",
                skip_blank_lines=True,
            )
        except pd.errors.EmptyDataError:
            raise DataError(f"{label} has no header row: the first line must name the columns") from None
        except pd.errors.ParserError:
            # Rows wider than the header (an unquoted delimiter inside a value): read them with the
            # csv module so each such row is kept and later rejected with its row number.
            frame = _read_ragged_csv(data.decode(encoding, errors="replace"), delimiter)
    frame = frame.fillna("")
    return frame, notes


def _read_csv_arrow(data: bytes, encoding: str, delimiter: str, sample: str) -> pd.DataFrame | None:
    """Fast path: Arrow's multi-threaded CSV reader, every column as text. None when it cannot
    read the file exactly (ragged rows, odd quoting): the pandas reader then takes over."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:  # pragma: no cover - pandas without pyarrow
        return None
    try:
        header = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter))
    except (StopIteration, csv.Error):
        return None
    if encoding == "utf-8-sig":
        data, encoding = data[len(codecs.BOM_UTF8) :], "utf-8"
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(encoding="utf8" if encoding == "utf-8" else encoding),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError, UnicodeDecodeError, LookupError):
        return None
    if table.column_names != header or not all(pa.types.is_string(t) for t in table.schema.types):
        return None
    frame = table.to_pandas()
    frame.columns = _unique_names(header)
    return frame


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n")
    return controls / len(text)


def _read_ragged_csv(text: str, delimiter: str) -> pd.DataFrame:
    csv.field_size_limit(2**31 - 1)
    rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]
    header = _unique_names(rows[0])
    width = len(header)
    body = rows[1:]
    cells = [(row + [""] * (width - len(row)))[:width] for row in body]
    frame = pd.DataFrame(cells, columns=header, dtype=str) if body else pd.DataFrame(columns=header, dtype=str)
    frame[EXTRA_FIELDS_COLUMN] = pd.array(
        [delimiter.join(row[width:]) if len(row) > width else "" for row in body], dtype="str"
    )
    return frame


def _unique_names(names: Sequence[object]) -> list[str]:
    """Header names as pandas would make them: blanks become 'Unnamed: i', repeats get '.1'."""
    seen: dict[str, int] = {}
    result = []
    for position, raw in enumerate(names):
        name = str(raw).strip() if raw is not None and str(raw).strip() else f"Unnamed: {position}"
        if name in seen:
            seen[name] += 1
            candidate = f"{name}.{seen[name]}"
            while candidate in seen:
                seen[name] += 1
                candidate = f"{name}.{seen[name]}"
            name = candidate
        seen.setdefault(name, 0)
        result.append(name)
    return result


def _read_xlsx(data: bytes, label: str) -> tuple[pd.DataFrame, list[str]]:
    try:
        workbook = pd.ExcelFile(io.BytesIO(data), engine="openpyxl")
    except Exception as error:  # openpyxl raises zipfile, KeyError, ValueError... on damaged files
        raise DataError(
            f"{label} is not a readable XLSX workbook ({type(error).__name__}): open it in Excel and save again"
        ) from None
    with workbook:
        sheets = workbook.sheet_names
        if not sheets:
            raise DataError(f"{label} has no worksheets: put the accounts on the first sheet")
        try:
            frame = pd.read_excel(
                workbook, sheet_name=sheets[0], dtype=str, keep_default_na=False, na_filter=False, header=0
            )
        except (ValueError, pd.errors.EmptyDataError):
            raise DataError(f"the first sheet '{sheets[0]}' of {label} is empty: put the accounts there") from None
    frame.columns = _unique_names([None if str(c).startswith("Unnamed:") else c for c in frame.columns])
    frame = frame.fillna("").astype("str")
    notes = [f"Read {label} as XLSX: first sheet '{sheets[0]}' (row 1 of the report is spreadsheet row 2)."]
    if len(sheets) > 1:
        others = ", ".join(f"'{s}'" for s in sheets[1:])
        notes.append(f"{label} has {len(sheets)} sheets; only the first was read (ignored: {others}).")
    notes += _long_numbers_notes(frame, label)
    merged = _merged_ranges(data)
    if merged:
        notes.append(f"{label}: {len(merged):,} merged cell range{'s' if len(merged) > 1 else ''} on the first sheet "
                     f"({', '.join(merged[:5])}{', ...' if len(merged) > 5 else ''}): only the first cell of a merged "
                     "range holds its value, the others are read as blank; unmerge and fill them in Excel.")
    return frame, notes


EXCEL_DIGITS = 15
"""Excel keeps 15 significant digits of a number: a longer ID typed as a number has lost the rest."""


def _long_numbers_notes(frame: pd.DataFrame, label: str) -> list[str]:
    """Columns holding whole numbers longer than Excel keeps (stored as numbers, not text): a
    value that is exactly a double is one Excel rounded; text of the same length rarely is."""
    notes = []
    for column in frame.columns:
        values = frame[column]
        long_digits = values.str.fullmatch(rf"\d{{{EXCEL_DIGITS + 1},}}").to_numpy(dtype=bool)
        if not long_digits.any():
            continue
        rounded = [p for p in np.flatnonzero(long_digits) if int(float(values.iloc[p])) == int(values.iloc[p])]
        if rounded:
            many = len(rounded) > 1
            notes.append(f"{label}: {len(rounded):,} value{'s' if many else ''} of '{column}' longer than "
                         f"{EXCEL_DIGITS} digits {'were' if many else 'was'} stored as numbers, so Excel kept only "
                         f"{EXCEL_DIGITS} of {'their' if many else 'its'} "
                         f"digits (e.g. row {rounded[0] + 1}: {values.iloc[rounded[0]]}); format the column as Text "
                         "in Excel and export again.")
    return notes


def _merged_ranges(data: bytes) -> list[str]:
    """The merged cell ranges of a workbook's first sheet, read from its XML (openpyxl's fast
    read-only mode, which pandas uses, does not report them)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            workbook = book.read("xl/workbook.xml").decode("utf-8", errors="replace")
            first = re.search(r"<(?:\w+:)?sheet\b[^>]*\br:id=\"([^\"]+)\"", workbook)
            rels = book.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="replace")
            if first is None:
                return []
            targets = {}
            for tag in re.findall(r"<Relationship\b[^>]*>", rels):
                rid, where = re.search(r'\bId="([^"]+)"', tag), re.search(r'\bTarget="([^"]+)"', tag)
                if rid and where:
                    targets[rid.group(1)] = where.group(1)
            if first.group(1) not in targets:
                return []
            path = targets[first.group(1)].lstrip("/")
            path = path if path.startswith("xl/") else f"xl/{path}"
            ranges: list[str] = []
            tail = b""
            with book.open(path) as sheet:
                while chunk := sheet.read(1 << 20):
                    text = tail + chunk
                    ranges += re.findall(rb"<(?:\w+:)?mergeCell\b[^>]*\bref=\"([A-Z]+[0-9]+:[A-Z]+[0-9]+)\"", text)
                    cut = text.rfind(b"<")
                    # a tag cut at the chunk's end is read again with the next chunk
                    tail = text[cut:] if cut >= 0 and b">" not in text[cut:] else b""
            return list(dict.fromkeys(r.decode() for r in ranges))
    except (KeyError, zipfile.BadZipFile, OSError):
        return []


def _check_header(frame: pd.DataFrame, label: str) -> None:
    named = [str(c) for c in frame.columns if not str(c).startswith("Unnamed:")]
    if not named:
        raise DataError(f"{label} has no header row: the first line must name the columns (account_id, postal_code...)")
    looks_like_data = all(re.fullmatch(r"[-+$€£(]?[0-9.,\s/:()-]+[%)]?", name) for name in named)
    if looks_like_data:
        shown = ", ".join(repr(c) for c in named[:4])
        raise DataError(f"{label} has no header row (first line is {shown}): add a first line naming the columns")


# --- column mapping ---------------------------------------------------------------------------


def _key(name: object) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _suggest(columns: Sequence[str], synonyms: dict[str, tuple[str, ...]]) -> dict[str, str]:
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(_key(column), column)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for canonical, names in synonyms.items():
        for name in names:
            column = by_key.get(_key(name))
            if column is not None and column not in used:
                mapping[canonical] = column
                used.add(column)
                break
    return mapping


def suggest_mapping(columns: Sequence[str]) -> dict[str, str]:
    """Guess which input column holds each canonical account column: canonical name -> column.

    Names are compared case-, space- and punctuation-insensitively against the canonical names,
    Salesforce and HubSpot export headers and common synonyms (``ACCOUNT_SYNONYMS``). When there
    is no territory column, an owner column ("Account Owner", "Company owner") stands in for
    ``territory_id``: the current alignment is then keyed by owner.

    >>> suggest_mapping(["Account ID", "Billing Zip/Postal Code", "Account Owner"])
    {'account_id': 'Account ID', 'postal_code': 'Billing Zip/Postal Code', 'territory_id': 'Account Owner'}
    """
    mapping = _suggest(columns, ACCOUNT_SYNONYMS)
    if S.TERRITORY_ID not in mapping:
        used = set(mapping.values())
        owner = _suggest([c for c in columns if c not in used], {S.TERRITORY_ID: OWNER_SYNONYMS})
        mapping.update(owner)
    return {c: mapping[c] for c in S.MAPPABLE_ACCOUNT_COLUMNS if c in mapping}


def _resolve_mapping(
    columns: Sequence[str], mapping: dict[str, str] | None, canonical: Sequence[str], suggested: dict[str, str]
) -> dict[str, str]:
    """Suggested mapping overridden by the user's; a user value of '' or None unmaps a column."""
    resolved = dict(suggested)
    chosen = [column for column in (mapping or {}).values() if column]
    for column in dict.fromkeys(c for c in chosen if chosen.count(c) > 1):
        targets = [t for t, c in (mapping or {}).items() if c == column]
        raise DataError(f"mapping uses column '{column}' for {' and '.join(targets)}: pick one column per field")
    for target, column in (mapping or {}).items():
        if target not in canonical:
            raise DataError(
                f"mapping names '{target}', which is not a column of the schema: use one of {', '.join(canonical)}"
            )
        if column is None or column == "":
            resolved.pop(target, None)
            continue
        if column not in columns:
            shown = ", ".join(repr(c) for c in list(columns)[:12])
            raise DataError(
                f"mapping for {target} names column '{column}', which is not in the file (columns: {shown})"
            )
        resolved = {k: v for k, v in resolved.items() if v != column}
        resolved[target] = column
    return {c: resolved[c] for c in canonical if c in resolved}


# --- value parsing (vectorised) ---------------------------------------------------------------


def parse_money(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Amounts from money text; returns ``(values, unreadable)``.

    Understands "$1,234,567.00", "1.2M", "250k", "(1,000)" and "-1000" (negative), "€ 12 000",
    "1.234.567,89" and "1'234"; blanks and n/a give NaN and are not unreadable.

    >>> values, bad = parse_money(pd.Series(["$1,234,567.00", "1.2M", "(1,000)", "€ 12 000", "", "abc"]))
    >>> values.tolist(), bad.tolist()
    ([1234567.0, 1200000.0, -1000.0, 12000.0, nan, nan], [False, False, False, False, False, True])
    """
    text = text.astype("str").fillna("").str.strip()
    blank = (text == "").to_numpy()
    if blank.all():
        return np.full(len(text), np.nan), np.zeros(len(text), dtype=bool)
    values = parse_numbers(text)
    values[~np.isfinite(values)] = np.nan  # "inf", "1e999": read again below, and unreadable there
    retry = np.isnan(values) & ~blank
    unreadable = np.zeros(len(text), dtype=bool)
    if retry.any():
        sub = text[retry]
        null = sub.str.lower().isin(NULL_WORDS).to_numpy()
        parsed = _parse_money_text(sub)
        parsed[null] = np.nan
        values[retry] = parsed
        positions = np.flatnonzero(retry)
        unreadable[positions] = np.isnan(parsed) & ~null
    return values, unreadable


_MULTIPLIERS = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mm": 1e6,
    "mn": 1e6,
    "mio": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
}


def _any_case(word: str) -> str:
    """Regex matching ``word`` in any letter case, without flags (which would cost Arrow's fast path)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


_CODES = "|".join(_any_case(c) for c in ("us$", "usd", "eur", "gbp", "cad", "aud", "chf", "jpy"))
_CURRENCY_CODES = f"^({_CODES})|({_CODES})$"


def _parse_money_text(text: pd.Series) -> np.ndarray:
    s = text.str.replace("\u2212", "-", regex=False)
    negative = s.str.fullmatch(r"\(.*\)").to_numpy(dtype=bool, copy=True)
    if negative.any():  # accounting negatives "(1,000)"; no regex back-references (slow path)
        s = s.where(~negative, s.str.slice(1, -1))
    for separator in (" ", "\t", "\u00a0", "\u202f", "'", "\u2019"):  # literal: stays on Arrow's fast path
        s = s.str.replace(separator, "", regex=False)
    s = s.str.replace(_CURRENCY_CODES, "", regex=True)  # "USD 12", "12 EUR"
    negative |= (s.str.startswith("-") | s.str.endswith("-")).to_numpy(dtype=bool)
    s = s.str.replace(r"^[-+]|-$", "", regex=True).str.replace(r"[$€£¥]", "", regex=True)
    negative |= s.str.startswith("-").to_numpy(dtype=bool)
    s = s.str.replace(r"^-", "", regex=True)
    suffix = s.str.replace(r"^.*[0-9]", "", regex=True)  # "M" in "1.2M"; unknown words -> NaN
    number = s.str.replace(r"[A-Za-z]+$", "", regex=True)
    codes, words = pd.factorize(suffix.str.lower())
    factors = np.array([_MULTIPLIERS.get(w, np.nan) if w else 1.0 for w in words] + [1.0])
    multiplier = factors[np.where(codes < 0, len(words), codes)]

    comma = number.str.contains(",", regex=False).to_numpy(dtype=bool)
    dot = number.str.contains(".", regex=False).to_numpy(dtype=bool)
    comma_is_last = number.str.contains(r",[0-9]*$").to_numpy(dtype=bool)
    decimal_comma = comma & (~dot | comma_is_last)
    decimal_comma &= ~number.str.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+").to_numpy(dtype=bool)
    plain = number.str.replace(",", "", regex=False).where(
        ~decimal_comma, number.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    )
    dotted_thousands = plain.str.fullmatch(r"[0-9]{1,3}(\.[0-9]{3}){2,}").to_numpy(dtype=bool)
    plain = plain.where(~dotted_thousands, plain.str.replace(".", "", regex=False))
    values = pd.to_numeric(plain, errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
    with np.errstate(over="ignore"):  # "1e308bn" overflows only once multiplied: unreadable
        values = np.where(negative, -values, values) * multiplier
    values[~np.isfinite(values)] = np.nan
    return values


def _flag(value: str) -> tuple[bool, bool]:
    word = value.strip().lower()
    return word in TRUE_WORDS, word not in TRUE_WORDS and word not in FALSE_WORDS


def parse_flag(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Booleans from yes/no text; returns ``(values, unreadable)`` (unreadable count as False).

    >>> [a.tolist() for a in parse_flag(pd.Series(["Yes", "x", "0", "", "maybe"]))]
    [[True, True, False, False, False], [False, False, False, False, True]]
    """
    true, unreadable = _per_distinct(text, _flag)
    return true.astype(bool), unreadable.astype(bool)


def _country(value: str) -> tuple[str, bool]:
    key = re.sub(r"[^A-Z]+", " ", value.upper()).strip()
    if not value.strip():
        return "", False
    if key in COUNTRY_CODES:
        return COUNTRY_CODES[key], False
    if re.fullmatch(r"[A-Z]{2}", key):
        return key, False
    return value.strip(), True


def normalize_country(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """ISO alpha-2 codes from country names or codes; returns ``(codes, unknown)``.

    Blank stays blank; known names and "U.S."-style spellings map to their code, other two-letter
    codes pass through upper-cased, and anything else is kept as written and flagged ``unknown``.

    >>> codes, unknown = normalize_country(pd.Series(["United States", "U.S.", "usa", "de", "Narnia"]))
    >>> codes.tolist(), unknown.tolist()
    (['US', 'US', 'US', 'DE', 'Narnia'], [False, False, False, False, True])
    """
    codes, unknown = _per_distinct(text, _country)
    return pd.Series(codes, index=text.index), unknown.astype(bool)


# --- loading accounts -------------------------------------------------------------------------


def load_accounts(
    source: str | Path | bytes | BinaryIO, mapping: dict[str, str] | None = None, filename: str | None = None
) -> LoadResult:
    """Read a CRM export and turn it into canonical accounts plus a row-by-row report.

    ``mapping`` (canonical name -> file column) overrides the automatic column mapping.
    Raises ``DataError`` only when the file as a whole cannot be used; row problems are reported.
    """
    return accounts_from_frame(read_table(source, filename), mapping)


class _Issues:
    """Problem rows collected as (positions, field, reasons) batches; objects made only at the end."""

    def __init__(self) -> None:
        self.batches: list[tuple[np.ndarray, str, np.ndarray]] = []

    def add(self, positions: np.ndarray, field_name: str, reasons: object) -> None:
        if len(positions):
            reasons_array = np.asarray(reasons, dtype=object)
            if reasons_array.ndim == 0:
                reasons_array = np.full(len(positions), reasons_array.item(), dtype=object)
            self.batches.append((np.asarray(positions), field_name, reasons_array))

    def build(self, ids: pd.Series, keep: np.ndarray | None = None) -> list[RowIssue]:
        if not self.batches:
            return []
        positions = np.concatenate([b[0] for b in self.batches])
        fields = np.concatenate([np.full(len(b[0]), b[1], dtype=object) for b in self.batches])
        reasons = np.concatenate([b[2] for b in self.batches])
        if keep is not None:
            chosen = keep[positions]
            positions, fields, reasons = positions[chosen], fields[chosen], reasons[chosen]
        order = np.argsort(positions, kind="stable")
        positions, fields, reasons = positions[order], fields[order], reasons[order]
        issue_ids = ids.iloc[positions].tolist()
        # Plain lists, not numpy scalars, and no cyclic GC passes while a million small objects
        # are born (each pass would walk all of them): a million issues then build in about a second.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return [
                RowIssue(row, account_id or None, field_name, reason)
                for row, account_id, field_name, reason in zip(
                    (positions + 1).tolist(), issue_ids, fields.tolist(), [str(r) for r in reasons.tolist()]
                )
            ]
        finally:
            if gc_was_enabled:
                gc.enable()


def _quote(values: pd.Series, limit: int = 40) -> pd.Series:
    """Cell text for a one-line message: line breaks shown as \\n, shortened, quoted."""
    values = values.str.replace("\r", "\\r", regex=False).str.replace("\n", "\\n", regex=False)
    short = values.str.slice(0, limit).where(values.str.len() <= limit, values.str.slice(0, limit - 3) + "...")
    return "'" + short + "'"


def _repeated_header_notes(columns: list[str]) -> list[str]:
    """A name the header repeats (the readers keep the copies as 'name.1', 'name.2'...)."""
    present = set(columns)
    copies: dict[str, list[str]] = {}
    for column in columns:
        match = re.fullmatch(r"(.+)\.(\d+)", column)
        if match and match.group(1) in present:
            copies.setdefault(match.group(1), []).append(column)
    return [f"Column '{name}' appears {len(extra) + 1} times in the header: the first is read, the others are kept "
            f"as {', '.join(repr(c) for c in extra)}; rename or remove the copies in the source."
            for name, extra in copies.items()]


def _as_text_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """All columns as str with '' for missing, unique string column names, RangeIndex.

    Columns that already are str without gaps are reused as they are (no copy of a million cells).
    """
    names = _unique_names([str(c) for c in raw.columns])
    columns = {}
    for name, (_, series) in zip(names, raw.items()):
        if series.dtype != "str":
            series = series.astype("str")
        if series.hasnans:
            series = series.fillna("")
        columns[name] = series.array
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(raw)))
    frame.attrs = dict(raw.attrs)
    return frame


def _per_distinct(values: pd.Series, function: Callable[[str], tuple]) -> list[np.ndarray]:
    """Apply ``function`` once per distinct value and spread its outputs back over all rows.

    ``function`` returns a tuple; the result is one array per tuple position. Cheap for the
    low-cardinality columns it is used on (country, state, industry, flags) however long the file.
    """
    codes, uniques = pd.factorize(values)
    results = [function("" if pd.isna(u) else str(u)) for u in uniques] or [function("")]
    codes = np.where(codes < 0, len(uniques), codes) if len(uniques) else np.zeros(len(values), dtype=np.intp)
    missing = function("")
    outputs = []
    for position in range(len(missing)):
        column = [r[position] for r in results] + [missing[position]]
        if isinstance(missing[position], str) or missing[position] is None:
            outputs.append(pd.array(column, dtype="str").take(codes))
        else:
            outputs.append(np.asarray(column)[codes])
    return outputs


def _fmt(count: int) -> str:
    return f"{count:,}"


@dataclass
class ImportContext:
    """What the steps of ``accounts_from_frame`` share: the raw table (every cell text), the column
    mapping resolved for it, and the report being written (notes, rejected rows, warnings, and which
    rows are rejected so far). Each step reads columns through ``text`` and records through
    ``reject`` and ``warns``, so a step can run alone on a context made by ``start``.

    >>> context = ImportContext.start(pd.DataFrame({"Account ID": ["A1", ""], "Zip": ["02139", ""]}))
    >>> context.resolved
    {'account_id': 'Account ID', 'postal_code': 'Zip'}
    >>> context.text("postal_code").tolist(), context.text("name").tolist()
    (['02139', ''], ['', ''])
    """

    raw: pd.DataFrame
    resolved: dict[str, str]
    notes: list[str] = field(default_factory=list)
    rejects: _Issues = field(default_factory=_Issues)
    warns: _Issues = field(default_factory=_Issues)
    rejected: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        if len(self.rejected) != len(self.raw):
            self.rejected = np.zeros(len(self.raw), dtype=bool)

    @classmethod
    def start(cls, raw: pd.DataFrame, mapping: dict[str, str] | None = None) -> ImportContext:
        """The context of a raw table (as ``read_table`` returns): its cells as text, its columns
        mapped (``mapping`` overrides the automatic match), the reader's and the header's notes.
        Raises ``DataError`` when the columns cannot locate or identify accounts."""
        notes: list[str] = list(raw.attrs.get("notes", []))
        raw = _as_text_frame(raw)
        columns = [c for c in raw.columns if c != EXTRA_FIELDS_COLUMN]
        notes += _repeated_header_notes(columns)
        resolved = _resolve_mapping(columns, mapping, S.MAPPABLE_ACCOUNT_COLUMNS, suggest_mapping(columns))
        lone = [c for c in (S.LATITUDE, S.LONGITUDE) if c in resolved and c not in (mapping or {})]
        if len(lone) == 1 and (S.LATITUDE in resolved) != (S.LONGITUDE in resolved) and S.POSTAL_CODE in resolved:
            # A guessed 'lat' without a 'lon' beside it is more likely a coincidence than half a position.
            notes.append(
                f"Column '{resolved.pop(lone[0])}' not used as {lone[0]}: the file has no matching "
                f"{'longitude' if lone[0] == S.LATITUDE else 'latitude'} column; ZIPs locate the accounts."
            )
        _check_mapping(resolved, columns)
        return cls(raw=raw, resolved=resolved, notes=notes)

    @property
    def rows(self) -> int:
        return len(self.raw)

    @property
    def columns(self) -> list[str]:
        """The file's columns (without the cells beyond the header's width)."""
        return [c for c in self.raw.columns if c != EXTRA_FIELDS_COLUMN]

    @property
    def keep(self) -> np.ndarray:
        """Rows not rejected so far."""
        return ~self.rejected

    def text(self, canonical: str) -> pd.Series:
        """The stripped cells of the file column mapped to ``canonical``; blanks when none is."""
        if canonical in self.resolved:
            return self.raw[self.resolved[canonical]].str.strip()
        return pd.Series("", index=self.raw.index, dtype="str")

    def reject(self, mask: np.ndarray, field_name: str, reasons: Callable[[np.ndarray], object]) -> None:
        """Reject the rows of ``mask`` not rejected yet; ``reasons`` builds their reasons from their
        positions, so a row rejected earlier keeps its first reason."""
        new = mask & ~self.rejected
        positions = np.flatnonzero(new)
        if len(positions):
            self.rejects.add(positions, field_name, reasons(positions))
            self.rejected[positions] = True


@dataclass
class Location:
    """Where each row is (NaN where it is not) and its address as it will be loaded."""

    latitude: np.ndarray
    longitude: np.ndarray
    postal_code: pd.Series
    city: pd.Series
    state: pd.Series
    country: pd.Series


@dataclass
class Money:
    """Money and hours per row: ``revenue`` is 0 where missing (``missing_revenue``); potential and
    workload are NaN where missing (the rule derives them); ``company_revenue`` None without its column."""

    revenue: np.ndarray
    missing_revenue: np.ndarray
    potential: np.ndarray
    workload: np.ndarray
    company_revenue: np.ndarray | None


@dataclass
class Estimates:
    """Potential and workload of the loaded rows, with the rule's estimates filled in and flagged."""

    potential: pd.Series
    workload: pd.Series
    estimated_potential: np.ndarray
    estimated_workload: np.ndarray
    unknown_potential: np.ndarray  # neither potential nor revenue: nothing to estimate from (held as 0)


def accounts_from_frame(raw: pd.DataFrame, mapping: dict[str, str] | None = None) -> LoadResult:
    """Canonical accounts from a raw table (as ``read_table`` returns), with the full report.

    Each row is loaded or rejected (blank row, wider than the header, missing or duplicate
    ``account_id``, no usable location); questionable values are loaded with a warning. See the
    docs/importing.md for the rules. The steps below run in this order and share one
    ``ImportContext``; each is tested alone in tests/data/test_io_steps.py.
    """
    context = ImportContext.start(raw, mapping)
    reject_blank_and_wide_rows(context)
    warn_line_breaks(context)
    ids = check_ids(context)
    location = locate(context)
    industry, kind = read_categories(context)
    money = read_money(context)
    locked = read_locked(context)
    estimates = derive_missing(context, money, industry, location)
    accounts = build_accounts(context, ids, location, industry, kind, money, locked, estimates)
    return finish(context, ids, accounts)


def reject_blank_and_wide_rows(context: ImportContext) -> None:
    """1. Rows with nothing in them, and rows wider than the header (an unquoted delimiter)."""
    raw = context.raw
    has_id = (context.text(S.ACCOUNT_ID) != "").to_numpy()
    all_blank = np.zeros(context.rows, dtype=bool)
    without_id = np.flatnonzero(~has_id)  # only rows without an ID can be entirely blank
    if len(without_id):
        candidates = raw.iloc[without_id]
        blank_rows = np.ones(len(without_id), dtype=bool)
        for column in raw.columns:
            blank_rows &= (candidates[column].str.strip() == "").to_numpy()
        all_blank[without_id[blank_rows]] = True
    context.reject(all_blank, "row", lambda _: "row is empty (every cell blank): delete it or fill it in")
    if EXTRA_FIELDS_COLUMN in raw.columns:
        extra = raw[EXTRA_FIELDS_COLUMN]
        context.reject(
            (extra != "").to_numpy(),
            "row",
            lambda p: (
                "row has more cells than the header (extra: "
                + _quote(extra.iloc[p]).to_numpy()
                + "): quote values that contain the delimiter, or remove the extra cells"
            ),
        )


def warn_line_breaks(context: ImportContext) -> None:
    """A value holding a line break: legitimate in a quoted address, or a quote left open that read
    the following lines into this row (#18, item 5). Either way the row and the notes say so."""
    spans = np.zeros(context.rows, dtype=bool)
    for column in context.columns:
        broken = context.raw[column].str.contains("\n", regex=False).to_numpy(dtype=bool)
        if broken.any():
            spans |= broken
            context.warns.add(np.flatnonzero(broken), column,
                              f"{column} holds a line break, so this row spans several lines of the file; if a "
                              "quote was left open there, the lines after it were read into this value: check "
                              "the quotes")
    if spans.any():
        rows = np.flatnonzero(spans) + 1
        context.notes.append(
            f"{int(spans.sum()):,} row{'s' if spans.sum() > 1 else ''} (row {', '.join(map(str, rows[:5]))}"
            f"{', ...' if rows.size > 5 else ''}) hold{'' if spans.sum() > 1 else 's'} a line break inside a "
            "quoted value: if a quote was left "
            "open, the lines after it were read into that row (check the quotes in the source).")


def check_ids(context: ImportContext) -> pd.Series:
    """2. ``account_id``: present and unique, never merged. Returns the IDs of every row."""
    ids = context.text(S.ACCOUNT_ID)
    has_id = (ids != "").to_numpy()
    context.reject(~has_id, S.ACCOUNT_ID, lambda _: "account_id is blank: give every account a unique ID")
    codes, _ = pd.factorize(ids)
    # factorize numbers IDs in order of first appearance, so a row holds a new ID exactly when its
    # code exceeds every code before it: duplicates without a second hash pass over a million IDs.
    n = context.rows
    first_seen = codes > np.maximum.accumulate(np.r_[-1, codes[:-1]]) if n else np.zeros(0, dtype=bool)
    repeated = ~first_seen & has_id
    if repeated.any():
        first_rows = np.flatnonzero(first_seen)[codes]  # first row of each ID
        context.reject(
            repeated,
            S.ACCOUNT_ID,
            lambda p: (
                "duplicate account_id (first in row "
                + pd.Series(first_rows[p] + 1).astype("str").to_numpy()
                + "): IDs must be unique and rows are never merged; fix the ID or delete this copy"
            ),
        )
        _warn_duplicate_firsts(context.warns, codes, repeated, first_rows)
    return ids


def locate(context: ImportContext) -> Location:
    """3. Where each row is: valid coordinates win; else the US ZIP centroid; else the centre of a
    known US city and state (warned); else the row is rejected saying what to add."""
    lat_text, lon_text, postal_text = context.text(S.LATITUDE), context.text(S.LONGITUDE), context.text(S.POSTAL_CODE)
    country, unknown_country = normalize_country(context.text(S.COUNTRY))
    if S.LATITUDE in context.resolved:
        lat_values, lon_values = parse_coordinate(lat_text), parse_coordinate(lon_text)
    else:  # ZIP-only file: skip parsing two columns of blanks
        lat_values = lon_values = pd.Series(np.nan, index=context.raw.index)
    coords_ok = valid_coordinates(lat_values, lon_values).to_numpy()
    coords_given = ((lat_text != "") | (lon_text != "")).to_numpy()
    us_like = country.isin(["US", "", "PR", "GU", "VI"]).to_numpy()
    zip5, restored = normalize_us_zip(postal_text.where(us_like, ""))
    centroids = zip_centroids(zip5)
    zip_ok = centroids["latitude"].notna().to_numpy()
    use_zip = ~coords_ok & zip_ok
    no_location = ~coords_ok & ~zip_ok
    state_given = pd.Series(_per_distinct(context.text(S.STATE), _state)[0], index=context.raw.index)
    use_city = np.zeros(context.rows, dtype=bool)
    if no_location.any() and S.CITY in context.resolved and S.STATE in context.resolved:
        use_city = _place_by_city(context, no_location & us_like, state_given, coords_given, centroids)
        no_location &= ~use_city
    if no_location.any():
        _reject_unlocated(context, no_location, zip5, country, state_given, coords_given, us_like)

    latitude = np.where(coords_ok, lat_values.to_numpy(), centroids["latitude"].to_numpy())
    longitude = np.where(coords_ok, lon_values.to_numpy(), centroids["longitude"].to_numpy())
    _warn_location_fixes(context, use_zip & coords_given & ~use_city, restored.to_numpy() & zip5.notna().to_numpy(),
                         unknown_country, zip5, country)

    city = context.text(S.CITY)
    return Location(
        latitude=latitude,
        longitude=longitude,
        postal_code=zip5.where(zip5.notna(), postal_text.where(postal_text != "")),
        city=city.where(city != "", centroids["city"]),
        state=state_given.where(state_given != "", centroids["state"]),
        country=country.where(country != "", "US"),
    )


def _place_by_city(context: ImportContext, candidates: np.ndarray, state_given: pd.Series, coords_given: np.ndarray,
                   centroids: pd.DataFrame) -> np.ndarray:
    """A bad or missing ZIP with a known US city and state: the city's centre (written into
    ``centroids``), with a warning per row and a note. Returns the rows so placed."""
    use_city = np.zeros(context.rows, dtype=bool)
    p = np.flatnonzero(candidates)
    places = city_centroids(context.text(S.CITY).iloc[p], state_given.iloc[p])
    found = places["latitude"].notna().to_numpy()
    p, places = p[found], places[found]
    if not len(p):
        return use_city
    use_city[p] = True
    city_lat = np.full(context.rows, np.nan)
    city_lon = np.full(context.rows, np.nan)
    city_lat[p], city_lon[p] = places["latitude"].to_numpy(), places["longitude"].to_numpy()
    centroids.loc[use_city, "latitude"] = city_lat[use_city]
    centroids.loc[use_city, "longitude"] = city_lon[use_city]
    postal = context.text(S.POSTAL_CODE).iloc[p]
    zips = places["zips"].to_numpy()
    context.warns.add(
        p,
        S.POSTAL_CODE,
        np.where((postal == "").to_numpy(), "no ZIP",
                 "ZIP " + _quote(postal).to_numpy() + " has no known location")
        + np.where(coords_given[p], " and the coordinates are not valid", "")
        + ": placed at the centre of " + places["city"].to_numpy() + ", " + state_given.iloc[p].to_numpy()
        + " (mean of its " + pd.Series(zips).astype("str").to_numpy() + " ZIP centroid"
        + np.where(zips > 1, "s", "") + "); fix the ZIP for an exact location",
    )
    rows = p + 1
    context.notes.append(
        f"{_fmt(len(p))} row{'s' if len(p) > 1 else ''} without a usable ZIP (row "
        f"{', '.join(map(str, rows[:5]))}{', ...' if len(rows) > 5 else ''}) placed at the centre of "
        "their city (from the city and state): their distances are approximate."
    )
    return use_city


def _reject_unlocated(context: ImportContext, no_location: np.ndarray, zip5: pd.Series, country: pd.Series,
                      state_given: pd.Series, coords_given: np.ndarray, us_like: np.ndarray) -> None:
    """Reject the rows with no usable location, saying what was tried and what to add."""
    field_name, reasons = _location_reasons(
        no_location, context.text(S.LATITUDE), context.text(S.LONGITUDE), context.text(S.POSTAL_CODE), zip5,
        country, coords_given, us_like
    )
    city_text = context.text(S.CITY)

    def with_city(p: np.ndarray) -> object:
        tried = (us_like[p] & (city_text.iloc[p] != "").to_numpy() & (state_given.iloc[p] != "").to_numpy())
        return np.asarray(reasons(p), dtype=object) + np.where(
            tried,
            "; city " + _quote(city_text.iloc[p]).to_numpy() + ", " + state_given.iloc[p].to_numpy()
            + " is not in the US ZIP list either",
            "",
        )

    context.reject(no_location, field_name, with_city)


def _warn_location_fixes(context: ImportContext, bad_coords_used_zip: np.ndarray, restored: np.ndarray,
                         unknown_country: np.ndarray, zip5: pd.Series, country: pd.Series) -> None:
    """Warnings on rows located after a repair: coordinates replaced by the ZIP's centre, a ZIP that
    lost its leading zeros, a country that is not a known name or code."""
    if bad_coords_used_zip.any():
        p = np.flatnonzero(bad_coords_used_zip)
        context.warns.add(
            p,
            S.LATITUDE,
            "coordinates ("
            + _quote(context.text(S.LATITUDE).iloc[p]).to_numpy()
            + ", "
            + _quote(context.text(S.LONGITUDE).iloc[p]).to_numpy()
            + ") are not valid (latitude -90..90, longitude -180..180, not 0,0): used the centre of ZIP "
            + zip5.iloc[p].to_numpy()
            + " instead; fix the coordinates",
        )
    if restored.any():
        p = np.flatnonzero(restored)
        context.warns.add(
            p,
            S.POSTAL_CODE,
            "ZIP " + _quote(context.text(S.POSTAL_CODE).iloc[p]).to_numpy() + " lost its leading zero(s) (a "
            "spreadsheet stored it as a number): read as " + zip5.iloc[p].to_numpy() + "; format the ZIP column "
            "as text",
        )
    if unknown_country.any():
        p = np.flatnonzero(unknown_country)
        context.warns.add(
            p,
            S.COUNTRY,
            "country " + _quote(country.iloc[p]).to_numpy() + " is not a known name or 2-letter code: kept as "
            "written; use ISO codes such as US, CA, GB",
        )


def read_categories(context: ImportContext) -> tuple[pd.api.extensions.ExtensionArray,
                                                     pd.api.extensions.ExtensionArray | None]:
    """Industry (readable names; blank is 'Other') and account type (None without its column), each
    unknown value kept as written with a warning on the rows still loaded and a note per value."""
    industry_text = context.text(S.INDUSTRY)
    industry, unknown_industry = _per_distinct(industry_text, _industry)
    _warn_unknown(context.warns, context.notes, unknown_industry & context.keep, industry_text, S.INDUSTRY,
                  "is not a HubSpot, Salesforce or Territory Studio industry: kept as written; the workload rule "
                  "gives it its default hours")
    kind = None
    if S.ACCOUNT_TYPE in context.resolved:
        type_text = context.text(S.ACCOUNT_TYPE)
        kind, unknown_type = _per_distinct(type_text, account_type)
        _warn_unknown(context.warns, context.notes, unknown_type.astype(bool) & context.keep, type_text,
                      S.ACCOUNT_TYPE,
                      "is not a known account type (Customer, Prospect, Partner, Vendor, Former customer, Other): "
                      "kept as written; choose whether it counts for balancing on the Rebalance page or with "
                      "--types")
    return industry, kind


def read_money(context: ImportContext) -> Money:
    """4. Money and hours: unreadable or absurd -> missing (warned); negative -> 0 (warned)."""
    company_revenue = (
        _measure(context, S.COMPANY_REVENUE, "left blank") if S.COMPANY_REVENUE in context.resolved else None
    )
    revenue = _measure(context, S.REVENUE, "counted as 0")
    missing_revenue = np.isnan(revenue)
    revenue[missing_revenue] = 0.0
    potential = _measure(context, S.POTENTIAL, "derived from revenue by the documented rule")
    workload = _measure(context, S.WORKLOAD_HOURS, "derived by the documented rule")
    return Money(revenue=revenue, missing_revenue=missing_revenue, potential=potential, workload=workload,
                 company_revenue=company_revenue)


def read_locked(context: ImportContext) -> np.ndarray:
    """The lock flag per row; a value that is not yes/no is warned and read as not locked."""
    locked_text = context.text(S.LOCKED)
    locked, bad_flag = parse_flag(locked_text)
    if bad_flag.any():
        p = np.flatnonzero(bad_flag)
        context.warns.add(
            p,
            S.LOCKED,
            "locked " + _quote(locked_text.iloc[p]).to_numpy() + " is not yes/no: treated as "
            "not locked; use true/false, yes/no or 1/0",
        )
    return locked


def derive_missing(context: ImportContext, money: Money, industry: object, location: Location) -> Estimates:
    """Potential and workload of the loaded rows, the missing ones derived by the documented rule
    (docs/importing.md), each derivation counted in a note; and the note on revenue counted as 0."""
    keep = context.keep
    index = pd.RangeIndex(int(keep.sum()))
    industry_kept = pd.Series(industry[keep], index=index)
    potential = pd.Series(money.potential[keep], index=index)
    missing = np.isnan(potential.to_numpy())
    unknown_potential = missing & money.missing_revenue[keep]  # revenue 0 x multiplier would pretend
    missing_potential = missing & ~unknown_potential
    potential[unknown_potential] = 0.0
    if missing_potential.any():
        # Categorical industry: the rule's per-industry lookups then run once per industry.
        revenue = pd.Series(money.revenue[keep], index=index)
        derived = derive_potential(revenue[missing_potential], industry_kept[missing_potential].astype("category"))
        potential[missing_potential] = derived.to_numpy()
        context.notes.append(_derived_note(S.POTENTIAL, int(missing_potential.sum()),
                                           S.POTENTIAL in context.resolved))
    if unknown_potential.any():
        context.notes.append(
            f"potential unknown for {_fmt(int(unknown_potential.sum()))} rows: neither potential nor revenue in "
            "the file, so there is nothing to estimate it from. It is held as 0, marked unknown on every page, "
            "and cannot be balanced on while every account lacks it; map a potential or revenue column to use it.")
    workload = pd.Series(money.workload[keep], index=index)
    missing_workload = np.isnan(workload.to_numpy())
    if missing_workload.any():
        m = missing_workload
        derived = derive_workload_hours(
            potential[m], industry_kept[m].astype("category"),
            pd.Series(location.latitude[keep], index=index)[m], pd.Series(location.longitude[keep], index=index)[m],
        )
        workload[m] = derived.to_numpy()
        context.notes.append(_derived_note(S.WORKLOAD_HOURS, int(m.sum()), S.WORKLOAD_HOURS in context.resolved))
    revenue_missing_loaded = int((money.missing_revenue & keep).sum())
    if revenue_missing_loaded:
        where = "no revenue column" if S.REVENUE not in context.resolved else "blank or unreadable"
        context.notes.append(f"revenue counted as 0 for {_fmt(revenue_missing_loaded)} rows ({where}).")
    return Estimates(potential=potential, workload=workload, estimated_potential=missing_potential,
                     estimated_workload=missing_workload, unknown_potential=unknown_potential)


def build_accounts(context: ImportContext, ids: pd.Series, location: Location, industry: object, kind: object,
                   money: Money, locked: np.ndarray, estimates: Estimates) -> pd.DataFrame:
    """The loaded rows in the canonical schema, then the file's other columns (renamed on a clash),
    with the notes on how owners, company revenue and renamed columns were read."""
    keep = context.keep
    index = pd.RangeIndex(int(keep.sum()))

    def kept_text(values: pd.Series) -> pd.Series:
        values = values[keep].reset_index(drop=True)
        return values.where(values != "").astype("string")

    accounts = pd.DataFrame(
        {
            S.ACCOUNT_ID: kept_text(ids),
            S.NAME: kept_text(context.text(S.NAME)),
            S.LATITUDE: pd.Series(location.latitude[keep], index=index, dtype="float64"),
            S.LONGITUDE: pd.Series(location.longitude[keep], index=index, dtype="float64"),
            S.POSTAL_CODE: kept_text(location.postal_code.fillna("")),
            S.CITY: kept_text(location.city.fillna("")),
            S.STATE: kept_text(location.state.fillna("")),
            S.COUNTRY: kept_text(location.country),
            S.INDUSTRY: pd.Series(industry[keep], index=index).astype("string"),
            S.REVENUE: pd.Series(money.revenue[keep], index=index, dtype="float64"),
            S.POTENTIAL: estimates.potential.astype("float64"),
            S.WORKLOAD_HOURS: estimates.workload.astype("float64"),
            S.TERRITORY_ID: kept_text(context.text(S.TERRITORY_ID)),
            S.LOCKED: pd.array(locked[keep], dtype="boolean"),
        },
        index=index,
    )
    if kind is not None:
        accounts[S.ACCOUNT_TYPE] = kept_text(pd.Series(kind, index=context.raw.index))
    for column, estimated in ((S.POTENTIAL, estimates.estimated_potential),
                              (S.WORKLOAD_HOURS, estimates.estimated_workload)):
        if estimated.any():  # which values are the rule's estimates, row by row (pages and exports say so)
            accounts[S.ESTIMATED_FLAG[column]] = pd.array(estimated, dtype="boolean")
    if estimates.unknown_potential.any():
        accounts[S.POTENTIAL_UNKNOWN] = pd.array(estimates.unknown_potential, dtype="boolean")
    resolved = context.resolved
    if money.company_revenue is not None:
        accounts[S.COMPANY_REVENUE] = pd.Series(money.company_revenue[keep], index=index, dtype="float64")
        if S.POTENTIAL not in resolved:
            context.notes.append(
                f"company_revenue taken from '{resolved[S.COMPANY_REVENUE]}': the customer company's own revenue, "
                "shown as such and not used for revenue or potential. If it stands for the opportunity, map it to "
                "potential."
            )
    extras = _extra_columns(context.raw, resolved)
    if extras:  # all at once: one column at a time is quadratic in the number of columns
        extra_frame = pd.DataFrame({name: context.raw[column][keep].reset_index(drop=True)
                                    for name, column in extras.items()})
        accounts = pd.concat([accounts, extra_frame.set_axis(accounts.index)], axis=1)

    if S.TERRITORY_ID in resolved and _key(resolved[S.TERRITORY_ID]) in {_key(o) for o in OWNER_SYNONYMS}:
        context.notes.append(
            f"territory_id taken from '{resolved[S.TERRITORY_ID]}' (no territory column): the current "
            "alignment is keyed by owner, one territory per owner."
        )
        context.notes.extend(_small_owner_notes(accounts[S.TERRITORY_ID]))
    renamed = {column: name for name, column in extras.items() if name != column}
    if renamed:
        context.notes.append(
            "Extra columns renamed to avoid clashing with canonical names: "
            + ", ".join(f"'{a}' -> '{b}'" for a, b in renamed.items())
            + "."
        )
    return accounts


SMALL_OWNER_SHARE = 0.1
"""An owner holding fewer accounts than this share of the median owner's is named in a note."""


def _small_owner_notes(owners: pd.Series, shown: int = 5) -> list[str]:
    """A note naming owners with very few accounts: each becomes a territory and counts as one full-time
    rep, which lowers every other rep's target (a stray or mistyped owner on one row did that).

    >>> print(_small_owner_notes(pd.Series(["Ana"] * 40 + ["Bo"] * 30 + ["=x"]))[0][:67])
    1 owner holds under a tenth of the median owner's 30 accounts: '=x'
    """
    counts = owners.dropna().astype(str).str.strip()
    counts = counts[counts != ""].value_counts()
    if len(counts) < 3:
        return []
    median = float(counts.median())
    small = counts[counts < SMALL_OWNER_SHARE * median].sort_values()
    if small.empty:
        return []
    named = ", ".join(f"'{owner}' ({n:,})" for owner, n in small.head(shown).items())
    more = f" and {len(small) - shown:,} more" if len(small) > shown else ""
    return [f"{len(small):,} owner{'s hold' if len(small) > 1 else ' holds'} under a tenth of the median owner's "
            f"{median:,.0f} accounts: {named}{more}. As a territory each counts as one full-time rep, lowering every "
            "other rep's target; if it is not a rep, give its accounts a rep's name in the file."]


def finish(context: ImportContext, ids: pd.Series, accounts: pd.DataFrame) -> LoadResult:
    """The report (rows read = loaded + rejected, every issue with its row) and the rejected rows as
    they were in the file, with their row number and reason first."""
    if context.rows == 0:
        context.notes.append("The file has a header but no data rows.")
    rejected_issues = context.rejects.build(ids)
    report = LoadReport(
        rows_read=context.rows,
        rows_loaded=int(context.keep.sum()),
        rows_rejected=int(context.rejected.sum()),
        rejected=rejected_issues,
        warnings=context.warns.build(ids, keep=context.keep),
        notes=context.notes,
        mapping=dict(context.resolved),
    )
    rejected_rows = context.raw[context.rejected].reset_index(drop=True)
    rejected_rows = rejected_rows.rename(columns={c: f"{c}_input" for c in ("row", "reason") if c in rejected_rows})
    rejected_rows.insert(0, "reason", pd.array([i.reason for i in rejected_issues], dtype="str"))
    rejected_rows.insert(0, "row", np.array([i.row for i in rejected_issues], dtype=np.int64))
    return LoadResult(accounts=accounts, report=report, rejected_rows=rejected_rows)


def _check_mapping(resolved: dict[str, str], columns: Sequence[str]) -> None:
    shown = ", ".join(repr(c) for c in list(columns)[:12])
    if S.ACCOUNT_ID not in resolved:
        raise DataError(
            f"no account ID column found (columns: {shown}): name one account_id, 'Account ID' or "
            "'Record ID', map it by hand, or add a header row if the first line is data"
        )
    has_coords = S.LATITUDE in resolved and S.LONGITUDE in resolved
    if (S.LATITUDE in resolved) != (S.LONGITUDE in resolved):
        missing = S.LONGITUDE if S.LATITUDE in resolved else S.LATITUDE
        raise DataError(f"{missing} column missing: map both latitude and longitude, or neither and use ZIPs")
    if not has_coords and S.POSTAL_CODE not in resolved:
        raise DataError(
            f"no location columns found (columns: {shown}): add latitude and longitude or a postal_code "
            "(ZIP) column, or map them by hand"
        )


def _warn_duplicate_firsts(warns: _Issues, codes: np.ndarray, repeated: np.ndarray, first_rows: np.ndarray) -> None:
    """One warning on the first row of each duplicated ID, listing where the copies are."""
    copy_positions = np.flatnonzero(repeated)
    copy_codes = codes[copy_positions]
    order = np.argsort(copy_codes, kind="stable")
    copy_positions, copy_codes = copy_positions[order], copy_codes[order]
    starts = np.flatnonzero(np.r_[True, copy_codes[1:] != copy_codes[:-1]])
    ends = np.r_[starts[1:], len(copy_codes)]
    firsts, reasons = [], []
    for start, end in zip(starts, ends):
        rows = copy_positions[start:end] + 1
        listed = ", ".join(str(r) for r in rows[:5]) + (f" and {len(rows) - 5:,} more" if len(rows) > 5 else "")
        firsts.append(first_rows[copy_positions[start]])
        reasons.append(
            f"account_id appears {len(rows) + 1:,} times (also in row{'s' if len(rows) > 1 else ''} {listed}): "
            "this row was kept and the later copies rejected; IDs are never merged"
        )
    warns.add(np.asarray(firsts, dtype=np.int64), S.ACCOUNT_ID, reasons)


def _location_reasons(
    mask: np.ndarray,
    lat_text: pd.Series,
    lon_text: pd.Series,
    postal_text: pd.Series,
    zip5: pd.Series,
    country: pd.Series,
    coords_given: np.ndarray,
    us_like: np.ndarray,
) -> tuple[str, Callable[[np.ndarray], object]]:
    """Field and a reason builder for rows with no usable location; the reason says what to do."""

    def reasons(p: np.ndarray) -> np.ndarray:
        postal = postal_text.iloc[p]
        has_postal = (postal != "").to_numpy()
        has_zip5 = zip5.iloc[p].notna().to_numpy()
        exists = np.zeros(len(p), dtype=bool)
        if has_zip5.any():
            exists[has_zip5] = zip_table().known[zip5.iloc[p][has_zip5].astype(int).to_numpy()]
        coord_part = np.where(
            coords_given[p],
            "coordinates ("
            + _quote(lat_text.iloc[p]).to_numpy()
            + ", "
            + _quote(lon_text.iloc[p]).to_numpy()
            + ") are not valid",
            "no coordinates",
        )
        quoted = _quote(postal).to_numpy()
        country_quoted = _quote(country.iloc[p]).to_numpy()
        zip_part = np.select(
            [
                ~us_like[p] & has_postal,
                ~us_like[p],
                ~has_postal,
                ~has_zip5,
                ~exists,
            ],
            [
                " and country "
                + country_quoted
                + " is outside the US: offline geocoding covers US ZIPs only; add latitude/longitude",
                " and country " + country_quoted + " is outside the US: add latitude/longitude",
                " and no ZIP: add latitude/longitude or a 5-digit US ZIP",
                " and ZIP " + quoted + " is not a US ZIP: add latitude/longitude or a 5-digit ZIP",
                " and ZIP " + quoted + " is not in the US ZIP list: check the ZIP or add latitude/longitude",
            ],
            default=" and ZIP " + quoted + " has no known location (military ZIP): add latitude/longitude",
        )
        return coord_part + zip_part

    field_name = S.POSTAL_CODE
    if coords_given[mask].all() and (postal_text[mask] == "").all():
        field_name = S.LATITUDE
    return field_name, reasons


def _measure(context: ImportContext, column: str, missing_means: str) -> np.ndarray:
    """Parse a money/hours column: NaN when missing; warn on unreadable, absurd and negative values."""
    if column not in context.resolved:
        return np.full(context.rows, np.nan)
    cells = context.text(column)
    values, unreadable = parse_money(cells)
    absurd = np.abs(values) > S.MAX_AMOUNT
    negative = (values < 0) & ~absurd
    for rows, what in (
        (unreadable, f"is not a number: treated as missing ({missing_means}); write it like 1234567 or $1,234,567.00"),
        (absurd, f"is beyond any plausible amount (above {S.MAX_AMOUNT:,.0f}): treated as missing ({missing_means}); "
                 "check the value in the source"),
        (negative, "is negative: counted as 0 for balancing; check the sign in the source"),
    ):
        if rows.any():
            p = np.flatnonzero(rows)
            context.warns.add(p, column, f"{column} " + _quote(cells.iloc[p]).to_numpy() + f" {what}")
    values[absurd] = np.nan
    values[negative] = 0.0
    return values


def _derived_note(column: str, count: int, column_present: bool) -> str:
    rule = (
        "revenue x the industry's wallet multiplier"
        if column == S.POTENTIAL
        else "visits per year by tier x (meeting hours + travel hours)"
    )
    why = "blank or unreadable in the file" if column_present else "no such column in the file"
    return f"{column} derived by the documented rule ({rule}) for {_fmt(count)} rows ({why})."


_KNOWN_INDUSTRIES = readable_industries(INDUSTRIES)


def _industry(value: str) -> tuple[str, bool]:
    """``(industry, unknown)``: the readable name of a known industry or picklist code (HubSpot's
    COMPUTER_SOFTWARE -> Computer Software), else the value as written and ``unknown``; blank is 'Other'."""
    value = value.strip()
    if not value:
        return OTHER_INDUSTRY, False
    known = _KNOWN_INDUSTRIES.get(re.sub(r"[^0-9a-z]", "", value.lower()))
    return (known, False) if known else (value, True)


def _warn_unknown(
    warns: _Issues, notes: list[str], unknown: np.ndarray, cells: pd.Series, column: str, what: str
) -> None:
    """A warning on each row whose value is not known, and one note counting them per value."""
    if not unknown.any():
        return
    p = np.flatnonzero(unknown)
    warns.add(p, column, f"{column} " + _quote(cells.iloc[p]).to_numpy() + f" {what}")
    counts = cells.iloc[p].value_counts()
    listed = ", ".join(f"'{value}' ({count:,})" for value, count in counts.head(8).items())
    more = f" and {len(counts) - 8:,} more" if len(counts) > 8 else ""
    notes.append(f"{column}: {_fmt(len(p))} row{'s' if len(p) > 1 else ''} with {len(counts):,} unknown "
                 f"value{'s' if len(counts) > 1 else ''} kept as written: {listed}{more}.")


def _state(value: str) -> tuple[str]:
    """US state names become their two-letter code; anything else is kept as written."""
    value = value.strip()
    return (US_STATE_CODES.get(value.upper(), value.upper() if len(value) == 2 else value),)


def _extra_columns(raw: pd.DataFrame, resolved: dict[str, str]) -> dict[str, str]:
    """Unmapped input columns to carry through: output name -> raw column (renamed on clashes)."""
    used = set(resolved.values()) | {EXTRA_FIELDS_COLUMN}
    taken = set(S.MAPPABLE_ACCOUNT_COLUMNS) | set(S.ESTIMATED_FLAG.values()) | {S.POTENTIAL_UNKNOWN}
    extras: dict[str, str] = {}
    for column in raw.columns:
        if column in used:
            continue
        name = column
        if name in taken:
            name = f"{column}_input"
            suffix = 2
            while name in taken or name in raw.columns:
                name = f"{column}_input{suffix}"
                suffix += 1
        taken.add(name)
        extras[name] = column
    return extras


# --- territories and bookings -----------------------------------------------------------------


def load_territories(source: str | Path | bytes | BinaryIO, filename: str | None = None) -> pd.DataFrame:
    """Territories/reps table in ``TERRITORY_COLUMNS`` order; capacity_fte defaults to 1.0.

    Small files, so problems raise ``DataError`` naming the rows instead of being reported.
    """
    raw = _as_text_frame(read_table(source, filename))
    resolved = _resolve_mapping(
        list(raw.columns), None, S.TERRITORY_COLUMNS, _suggest(list(raw.columns), TERRITORY_SYNONYMS)
    )
    if S.TERRITORY_ID not in resolved:
        raise DataError(f"territories file has no territory_id column (columns: {', '.join(map(repr, raw.columns))})")
    text = {
        c: raw[resolved[c]].str.strip() if c in resolved else pd.Series("", index=raw.index, dtype="str")
        for c in S.TERRITORY_COLUMNS
    }
    ids = text[S.TERRITORY_ID]
    _raise_for_rows(ids == "", "territories file: territory_id is blank", "give every territory an ID")
    _raise_for_rows(
        ids.duplicated(keep="first") & (ids != ""),
        "territories file: duplicate territory_id",
        "each territory appears once",
    )
    capacity, bad = parse_money(text[S.CAPACITY_FTE])
    _raise_for_rows(
        pd.Series(bad | (capacity <= 0) | (capacity > S.MAX_CAPACITY_FTE)),
        f"territories file: capacity_fte is not a positive number up to {S.MAX_CAPACITY_FTE:,.0f}",
        "use 1.0 for full time, 0.5 for half",
    )
    capacity[np.isnan(capacity)] = S.DEFAULT_CAPACITY_FTE
    home_lat = parse_coordinate(text[S.HOME_LATITUDE])
    home_lon = parse_coordinate(text[S.HOME_LONGITUDE])
    valid_home = valid_coordinates(home_lat, home_lon)
    home_lat, home_lon = home_lat.where(valid_home), home_lon.where(valid_home)

    def as_string(values: pd.Series) -> pd.Series:
        return values.where(values != "").astype("string")

    return pd.DataFrame(
        {
            S.TERRITORY_ID: as_string(ids),
            S.REP_NAME: as_string(text[S.REP_NAME]),
            S.REGION: as_string(text[S.REGION]),
            S.DISTRICT: as_string(text[S.DISTRICT]),
            S.HOME_LATITUDE: home_lat.astype("float64"),
            S.HOME_LONGITUDE: home_lon.astype("float64"),
            S.CAPACITY_FTE: pd.Series(capacity, index=raw.index, dtype="float64"),
        }
    )


def keyed_by_owner(mapping: dict[str, str]) -> bool:
    """Does the import's ``territory_id`` come from an owner column (Account Owner, Company owner)?"""
    column = mapping.get(S.TERRITORY_ID)
    return column is not None and _key(column) in {_key(o) for o in OWNER_SYNONYMS}


def owner_territories(accounts: pd.DataFrame) -> pd.DataFrame:
    """The territories table of an alignment keyed by owner: one territory per owner, the owner its
    rep, so that no page, export or report shows a blank or "None" rep. Capacity is left blank: a
    CRM export does not give it, so it counts as the default 1 FTE and the pages say so.

    >>> owner_territories(pd.DataFrame({"territory_id": ["Ana Ortiz", "Bo Li", "Ana Ortiz"]}))[
    ...     ["territory_id", "rep_name"]].to_dict("list")
    {'territory_id': ['Ana Ortiz', 'Bo Li'], 'rep_name': ['Ana Ortiz', 'Bo Li']}
    """
    owners = accounts[S.TERRITORY_ID].astype("string").str.strip().dropna() if S.TERRITORY_ID in accounts \
        else pd.Series(dtype="string")
    owners = sorted(owners[owners != ""].unique().tolist())
    frame = pd.DataFrame({column: pd.Series(pd.NA, index=range(len(owners)), dtype="string")
                          for column in S.TERRITORY_COLUMNS})
    frame[S.TERRITORY_ID] = pd.array(owners, dtype="string")
    for column in (S.HOME_LATITUDE, S.HOME_LONGITUDE, S.CAPACITY_FTE):
        frame[column] = np.nan
    return with_owner_reps(frame)


def with_owner_reps(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (territory_id, rep_name, ...) with each blank rep the territory's own ID: the rep of
    an alignment keyed by owner, for the files sales ops load back into the CRM.

    >>> with_owner_reps(pd.DataFrame({"territory_id": ["Ana Ortiz", "Bo Li"], "rep_name": [None, "Bo"]}))[
    ...     "rep_name"].tolist()
    ['Ana Ortiz', 'Bo']
    """
    out = table.copy()
    ids = out[S.TERRITORY_ID].astype("string")
    reps = out[S.REP_NAME].astype("string") if S.REP_NAME in out else pd.Series(pd.NA, index=out.index, dtype="string")
    out[S.REP_NAME] = reps.where(reps.str.strip().fillna("") != "", ids)
    return out


_QUARTER_PATTERNS = (
    (r"^([0-9]{4})\s*[-/ ]?\s*Q([1-4])$", (1, 2)),
    (r"^Q([1-4])\s*[-/ ]?\s*([0-9]{4})$", (2, 1)),
    (r"^([0-9]{4})[-/]([0-9]{1,2})(?:[-/][0-9]{1,2})?(?:[ T].*)?$", None),
)


def _normalize_quarter(cells: pd.Series) -> pd.Series:
    """'2026Q3' from '2026Q3', '2026 Q3', 'Q3 2026', '2026-Q3' or a date such as '2026-08-15'."""
    upper = cells.str.upper().str.strip()
    result = pd.Series(np.nan, index=cells.index, dtype="str")
    for pattern, order in _QUARTER_PATTERNS:
        parts = upper.str.extract(pattern)
        ok = parts[0].notna() & result.isna()
        if order is None:
            month = pd.to_numeric(parts[1], errors="coerce")
            ok &= month.between(1, 12)
            quarter = ((month - 1) // 3 + 1).astype("Int64").astype("str")
            result[ok] = parts[0][ok] + "Q" + quarter[ok]
        else:
            year, q = parts[order[0] - 1], parts[order[1] - 1]
            result[ok] = year[ok] + "Q" + q[ok]
    return result


def load_bookings(source: str | Path | bytes | BinaryIO, filename: str | None = None) -> pd.DataFrame:
    """Bookings table (account_id, quarter like 2026Q3, amount) in ``BOOKING_COLUMNS`` order."""
    raw = _as_text_frame(read_table(source, filename))
    resolved = _resolve_mapping(
        list(raw.columns), None, S.BOOKING_COLUMNS, _suggest(list(raw.columns), BOOKING_SYNONYMS)
    )
    missing = [c for c in S.BOOKING_COLUMNS if c not in resolved]
    if missing:
        raise DataError(
            f"bookings file has no {', '.join(missing)} column (columns: {', '.join(map(repr, raw.columns))}): "
            "it needs account_id, quarter and amount"
        )
    ids = raw[resolved[S.ACCOUNT_ID]].str.strip()
    quarter_text = raw[resolved[S.QUARTER]].str.strip()
    quarter = _normalize_quarter(quarter_text)
    amount, bad = parse_money(raw[resolved[S.AMOUNT]])
    _raise_for_rows(ids == "", "bookings file: account_id is blank", "fill it in or delete the row")
    _raise_for_rows(quarter.isna(), "bookings file: quarter is not readable", "write quarters like 2026Q3")
    _raise_for_rows(
        pd.Series(bad | np.isnan(amount)), "bookings file: amount is not a number", "write amounts like 12345.67"
    )
    return pd.DataFrame(
        {
            S.ACCOUNT_ID: ids.astype("string"),
            S.QUARTER: quarter.astype("string"),
            S.AMOUNT: pd.Series(amount, index=raw.index, dtype="float64"),
        }
    )


def _raise_for_rows(mask: pd.Series | np.ndarray, problem: str, fix: str) -> None:
    rows = np.flatnonzero(np.asarray(mask, dtype=bool)) + 1
    if len(rows):
        listed = ", ".join(str(r) for r in rows[:5]) + (f" and {len(rows) - 5:,} more" if len(rows) > 5 else "")
        raise DataError(f"{problem} in {len(rows):,} rows (rows {listed}): {fix}")


# --- text report ------------------------------------------------------------------------------


def format_report(report: LoadReport) -> str:
    """Plain-text report for the terminal: counts, notes, then problems grouped by field."""
    lines = [
        f"rows read:     {report.rows_read:>12,}",
        f"rows loaded:   {report.rows_loaded:>12,}",
        f"rows rejected: {report.rows_rejected:>12,}",
        f"warnings:      {len(report.warnings):>12,}",
    ]
    if report.mapping:
        lines.append("")
        lines.append("columns used:")
        lines.extend(f"  {canonical:<15} <- {column!r}" for canonical, column in report.mapping.items())
    if report.notes:
        lines.append("")
        lines.append("notes:")
        lines.extend(f"  - {note}" for note in report.notes)
    for title, issues in (("rejected rows", report.rejected), ("warnings", report.warnings)):
        if not issues:
            continue
        counts: dict[str, int] = {}
        for issue in issues:
            counts[issue.field] = counts.get(issue.field, 0) + 1
        lines.append("")
        lines.append(
            f"{title} ({len(issues):,}; by field: " + ", ".join(f"{f} {c:,}" for f, c in counts.items()) + "):"
        )
        for issue in issues[:ISSUES_SHOWN_IN_TEXT]:
            who = f" [{issue.account_id}]" if issue.account_id else ""
            lines.append(f"  row {issue.row}{who} {issue.field}: {issue.reason}")
        if len(issues) > ISSUES_SHOWN_IN_TEXT:
            lines.append(f"  ... and {len(issues) - ISSUES_SHOWN_IN_TEXT:,} more (use --json for the full list)")
    return "\n".join(lines)
