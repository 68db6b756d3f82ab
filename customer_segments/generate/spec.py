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

#: How people write each title of TITLES, with the persona (seniority, department) the pipeline must
#: read from each spelling (None: unknown, which the pipeline must leave null rather than guess).
#: Hand-written here, not derived from seed job_title_keywords: the tests check the seed against it.
TITLE_VARIANTS: dict[str, list[tuple[str, str | None, str | None]]] = {
    "CTO": [("CTO", "c_level", "engineering"), ("Chief Technology Officer", "c_level", "engineering"),
            ("C.T.O.", "c_level", "engineering"), ("cto", "c_level", "engineering")],
    "VP Engineering": [("VP Engineering", "vp", "engineering"), ("vp, engineering", "vp", "engineering"),
                       ("V.P. of Engineering", "vp", "engineering"), ("Vice President, Engineering", "vp", "engineering"),
                       ("SVP Eng.", "vp", "engineering"), ("Sr. Dir. of Engineering", "director", "engineering")],
    "Data Engineer": [("Data Engineer", "individual_contributor", "data"), ("data engineer", "individual_contributor", "data"),
                      ("Sr. Data Engineer", "senior", "data"), ("Senior Data Engineer", "senior", "data")],
    "Analytics Manager": [("Analytics Manager", "manager", "data"), ("Mgr., Analytics", "manager", "data"),
                          ("analytics mgr", "manager", "data"), ("Dir. of Analytics", "director", "data")],
    "Head of Marketing": [("Head of Marketing", "director", "marketing"), ("head of mktg", "director", "marketing"),
                          ("VP Marketing", "vp", "marketing"), ("vp, marketing", "vp", "marketing"),
                          ("Chief Marketing Officer", "c_level", "marketing")],
    "Marketing Ops": [("Marketing Ops", None, "marketing"), ("Marketing Operations", None, "marketing"),
                      ("Marketing Ops Manager", "manager", "marketing")],
    "CFO": [("CFO", "c_level", "finance"), ("Chief Financial Officer", "c_level", "finance"), ("c.f.o.", "c_level", "finance"),
            ("Finance Director", "director", "finance")],
    "Product Manager": [("Product Manager", "manager", "product"), ("product mgr", "manager", "product"),
                        ("Head of Product", "director", "product")],
    "Software Engineer": [("Software Engineer", "individual_contributor", "engineering"),
                          ("software eng.", "individual_contributor", "engineering"),
                          ("Software Developer", "individual_contributor", "engineering"),
                          ("Staff Software Engineer", "senior", "engineering")],
    "Sales Director": [("Sales Director", "director", "sales"), ("Dir. Sales", "director", "sales"),
                       ("Director of Sales", "director", "sales"), ("Account Executive", "individual_contributor", "sales"),
                       ("VP Sales", "vp", "sales")],
}
#: titles that say nothing about a persona: the pipeline must leave seniority and department null
JUNK_TITLES = ["Ninja", "N/A", "-", "Guru", "Misc.", "VP Sales and Marketing"]
JUNK_TITLE_PERSONAS = {"VP Sales and Marketing": ("vp", None)}  # a seniority but no single department
JUNK_TITLE_SHARE = 0.05  # of people
TITLE_VARIANT_SHARE = 0.6  # of people: a spelling from TITLE_VARIANTS instead of the plain title

#: Technographics: (technology, category). The seed icp_rules scores some of them (`technology`,
#: `technology_category` rules); the truth files say which account uses which.
TECHNOLOGIES = [("Segment", "Customer Data Platform"), ("RudderStack", "Customer Data Platform"),
                ("Snowflake", "Data Warehouse"), ("BigQuery", "Data Warehouse"), ("Databricks", "Data Lakehouse"),
                ("Salesforce", "CRM"), ("HubSpot", "Marketing Automation"), ("Mailchimp", "Email"),
                ("WordPress", "CMS"), ("Oracle", "Database")]
#: the first SCORED_TECHNOLOGIES are what seed icp_rules scores (by name, or as a CDP or a warehouse); only ICP
#: accounts use them, so technographic points never lift an account outside the planted ICP
SCORED_TECHNOLOGIES = 5
TECHNOGRAPHIC_SHARE = {True: 0.8, False: 0.5}  # of ICP / other accounts: any technographics at all
TECHNOGRAPHICS_STALE_SHARE = 0.1  # of observations: seen 400-600 days ago (older than technographics_max_age_days)
#: Third-party intent: topics a vendor scores 0-100; surging accounts research SURGING_TOPIC hard, right now
INTENT_TOPICS = ["customer data platform", "identity resolution", "marketing automation", "data warehouse", "crm software"]
SURGING_TOPIC = "customer data platform"
SURGING_SHARE = 0.2  # of accounts: a fresh (0-2 days old) score of 85-100 on SURGING_TOPIC
INTENT_SHARE = 0.7  # of accounts: any intent signals at all
