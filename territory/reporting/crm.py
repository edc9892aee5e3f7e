"""Write an alignment back to the CRM: a Salesforce Enterprise Territory Management load, or a
HubSpot company import with an owner column.

Salesforce (docs/routing.md#crm-write-back) gets a zip of four files: ``Territory2.csv`` (regions
and territories, each with a valid, unique DeveloperName), ``UserTerritory2Association.csv`` (rep ->
territory), ``ObjectTerritory2Association.csv`` (account -> territory, ``Territory2Manual``) and a
``README.txt`` with the load order. Salesforce gives records Ids only when they are inserted, so the
files refer to territories by DeveloperName and the README says how to swap in the Ids.

Every text cell is formula-escaped reversibly (:func:`territory.data.spreadsheet.escape_formulas`), and IDs are
written as text exactly as given: 18-character Salesforce IDs keep their case, HubSpot IDs their
leading zeros. :func:`read_back` reverses both files into the assignment (tested round trip).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory.data import schema as S
from territory.data.spreadsheet import escape_formulas, unescape_formulas
from territory.errors import DataError, ParameterError

FORMATS: tuple[str, ...] = ("salesforce", "hubspot")
DEVELOPER_NAME_MAX = 80
ROLE_IN_TERRITORY = "Owner"
"""RoleInTerritory2 for a territory's rep (Salesforce's picklist: Owner, Administrator, Sales Rep)."""
ASSOCIATION_CAUSE = "Territory2Manual"
TERRITORY2_COLUMNS = ("Name", "DeveloperName", "ParentTerritory2DeveloperName", "Territory2ModelId",
                      "Territory2TypeId", "Description")
USER_COLUMNS = ("RepName", "RepEmail", "UserId", "Territory2DeveloperName", "RoleInTerritory2")
OBJECT_COLUMNS = ("ObjectId", "Territory2DeveloperName", "AssociationCause")
HUBSPOT_COLUMNS = ("Record ID", "Company name", "Company owner")
EMAIL_COLUMNS = ("rep_email", "email", "Email", "Rep Email", "Owner Email", "Email Address", "User Email")
"""Columns of a reps file that hold the rep's e-mail (the owner HubSpot and Salesforce users are found by)."""


def developer_names(labels: list[str], prefix: str = "T") -> list[str]:
    """A valid, unique Salesforce DeveloperName for each label, in order.

    Valid: starts with a letter; letters, digits and single underscores, not at the end; at most
    80 characters. Accents are dropped (``Zürich`` -> ``Zurich``), every other run of characters
    becomes one underscore, a name not starting with a letter gets ``prefix_``, and a name
    already taken (DeveloperNames are unique whatever the case) gets ``_2``, ``_3``...

    >>> developer_names(["T01", "North-East  (NE)", "07", "t01", "Zürich__West_"])
    ['T01', 'North_East_NE', 'T_07', 't01_2', 'Zurich_West']
    """
    taken: set[str] = set()
    out = []
    for label in labels:
        ascii_text = unicodedata.normalize("NFKD", str(label)).encode("ascii", "ignore").decode("ascii")
        name = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_")
        if not name[:1].isalpha():
            name = f"{prefix}_{name}".strip("_")
        name = _fit(name, DEVELOPER_NAME_MAX)
        candidate, copy = name, 1
        while candidate.lower() in taken:
            copy += 1
            candidate = _fit(name, DEVELOPER_NAME_MAX - len(f"_{copy}")) + f"_{copy}"
        taken.add(candidate.lower())
        out.append(candidate)
    return out


def _fit(name: str, limit: int) -> str:
    return name[:limit].rstrip("_")


def is_developer_name(name: str) -> bool:
    """The rule Salesforce applies to DeveloperName.

    >>> [is_developer_name(n) for n in ["T01", "1T", "a__b", "a_", "a" * 81]]
    [True, False, False, False, False]
    """
    return (len(name) <= DEVELOPER_NAME_MAX and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*", name)
            is not None)


@dataclass(frozen=True)
class CrmExport:
    """The files of one export: name -> bytes (one CSV for HubSpot, four files for Salesforce)."""

    format: str
    files: dict[str, bytes]
    accounts: int  # account rows written (after --changed-only)

    def to_bytes(self) -> bytes:
        """The HubSpot CSV, or the Salesforce zip."""
        if self.format == "hubspot":
            return next(iter(self.files.values()))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.files.items():
                archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
        return buffer.getvalue()


def _csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (no BOM: Data Loader would read it into the first header), text cells escaped."""
    return escape_formulas(frame.astype(object)).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("").str.strip()


def crm_export(
    accounts: pd.DataFrame,
    labels: pd.Series,
    fmt: str,
    territories: pd.DataFrame | None = None,
    current: pd.Series | None = None,
    changed_only: bool = False,
    rep_emails: Mapping[str, str] | None = None,
) -> CrmExport:
    """The files that load ``labels`` (one territory per account, aligned with ``accounts``) into
    the CRM. ``current`` is the dataset's own territory per account: with ``changed_only`` only the
    accounts whose territory differs are written (the territory and rep files stay whole).
    ``rep_emails`` maps territory_id -> the rep's e-mail, preferred as HubSpot's owner."""
    if fmt not in FORMATS:
        raise ParameterError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    after = _text(pd.Series(np.asarray(labels, dtype=object), index=accounts.index))
    keep = after.ne("").to_numpy()
    if changed_only:
        if current is None:
            raise ParameterError("--changed-only needs the dataset's current territory_id to compare with")
        before = _text(pd.Series(np.asarray(current, dtype=object), index=accounts.index))
        keep &= (after != before).to_numpy()
    ids = accounts[S.ACCOUNT_ID].astype("string").to_numpy(dtype=object)
    table = _territory_rows(after[after != ""].unique().tolist(), territories, rep_emails or {})
    if fmt == "hubspot":
        owner = table.set_index(S.TERRITORY_ID)["owner"]
        names = _text(accounts[S.NAME]) if S.NAME in accounts.columns else pd.Series("", index=accounts.index)
        frame = pd.DataFrame({
            "Record ID": ids[keep],
            "Company name": names.to_numpy(dtype=object)[keep],
            "Company owner": after[keep].map(owner).to_numpy(dtype=object),
        }, columns=list(HUBSPOT_COLUMNS))
        return CrmExport(fmt, {"hubspot_companies.csv": _csv(frame)}, int(keep.sum()))
    developer = table.set_index(S.TERRITORY_ID)["developer_name"]
    territory2 = pd.concat([
        pd.DataFrame({"Name": table["region"][table["region_developer_name"] != ""].drop_duplicates(),
                      "DeveloperName": table["region_developer_name"][table["region_developer_name"] != ""]
                      .drop_duplicates(), "ParentTerritory2DeveloperName": "", "Description": "Region"}),
        pd.DataFrame({"Name": table[S.TERRITORY_ID], "DeveloperName": table["developer_name"],
                      "ParentTerritory2DeveloperName": table["region_developer_name"],
                      "Description": table["description"]}),
    ], ignore_index=True).assign(Territory2ModelId="", Territory2TypeId="")[list(TERRITORY2_COLUMNS)]
    reps = table[table["rep_name"] != ""]
    users = pd.DataFrame({"RepName": reps["rep_name"], "RepEmail": reps["email"], "UserId": "",
                          "Territory2DeveloperName": reps["developer_name"],
                          "RoleInTerritory2": ROLE_IN_TERRITORY}, columns=list(USER_COLUMNS))
    objects = pd.DataFrame({"ObjectId": ids[keep], "Territory2DeveloperName": after[keep].map(developer).to_numpy(),
                            "AssociationCause": ASSOCIATION_CAUSE}, columns=list(OBJECT_COLUMNS))
    files = {
        "Territory2.csv": _csv(territory2),
        "UserTerritory2Association.csv": _csv(users),
        "ObjectTerritory2Association.csv": _csv(objects),
        "README.txt": salesforce_readme(len(territory2), len(users), len(objects), changed_only).encode("utf-8"),
    }
    return CrmExport(fmt, files, int(keep.sum()))


def _territory_rows(used: list[str], territories: pd.DataFrame | None,
                    rep_emails: Mapping[str, str]) -> pd.DataFrame:
    """One row per territory (the reps table's, then any other label, sorted): rep, e-mail, region,
    DeveloperNames and the owner HubSpot gets (e-mail, else rep name, else the territory ID)."""
    ids = []
    info: dict[str, dict[str, str]] = {}
    if territories is not None and len(territories):
        for row in territories.to_dict("records"):
            tid = str(row[S.TERRITORY_ID]).strip()
            if tid and tid not in info:
                ids.append(tid)
                info[tid] = {key: "" if pd.isna(row.get(key)) else str(row.get(key)).strip()
                             for key in (S.REP_NAME, S.REGION)}
    ids += sorted(t for t in set(used) if t not in info)
    table = pd.DataFrame({S.TERRITORY_ID: ids})
    table["rep_name"] = [info.get(t, {}).get(S.REP_NAME, "") for t in ids]
    table["region"] = [info.get(t, {}).get(S.REGION, "") for t in ids]
    table["email"] = [str(rep_emails.get(t, "") or "").strip() for t in ids]
    regions = [r for r in dict.fromkeys(table["region"]) if r]
    names = developer_names(regions + ids)
    region_names = dict(zip(regions, names[:len(regions)]))
    table["developer_name"] = names[len(regions):]
    table["region_developer_name"] = [region_names.get(r, "") for r in table["region"]]
    table["description"] = [f"Rep: {r}" if r else "" for r in table["rep_name"]]
    table["owner"] = [e or r or t for e, r, t in zip(table["email"], table["rep_name"], ids)]
    return table


def salesforce_readme(territories: int, users: int, objects: int, changed_only: bool) -> str:
    """Load order and how to swap DeveloperNames for the Ids Salesforce assigns."""
    scope = ("only the accounts whose territory changed" if changed_only else "every account of the alignment")
    return f"""Territory Studio: alignment for Salesforce Enterprise Territory Management
==========================================================================

Files
  Territory2.csv                   {territories} rows: regions first, then territories
  UserTerritory2Association.csv    {users} rows: each territory's rep (RoleInTerritory2 = {ROLE_IN_TERRITORY})
  ObjectTerritory2Association.csv  {objects} rows: {scope}, AssociationCause = {ASSOCIATION_CAUSE}

Salesforce gives a record its Id only when it is inserted, so these files name territories by
DeveloperName. Load them in this order with Data Loader (or Workbench / dataloader.io), replacing
each DeveloperName column by the Id it stands for:

1. In Setup > Territory Models, create (or pick) a territory model in the Planning state and a
   territory type. Copy the model's Id (Territory2Model, 18 characters) into every row's
   Territory2ModelId, and the type's Id (Territory2Type) into every row's Territory2TypeId.
2. Insert the region rows of Territory2.csv (ParentTerritory2DeveloperName blank). Then export
   Territory2 (Id, DeveloperName) and, for the territory rows, look up each
   ParentTerritory2DeveloperName there (VLOOKUP) into a new ParentTerritory2Id column; map Name,
   DeveloperName, Territory2ModelId, Territory2TypeId, ParentTerritory2Id and Description; insert.
3. Export Territory2 (Id, DeveloperName) again. In UserTerritory2Association.csv, add a
   Territory2Id column looked up from Territory2DeveloperName, and fill UserId from an export of
   User (Id, Name, Email) by RepEmail, else RepName. Insert (UserId, Territory2Id, RoleInTerritory2).
4. In ObjectTerritory2Association.csv, add Territory2Id the same way and insert (ObjectId,
   Territory2Id, AssociationCause). ObjectId is the account Id exactly as in your export: keep the
   column as text so the 18-character, case-sensitive Ids are not changed.
5. Review the model and activate it.

Cells that start with = + - @ or ' were written with one extra leading ' so a spreadsheet shows
them as text; remove that quote if such a value must go into Salesforce as it is.
"""


def read_emails(reps: pd.DataFrame) -> dict[str, str]:
    """territory_id -> rep e-mail from a raw reps table (``io.read_table``), when it has such a column."""
    def key(name: object) -> str:
        return re.sub(r"[^a-z0-9]", "", str(name).lower())

    columns = {key(c): c for c in reps.columns}
    tid = next((columns[key(n)] for n in (S.TERRITORY_ID, "Territory", "Territory ID") if key(n) in columns), None)
    mail = next((columns[key(n)] for n in EMAIL_COLUMNS if key(n) in columns), None)
    if tid is None or mail is None:
        return {}
    return {str(t).strip(): str(e).strip() for t, e in zip(reps[tid], reps[mail]) if str(t).strip() and str(e).strip()}


def read_back(export: CrmExport) -> pd.Series:
    """account id -> territory_id from an export's own files (the round trip the tests check):
    Salesforce through DeveloperName -> Territory2 Name, HubSpot through the owner column."""
    def frame(name: str) -> pd.DataFrame:
        raw = pd.read_csv(io.BytesIO(export.files[name]), dtype=str, keep_default_na=False)
        return unescape_formulas(raw)

    if export.format == "hubspot":
        rows = frame("hubspot_companies.csv")
        return pd.Series(rows["Company owner"].to_numpy(), index=rows["Record ID"].to_numpy(), name="owner")
    territory2 = frame("Territory2.csv")
    objects = frame("ObjectTerritory2Association.csv")
    name = territory2.set_index("DeveloperName")["Name"]
    if objects["Territory2DeveloperName"].map(name).isna().any():
        raise DataError("ObjectTerritory2Association.csv names a territory that Territory2.csv does not have")
    return pd.Series(objects["Territory2DeveloperName"].map(name).to_numpy(), index=objects["ObjectId"].to_numpy(),
                     name=S.TERRITORY_ID)
