"""Identifiers as the ad platforms match them: normalized, then SHA-256 (lower-case hex).

Both platforms hash the same way and differ only in the phone's shape
(docs/activation.md#ad-platform-files cites their pages):

- email: trimmed and lower-cased (Google Customer Match, Meta Custom Audiences);
- phone: E.164 (`+` country code and number, nothing else) for Google; the
  same digits without the `+` for Meta ("remove symbols, letters and leading
  zeros; include the country code").

An identifier that is already a SHA-256 hex digest (the warehouse publishes
`people.email` hashed exactly this way unless var `publish_direct_identifiers`
is true) is passed through lower-cased, never hashed twice.
"""

from __future__ import annotations

import hashlib
import re

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_sha256(value: str | None) -> bool:
    return bool(value) and bool(_SHA256.fullmatch(value.strip()))


def normalize_email(value: str | None) -> str | None:
    """Trimmed and lower-cased; None when it is not an address (nothing, or no `@` and dot)."""
    if value is None:
        return None
    email = value.strip().lower()
    return email if _EMAIL.fullmatch(email) else None


def hashed_email(value: str | None) -> str | None:
    """SHA-256 of the normalized address, or the value itself when it is a digest already; None when unusable."""
    if value is None:
        return None
    if is_sha256(value):
        return value.strip().lower()
    email = normalize_email(value)
    return sha256_hex(email) if email else None


def normalize_phone(value: str | None, default_country_code: str | None = None) -> str | None:
    """E.164 (`+<country code><number>`, 8 to 15 digits) or None.

    Punctuation, spaces and letters go; `00` before the country code becomes
    `+`. A number without a country code (no `+` or `00`) gets
    `default_country_code` after its national leading zeros are dropped, and
    is None without one: a platform cannot match a number without its country.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    international = text.startswith("+") or text.startswith("00")
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits = digits[2:]
    if not international:
        if not default_country_code:
            return None
        digits = re.sub(r"\D", "", default_country_code) + digits.lstrip("0")
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    return "+" + digits


def hashed_phone(value: str | None, *, plus: bool = True, default_country_code: str | None = None) -> str | None:
    """SHA-256 of the E.164 number (`plus=False`: its digits without `+`, as Meta documents); None when unusable."""
    if value is None:
        return None
    if is_sha256(value):
        return value.strip().lower()
    phone = normalize_phone(value, default_country_code)
    if phone is None:
        return None
    return sha256_hex(phone if plus else phone[1:])
