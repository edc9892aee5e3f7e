"""CRM picklists read as words a sales leader uses: industries and account types.

HubSpot exports its industry property as internal enum codes (``COMPUTER_SOFTWARE``), Salesforce
as its Industry picklist labels (``Banking``), and both have an account "type" or lifecycle stage.
This module turns them into readable values, says which it did not know, and maps each industry
to one of the sectors of the workload rule (:mod:`territory.data.workload`), so "Computer Software"
gets the meeting hours of Technology instead of the default. Rules: docs/importing.md.
"""

from __future__ import annotations

import re

# --- industries -------------------------------------------------------------------------------

# The HubSpot company property ``industry``: its 147 internal values. The readable label is made
# from the code (``_label``) except where HubSpot writes "&", "/", "-" or a comma (below).
# fmt: off
HUBSPOT_INDUSTRY_CODES: tuple[str, ...] = (
    "ACCOUNTING", "AIRLINES_AVIATION", "ALTERNATIVE_DISPUTE_RESOLUTION", "ALTERNATIVE_MEDICINE", "ANIMATION",
    "APPAREL_FASHION", "ARCHITECTURE_PLANNING", "ARTS_AND_CRAFTS", "AUTOMOTIVE", "AVIATION_AEROSPACE", "BANKING",
    "BIOTECHNOLOGY", "BROADCAST_MEDIA", "BUILDING_MATERIALS", "BUSINESS_SUPPLIES_AND_EQUIPMENT", "CAPITAL_MARKETS",
    "CHEMICALS", "CIVIC_SOCIAL_ORGANIZATION", "CIVIL_ENGINEERING", "COMMERCIAL_REAL_ESTATE",
    "COMPUTER_NETWORK_SECURITY", "COMPUTER_GAMES", "COMPUTER_HARDWARE", "COMPUTER_NETWORKING", "COMPUTER_SOFTWARE",
    "INTERNET", "CONSTRUCTION", "CONSUMER_ELECTRONICS", "CONSUMER_GOODS", "CONSUMER_SERVICES", "COSMETICS", "DAIRY",
    "DEFENSE_SPACE", "DESIGN", "EDUCATION_MANAGEMENT", "E_LEARNING", "ELECTRICAL_ELECTRONIC_MANUFACTURING",
    "ENTERTAINMENT", "ENVIRONMENTAL_SERVICES", "EVENTS_SERVICES", "EXECUTIVE_OFFICE", "FACILITIES_SERVICES",
    "FARMING", "FINANCIAL_SERVICES", "FINE_ART", "FISHERY", "FOOD_BEVERAGES", "FOOD_PRODUCTION", "FUND_RAISING",
    "FURNITURE", "GAMBLING_CASINOS", "GLASS_CERAMICS_CONCRETE", "GOVERNMENT_ADMINISTRATION", "GOVERNMENT_RELATIONS",
    "GRAPHIC_DESIGN", "HEALTH_WELLNESS_AND_FITNESS", "HIGHER_EDUCATION", "HOSPITAL_HEALTH_CARE", "HOSPITALITY",
    "HUMAN_RESOURCES", "IMPORT_AND_EXPORT", "INDIVIDUAL_FAMILY_SERVICES", "INDUSTRIAL_AUTOMATION",
    "INFORMATION_SERVICES", "INFORMATION_TECHNOLOGY_AND_SERVICES", "INSURANCE", "INTERNATIONAL_AFFAIRS",
    "INTERNATIONAL_TRADE_AND_DEVELOPMENT", "INVESTMENT_BANKING", "INVESTMENT_MANAGEMENT", "JUDICIARY",
    "LAW_ENFORCEMENT", "LAW_PRACTICE", "LEGAL_SERVICES", "LEGISLATIVE_OFFICE", "LEISURE_TRAVEL_TOURISM",
    "LIBRARIES", "LOGISTICS_AND_SUPPLY_CHAIN", "LUXURY_GOODS_JEWELRY", "MACHINERY", "MANAGEMENT_CONSULTING",
    "MARITIME", "MARKET_RESEARCH", "MARKETING_AND_ADVERTISING", "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    "MEDIA_PRODUCTION", "MEDICAL_DEVICES", "MEDICAL_PRACTICE", "MENTAL_HEALTH_CARE", "MILITARY", "MINING_METALS",
    "MOTION_PICTURES_AND_FILM", "MUSEUMS_AND_INSTITUTIONS", "MUSIC", "NANOTECHNOLOGY", "NEWSPAPERS",
    "NONPROFIT_ORGANIZATION_MANAGEMENT", "OIL_ENERGY", "ONLINE_MEDIA", "OUTSOURCING_OFFSHORING",
    "PACKAGE_FREIGHT_DELIVERY", "PACKAGING_AND_CONTAINERS", "PAPER_FOREST_PRODUCTS", "PERFORMING_ARTS",
    "PHARMACEUTICALS", "PHILANTHROPY", "PHOTOGRAPHY", "PLASTICS", "POLITICAL_ORGANIZATION",
    "PRIMARY_SECONDARY_EDUCATION", "PRINTING", "PROFESSIONAL_TRAINING_COACHING", "PROGRAM_DEVELOPMENT",
    "PUBLIC_POLICY", "PUBLIC_RELATIONS_AND_COMMUNICATIONS", "PUBLIC_SAFETY", "PUBLISHING", "RAILROAD_MANUFACTURE",
    "RANCHING", "REAL_ESTATE", "RECREATIONAL_FACILITIES_AND_SERVICES", "RELIGIOUS_INSTITUTIONS",
    "RENEWABLES_ENVIRONMENT", "RESEARCH", "RESTAURANTS", "RETAIL", "SECURITY_AND_INVESTIGATIONS", "SEMICONDUCTORS",
    "SHIPBUILDING", "SPORTING_GOODS", "SPORTS", "STAFFING_AND_RECRUITING", "SUPERMARKETS", "TELECOMMUNICATIONS",
    "TEXTILES", "THINK_TANKS", "TOBACCO", "TRANSLATION_AND_LOCALIZATION", "TRANSPORTATION_TRUCKING_RAILROAD",
    "UTILITIES", "VENTURE_CAPITAL_PRIVATE_EQUITY", "VETERINARY", "WAREHOUSING", "WHOLESALE", "WINE_AND_SPIRITS",
    "WIRELESS", "WRITING_AND_EDITING",
)
_HUBSPOT_LABELS: dict[str, str] = {
    "AIRLINES_AVIATION": "Airlines/Aviation", "APPAREL_FASHION": "Apparel & Fashion",
    "ARCHITECTURE_PLANNING": "Architecture & Planning", "AVIATION_AEROSPACE": "Aviation & Aerospace",
    "CIVIC_SOCIAL_ORGANIZATION": "Civic & Social Organization",
    "COMPUTER_NETWORK_SECURITY": "Computer & Network Security", "DEFENSE_SPACE": "Defense & Space",
    "E_LEARNING": "E-Learning", "ELECTRICAL_ELECTRONIC_MANUFACTURING": "Electrical/Electronic Manufacturing",
    "FOOD_BEVERAGES": "Food & Beverages", "FUND_RAISING": "Fund-Raising", "GAMBLING_CASINOS": "Gambling & Casinos",
    "GLASS_CERAMICS_CONCRETE": "Glass, Ceramics & Concrete",
    "HEALTH_WELLNESS_AND_FITNESS": "Health, Wellness and Fitness",
    "HOSPITAL_HEALTH_CARE": "Hospital & Health Care", "INDIVIDUAL_FAMILY_SERVICES": "Individual & Family Services",
    "LEISURE_TRAVEL_TOURISM": "Leisure, Travel & Tourism", "LUXURY_GOODS_JEWELRY": "Luxury Goods & Jewelry",
    "MINING_METALS": "Mining & Metals", "NONPROFIT_ORGANIZATION_MANAGEMENT": "Non-Profit Organization Management",
    "OIL_ENERGY": "Oil & Energy", "OUTSOURCING_OFFSHORING": "Outsourcing/Offshoring",
    "PACKAGE_FREIGHT_DELIVERY": "Package/Freight Delivery", "PAPER_FOREST_PRODUCTS": "Paper & Forest Products",
    "PRIMARY_SECONDARY_EDUCATION": "Primary/Secondary Education",
    "PROFESSIONAL_TRAINING_COACHING": "Professional Training & Coaching",
    "RENEWABLES_ENVIRONMENT": "Renewables & Environment",
    "TRANSPORTATION_TRUCKING_RAILROAD": "Transportation/Trucking/Railroad",
    "VENTURE_CAPITAL_PRIVATE_EQUITY": "Venture Capital & Private Equity",
}

# The standard Salesforce Account "Industry" picklist (already readable).
SALESFORCE_INDUSTRIES: tuple[str, ...] = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction",
    "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental", "Finance",
    "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance", "Machinery", "Manufacturing",
    "Media", "Not For Profit", "Other", "Recreation", "Retail", "Shipping", "Technology", "Telecommunications",
    "Transportation", "Utilities",
)

# The sector of the workload rule (territory.data.workload.INDUSTRIES) each industry counts as; an
# industry not listed here gets the rule's default hours and wallet multiplier.
_SECTOR_CODES: dict[str, tuple[str, ...]] = {
    "Healthcare": (
        "ALTERNATIVE_MEDICINE", "BIOTECHNOLOGY", "HEALTH_WELLNESS_AND_FITNESS", "HOSPITAL_HEALTH_CARE",
        "MEDICAL_DEVICES", "MEDICAL_PRACTICE", "MENTAL_HEALTH_CARE", "PHARMACEUTICALS", "VETERINARY",
    ),
    "Manufacturing": (
        "APPAREL_FASHION", "AUTOMOTIVE", "AVIATION_AEROSPACE", "BUILDING_MATERIALS", "CHEMICALS",
        "CONSUMER_ELECTRONICS", "CONSUMER_GOODS", "COSMETICS", "DAIRY", "DEFENSE_SPACE",
        "ELECTRICAL_ELECTRONIC_MANUFACTURING", "FOOD_PRODUCTION", "FURNITURE", "GLASS_CERAMICS_CONCRETE",
        "INDUSTRIAL_AUTOMATION", "MACHINERY", "MECHANICAL_OR_INDUSTRIAL_ENGINEERING", "PACKAGING_AND_CONTAINERS",
        "PAPER_FOREST_PRODUCTS", "PLASTICS", "PRINTING", "RAILROAD_MANUFACTURE", "SHIPBUILDING", "SPORTING_GOODS",
        "TEXTILES", "TOBACCO", "WINE_AND_SPIRITS", "CIVIL_ENGINEERING", "CONSTRUCTION", "ARTS_AND_CRAFTS",
    ),
    "Financial Services": (
        "ACCOUNTING", "BANKING", "CAPITAL_MARKETS", "FINANCIAL_SERVICES", "INSURANCE", "INVESTMENT_BANKING",
        "INVESTMENT_MANAGEMENT", "VENTURE_CAPITAL_PRIVATE_EQUITY", "COMMERCIAL_REAL_ESTATE", "REAL_ESTATE",
    ),
    "Technology": (
        "COMPUTER_NETWORK_SECURITY", "COMPUTER_GAMES", "COMPUTER_HARDWARE", "COMPUTER_NETWORKING",
        "COMPUTER_SOFTWARE", "INTERNET", "INFORMATION_SERVICES", "INFORMATION_TECHNOLOGY_AND_SERVICES",
        "NANOTECHNOLOGY", "SEMICONDUCTORS", "TELECOMMUNICATIONS", "WIRELESS", "ONLINE_MEDIA",
    ),
    "Retail": (
        "FOOD_BEVERAGES", "LUXURY_GOODS_JEWELRY", "RESTAURANTS", "RETAIL", "SUPERMARKETS", "WHOLESALE",
        "HOSPITALITY", "CONSUMER_SERVICES",
    ),
    "Education": (
        "E_LEARNING", "EDUCATION_MANAGEMENT", "HIGHER_EDUCATION", "PRIMARY_SECONDARY_EDUCATION",
        "PROFESSIONAL_TRAINING_COACHING", "LIBRARIES", "RESEARCH",
    ),
    "Government": (
        "EXECUTIVE_OFFICE", "GOVERNMENT_ADMINISTRATION", "GOVERNMENT_RELATIONS", "INTERNATIONAL_AFFAIRS",
        "JUDICIARY", "LAW_ENFORCEMENT", "LEGISLATIVE_OFFICE", "MILITARY", "PUBLIC_POLICY", "PUBLIC_SAFETY",
    ),
    "Energy": ("MINING_METALS", "OIL_ENERGY", "RENEWABLES_ENVIRONMENT", "UTILITIES", "ENVIRONMENTAL_SERVICES"),
}
_SALESFORCE_SECTORS: dict[str, str] = {
    "Apparel": "Manufacturing", "Banking": "Financial Services", "Biotechnology": "Healthcare",
    "Chemicals": "Manufacturing", "Communications": "Technology", "Construction": "Manufacturing",
    "Education": "Education", "Electronics": "Manufacturing", "Energy": "Energy", "Engineering": "Manufacturing",
    "Environmental": "Energy", "Finance": "Financial Services", "Food & Beverage": "Retail",
    "Government": "Government", "Healthcare": "Healthcare", "Hospitality": "Retail",
    "Insurance": "Financial Services", "Machinery": "Manufacturing", "Manufacturing": "Manufacturing",
    "Retail": "Retail", "Technology": "Technology", "Telecommunications": "Technology", "Utilities": "Energy",
}
# fmt: on


def _label(code: str) -> str:
    """Readable HubSpot label: 'COMPUTER_SOFTWARE' -> 'Computer Software' (exceptions listed)."""
    if code in _HUBSPOT_LABELS:
        return _HUBSPOT_LABELS[code]
    words = code.lower().split("_")
    return " ".join(w if w in ("and", "or") else w.capitalize() for w in words)


HUBSPOT_INDUSTRIES: dict[str, str] = {code: _label(code) for code in HUBSPOT_INDUSTRY_CODES}
"""HubSpot industry code -> the label HubSpot shows (e.g. COMPUTER_SOFTWARE -> Computer Software)."""

INDUSTRY_SECTOR: dict[str, str] = {
    **{HUBSPOT_INDUSTRIES[code]: sector for sector, codes in _SECTOR_CODES.items() for code in codes},
    **_SALESFORCE_SECTORS,
}
"""Readable industry -> the workload rule's sector (territory.data.workload.INDUSTRIES)."""


def _key(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", value.lower())


def readable_industries(sectors: tuple[str, ...]) -> dict[str, str]:
    """Every industry spelling we know, keyed case- and punctuation-insensitively -> its readable name.

    ``sectors`` are the workload rule's own industry names (they win over a picklist of the same
    key). Codes and labels of HubSpot, and Salesforce's picklist values, are all keys; a retired
    spelling of a HubSpot code (``NON_PROFIT_ORGANIZATION_MANAGEMENT``) reads the same.
    """
    known: dict[str, str] = {}
    for code, label in HUBSPOT_INDUSTRIES.items():
        known[_key(code)] = label
        known[_key(label)] = label
    for value in SALESFORCE_INDUSTRIES:
        known[_key(value)] = value
    for sector in sectors:
        known[_key(sector)] = sector
    return known


def industry_sector(industry: str) -> str:
    """The workload rule's sector of a readable industry, itself when it is a sector or unknown.

    >>> industry_sector("Computer Software"), industry_sector("Retail"), industry_sector("Widgets")
    ('Technology', 'Retail', 'Widgets')
    """
    return INDUSTRY_SECTOR.get(industry, industry)


# --- account types ----------------------------------------------------------------------------

CUSTOMER = "Customer"
PROSPECT = "Prospect"
PARTNER = "Partner"
VENDOR = "Vendor"
FORMER_CUSTOMER = "Former customer"
OTHER_TYPE = "Other"
ACCOUNT_TYPES: tuple[str, ...] = (CUSTOMER, PROSPECT, PARTNER, VENDOR, FORMER_CUSTOMER, OTHER_TYPE)
"""The small set every Salesforce Type, HubSpot type and HubSpot lifecycle stage is read into."""

# fmt: off
_TYPE_SPELLINGS: dict[str, tuple[str, ...]] = {
    CUSTOMER: (
        "Customer", "Customers", "Client", "Customer - Direct", "Customer - Channel", "Existing Customer",
        "Active Customer", "Evangelist",
    ),
    PROSPECT: (
        "Prospect", "Prospects", "Lead", "Subscriber", "Marketing Qualified Lead", "MarketingQualifiedLead", "MQL",
        "Sales Qualified Lead", "SalesQualifiedLead", "SQL", "Opportunity", "Pipeline", "Target",
    ),
    PARTNER: (
        "Partner", "Partners", "Channel Partner / Reseller", "Channel Partner", "Reseller", "Installation Partner",
        "Technology Partner", "Integrator", "Distributor", "Referral Partner", "Agency Partner",
    ),
    VENDOR: ("Vendor", "Supplier"),
    FORMER_CUSTOMER: ("Former customer", "Former", "Churned", "Churned Customer", "Lost Customer", "Inactive Customer"),
    OTHER_TYPE: ("Other", "Competitor", "Investor", "Press", "Analyst"),
}
# fmt: on
_TYPE_BY_KEY: dict[str, str] = {_key(spelling): kind for kind, names in _TYPE_SPELLINGS.items() for spelling in names}


def account_type(value: str) -> tuple[str, bool]:
    """``(type, unknown)``: the value read into ``ACCOUNT_TYPES``, else kept as written and ``unknown``.

    Blank gives ``("", False)``: the account has no type (it counts for balancing, see
    :mod:`territory.planning.account_types`).

    >>> account_type("Customer - Direct"), account_type("salesqualifiedlead"), account_type("Reseller")
    (('Customer', False), ('Prospect', False), ('Partner', False))
    >>> account_type("Friend of the CEO")
    ('Friend of the CEO', True)
    """
    text = value.strip()
    if not text:
        return "", False
    kind = _TYPE_BY_KEY.get(_key(text))
    return (kind, False) if kind else (text, True)
