"""Multilingual public text: a default language plus translations per BCP 47 tag.

Entities keep their default-language text in ordinary columns and the other languages in a
`translations` JSON column shaped `{tag: {field: text}}`. Reads pick the best language for the
caller's `Accept-Language`, field by field, falling back to the default.
"""

from collections.abc import Mapping, Sequence

from makesense_api.kit.errors import FieldError
from makesense_api.kit.validation import normalize_language

Translations = dict[str, dict[str, str]]

MAX_ACCEPT_LANGUAGES = 10


def parse_accept_language(header: str | None) -> list[str]:
    """Language ranges from an Accept-Language header, best first (RFC 9110 §12.5.4)."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[: MAX_ACCEPT_LANGUAGES * 2]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag))
    ranked.sort()
    return [tag for _, _, tag in ranked[:MAX_ACCEPT_LANGUAGES]]


def best_language(available: Sequence[str], default: str, accepted: Sequence[str]) -> str:
    """The available tag that best matches the caller's ranked preferences."""
    lowered = {tag.lower(): tag for tag in available}
    for wanted in accepted:
        key = wanted.lower()
        if key in lowered:
            return lowered[key]
        primary = key.split("-")[0]
        for tag_lower, tag in lowered.items():
            if tag_lower.split("-")[0] == primary:
                return tag
    return default


def localize(
    defaults: Mapping[str, str | None],
    default_language: str,
    translations: Translations | None,
    accepted: Sequence[str],
) -> tuple[str, dict[str, str | None]]:
    """Choose a language and return `(language, fields)`; missing fields fall back to defaults."""
    translations = translations or {}
    language = best_language([default_language, *translations], default_language, accepted)
    chosen = translations.get(language, {}) if language != default_language else {}
    return language, {name: chosen.get(name) or value for name, value in defaults.items()}


def validate_translations(
    field: str, translations: Mapping[str, Mapping[str, str]], allowed: set[str]
) -> tuple[Translations, list[FieldError]]:
    """Normalise tags and reject unknown fields; returns the clean mapping and its errors."""
    clean: Translations = {}
    errors: list[FieldError] = []
    for tag, values in translations.items():
        normal = normalize_language(tag)
        if normal is None:
            errors.append(FieldError(f"{field}.{tag}", "not a valid BCP 47 language tag"))
            continue
        unknown = set(values) - allowed
        if unknown:
            errors.append(FieldError(f"{field}.{tag}", f"unknown fields {sorted(unknown)}"))
            continue
        clean[normal] = {k: v for k, v in values.items() if v}
    return clean, errors
