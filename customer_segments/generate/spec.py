"""What the demo world looks like: personas, the event catalog, fault rates.

Everything tunable about the generated data sits here, so a reader can see
the hidden truth the tests check the pipeline against without reading the
generation code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: (message type, raw name as instrumented, canonical Object_Action name)
CATALOG: list[tuple[str, str, str]] = [
    ("page", "Home", "Home_Viewed"),
    ("page", "Pricing", "Pricing_Viewed"),
    ("page", "Blog", "Blog_Viewed"),
    ("page", "Docs", "Docs_Viewed"),
    ("page", "Product", "Product_Viewed"),
    ("page", "Careers", "Careers_Viewed"),
    ("track", "Product Viewed", "Product_Viewed"),
    ("track", "Product Added", "Product_Added"),
    ("track", "Cart Viewed", "Cart_Viewed"),
    ("track", "Checkout Started", "Checkout_Started"),
    ("track", "Signed Up", "Signed_Up"),
    ("track", "Logged In", "Logged_In"),
    ("track", "Demo Requested", "Demo_Requested"),
    ("track", "Trial Started", "Trial_Started"),
    ("track", "Feature Used", "Feature_Used"),
    ("track", "Search Performed", "Search_Performed"),
    ("track", "Pricing Viewed", "Pricing_Viewed"),
    ("track", "Page Viewed", "Page_Viewed"),
    ("screen", "Dashboard", "Screen_Viewed"),
    ("screen", "Settings", "Screen_Viewed"),
    ("screen", "Reports", "Screen_Viewed"),
    ("track", "Order Completed", "Order_Completed"),
]
KIND = {name: index for index, (_type, name, _canonical) in enumerate(CATALOG)}
#: identity calls get kind codes after the catalog (they carry per-call text, not a catalog name)
IDENTIFY, ALIAS, GROUP = len(CATALOG), len(CATALOG) + 1, len(CATALOG) + 2
PAGE = {name: KIND[name] for _type, name, _c in CATALOG if _type == "page"}


@dataclass(frozen=True)
class Persona:
    """A hidden behaviour: when a person is active, how much, and on what."""

    name: str
    share: float
    rate: float  # relative number of events
    active_from_days_ago: float
    active_to_days_ago: float
    identifies: bool
    orders: tuple[int, int]  # completed-order count range (inclusive)
    open_rate: float  # marketing email open probability
    mix: dict[str, float] = field(default_factory=dict)


PERSONAS: list[Persona] = [
    Persona("power_user", 0.08, 4.0, 180, 0, True, (3, 9), 0.5,
            {"Logged In": 3, "Feature Used": 6, "Dashboard": 2, "Reports": 1, "Docs": 2,
             "Search Performed": 1, "Home": 1, "Product": 1, "Product Viewed": 1, "Product Added": 0.5}),
    Persona("regular", 0.20, 1.2, 180, 0, True, (1, 3), 0.3,
            {"Home": 2, "Blog": 1, "Docs": 1, "Product": 2, "Product Viewed": 1, "Logged In": 1,
             "Feature Used": 1, "Search Performed": 0.5, "Pricing": 0.2, "Page Viewed": 0.5}),
    Persona("high_intent", 0.08, 2.0, 40, 0, True, (0, 1), 0.5,
            {"Pricing": 5, "Pricing Viewed": 1, "Docs": 2, "Home": 1, "Product": 1}),
    Persona("pricing_no_demo", 0.08, 1.2, 30, 0, True, (0, 0), 0.3,
            {"Pricing": 3, "Home": 1, "Blog": 1, "Docs": 1}),
    Persona("cart_abandoner", 0.08, 1.2, 60, 0, True, (0, 0), 0.3,
            {"Product": 2, "Product Viewed": 2, "Product Added": 2, "Cart Viewed": 1, "Checkout Started": 1, "Home": 1}),
    Persona("dormant", 0.14, 1.0, 180, 60, True, (0, 2), 0.05,
            {"Home": 1, "Blog": 1, "Docs": 1, "Logged In": 1, "Feature Used": 1}),
    Persona("churned", 0.12, 1.0, 180, 130, True, (1, 4), 0.02,
            {"Home": 1, "Product": 1, "Product Viewed": 1, "Logged In": 1, "Feature Used": 1}),
    Persona("new", 0.10, 1.5, 13, 0, True, (0, 1), 0.4,
            {"Home": 2, "Pricing": 1, "Docs": 1, "Logged In": 1, "Feature Used": 1}),
    Persona("anonymous_only", 0.12, 0.5, 180, 0, False, (0, 0), 0.0,
            {"Home": 2, "Blog": 3, "Careers": 1, "Docs": 1, "Pricing": 0.2}),
]
PERSONA_INDEX = {persona.name: index for index, persona in enumerate(PERSONAS)}

WINDOW_DAYS = 180
MIN_PEOPLE = 160  # enough for every persona and every trap (the kiosk alone needs 50 identified people)

#: Faults applied to base events (share of eligible events); each on a disjoint set.
QUARANTINE_FAULTS = {  # -> the staging layer must quarantine these, with this reason
    "missing_identifier": 0.005,
    "timestamp_in_future": 0.002,
    "timestamp_too_old": 0.002,
    "invalid_type": 0.001,
}
QUIRKS = {  # -> valid rows with a quirk the staging layer must handle, not drop
    "mixed_timezone": 0.10,
    "late_arriving": 0.01,
    "hostile_string": 0.002,
}
SPELLING_VARIANT_SHARE = 0.05  # of track events
DUPLICATE_MESSAGE_ID_SHARE = 0.02  # extra rows: the same message delivered again
DOUBLE_FIRE_SHARE = 0.01  # extra rows: the same call fired twice within a second
MALFORMED_SHARE = 0.003  # extra rows: lines that are not JSON objects
CSV_FAULT_SHARE = 0.005  # of rows, per fault kind, at least one each

#: values written into the `type` field of invalid_type events
INVALID_TYPES = ["tracking", "", "event", "pageview"]

HOSTILE_STRINGS = [
    "'); drop table people;--",
    "<script>alert(1)</script>",
    "Robert'); DELETE FROM segment_members; --",
    "emoji 🎉🚀 and ünïcödé",
    "עברית RTL טקסט",
    'line one\nline two\ttabbed "quoted" \\ backslash',
    "nul \u0000 byte",
    "x" * 5000,
]

TIMEZONE_OFFSETS = ["+05:30", "-08:00", "+02:00", "-03:00", "+09:00", "+01:00", "-05:00"]

#: ICP-fit people: share of anonymous_only people who browse from an account's office network
ANONYMOUS_AT_WORK_SHARE = 0.3
B2B_SHARE = 0.5  # of identifying people
OFFICE_IP_SHARE = 0.7  # of a B2B person's events sent from the office network
CAMPAIGN_SHARE = 0.1  # of events with utm campaign context
PART_SIZE = 500_000  # lines per events file
KIOSK_PEOPLE, GENERIC_EMAIL_PEOPLE, ALIAS_CHAIN_PEOPLE, EMAIL_CASE_PEOPLE = 50, 20, 3, 5
ALIAS_CHAIN_DEPTH = 5
LEGACY_ALIAS_SHARE = 0.1  # of identified people: one alias from an old user id

FREE_MAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me"]
INDUSTRIES = ["Software", "Fintech", "Retail", "Healthcare", "Manufacturing", "Education", "Media"]
ICP_INDUSTRIES = {"Software", "Fintech"}
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "CA", "AU"]
TITLES = ["CTO", "VP Engineering", "Data Engineer", "Analytics Manager", "Head of Marketing",
          "Marketing Ops", "CFO", "Product Manager", "Software Engineer", "Sales Director"]
FIRST_NAMES = ["ann", "bob", "carla", "dev", "eva", "farid", "gina", "hiro", "ines", "jon", "kim", "lea",
               "mo", "nia", "omar", "pia", "quinn", "rui", "sara", "tom"]
LAST_NAMES = ["lee", "smith", "garcia", "kim", "novak", "mueller", "rossi", "tanaka", "dubois", "silva",
              "okafor", "berg", "khan", "walsh", "ivanova"]
