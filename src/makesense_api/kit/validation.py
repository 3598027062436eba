"""Validators for codes that come from standards: ISO 3166 countries, IANA zones, BCP 47 tags."""

import re
import zoneinfo
from functools import lru_cache

import langcodes
import pycountry

from makesense_api.kit.errors import FieldError

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def country_error(field: str, code: str) -> FieldError | None:
    if len(code) != 2 or not code.isupper() or pycountry.countries.get(alpha_2=code) is None:
        return FieldError(field, f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return None


def timezone_error(field: str, zone: str) -> FieldError | None:
    if zone not in _zones():
        return FieldError(field, f"{zone!r} is not an IANA time zone")
    return None


def normalize_language(tag: str) -> str | None:
    """The canonical BCP 47 form of a valid tag (`pt-br` → `pt-BR`), or None if invalid."""
    if not tag or len(tag) > 35:
        return None
    try:
        if not langcodes.tag_is_valid(tag):
            return None
        return str(langcodes.standardize_tag(tag))
    except (ValueError, langcodes.tag_parser.LanguageTagError):
        return None


def language_error(field: str, tag: str) -> FieldError | None:
    if normalize_language(tag) is None:
        return FieldError(field, f"{tag!r} is not a valid BCP 47 language tag")
    return None


def slug_error(field: str, slug: str) -> FieldError | None:
    if not (2 <= len(slug) <= 80) or not SLUG_RE.match(slug):
        return FieldError(field, "use 2–80 lowercase letters, digits and single hyphens")
    return None


def coordinates_error(field: str, lat: float | None, lon: float | None) -> FieldError | None:
    if (lat is None) != (lon is None):
        return FieldError(field, "give both latitude and longitude, or neither")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return FieldError(field, "latitude must be within ±90 and longitude within ±180")
    return None
