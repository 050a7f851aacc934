"""The issuing authority's letterhead on order documents (``CP247_LETTERHEAD``)."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from cp247.config import ConfigurationError
from cp247.validation import COUNTRY_CODE, EMAIL_ADDRESS

LETTERHEAD_ENV = "CP247_LETTERHEAD"


_COUNTRY = re.compile(COUNTRY_CODE)
_EMAIL = re.compile(EMAIL_ADDRESS)
_MAX_FIELD = 200  # longer than any real letterhead line; longer ones would wreck the layout
_MAX_ADDRESS_LINES = 6


@dataclass(frozen=True)
class Letterhead:
    """Who issues the documents: printed at the top, in the contact block and signature line."""

    authority_name: str
    unit: str
    address_lines: tuple[str, ...]
    phone: str
    email: str
    country: str
    city: str
    signatory_name: str
    signatory_title: str
    footer: str = ""
    fax: str = ""
    # The authority's own zone: local times are printed in it unless the caller says otherwise
    # (the T-CY template asks for the requesting authority's time zone).
    time_zone: str = "UTC"

    @classmethod
    def default(cls) -> Letterhead:
        """A generic letterhead whose footer says it is not configured, so nobody mistakes a
        document from an unconfigured installation for a finished one."""
        return cls(
            authority_name="National 24/7 Point of Contact for Cybercrime",
            unit="Cybercrime Unit",
            address_lines=("1 Example Street", "00000 Capital City"),
            phone="+00 000 000 000",
            email="cp247@authority.example",
            country="XX",
            city="Capital City",
            signatory_name="Duty officer",
            signatory_title="24/7 point of contact",
            footer=f"Default letterhead - set {LETTERHEAD_ENV} to name the issuing authority.",
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None) -> Letterhead:
        """Read and validate a letterhead YAML file; ``None`` gives ``Letterhead.default()``.

        Raises ``ConfigurationError`` naming the file, the field and what is wrong.
        """
        if path is None or str(path) == "":
            return cls.default()
        where = f"letterhead {path} ({LETTERHEAD_ENV})"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigurationError(f"{where}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{where}: cannot read the file: {exc}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"{where}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"{where}: must be a mapping of fields (authority_name: ..., unit: ...), "
                f"got {type(data).__name__}"
            )
        return cls.from_mapping(data, where=where)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "letterhead") -> Letterhead:
        """Validate a mapping of letterhead fields (the parsed YAML)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            # A typo ("phon:") would otherwise silently fall back to a default value.
            raise ConfigurationError(
                f"{where}: unknown field {unknown[0]!r}; known fields: {', '.join(sorted(known))}"
            )
        optional = {"footer", "fax", "time_zone"}
        for name in sorted(known - optional):
            if name not in data or data[name] is None:
                raise ConfigurationError(f"{where}: field {name!r} is required")

        values: dict[str, Any] = {}
        for name in sorted(known - {"address_lines"}):
            if name in data and data[name] is not None:
                # An empty footer or fax means "none"; an empty zone is a mistake, not UTC.
                empty_ok = name in ("footer", "fax")
                values[name] = _text_field(where, name, data[name], allow_empty=empty_ok)
        values["address_lines"] = _address_lines(where, data["address_lines"])

        if not _COUNTRY.fullmatch(values["country"]):
            raise ConfigurationError(
                f"{where}: field 'country' must be an ISO 3166 alpha-2 code such as RO, "
                f"got {values['country']!r}"
            )
        if not _EMAIL.fullmatch(values["email"]):
            raise ConfigurationError(
                f"{where}: field 'email' must be an e-mail address such as "
                f"cp247@police.example, got {values['email']!r}"
            )
        if "time_zone" in values:
            _zone(values["time_zone"], f"{where}: field 'time_zone'")
        return cls(**values)


def _text_field(where: str, name: str, value: Any, *, allow_empty: bool = False) -> str:
    if isinstance(value, bool):
        # YAML 1.1 reads unquoted NO/YES/ON/OFF as booleans: the "Norway problem".
        raise ConfigurationError(
            f"{where}: field {name!r} must be text, got the boolean {value}; YAML reads "
            f'unquoted NO, YES, ON and OFF as booleans - quote it, e.g. {name}: "NO"'
        )
    if not isinstance(value, str):
        # Phone numbers with a leading 0 or +, written unquoted, arrive as numbers.
        raise ConfigurationError(
            f"{where}: field {name!r} must be text, got {type(value).__name__} {value!r}; "
            f'quote it in YAML, e.g. {name}: "{value}"'
        )
    text = value.strip()
    if not text and not allow_empty:
        raise ConfigurationError(f"{where}: field {name!r} must not be empty")
    if len(text) > _MAX_FIELD:
        raise ConfigurationError(
            f"{where}: field {name!r} is longer than {_MAX_FIELD} characters ({len(text)})"
        )
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ConfigurationError(f"{where}: field {name!r} contains a control character")
    return text


def _address_lines(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list):
        raise ConfigurationError(
            f"{where}: field 'address_lines' must be a list of lines, e.g.\n"
            f"address_lines:\n  - 1 Example Street\n  - 00000 Capital City"
        )
    if not 1 <= len(value) <= _MAX_ADDRESS_LINES:
        raise ConfigurationError(
            f"{where}: field 'address_lines' must have 1 to {_MAX_ADDRESS_LINES} lines, "
            f"got {len(value)}"
        )
    return tuple(
        _text_field(where, f"address_lines[{index}]", line) for index, line in enumerate(value)
    )


def _zone(name: str, what: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{what}: {name!r} is not an IANA time zone name such as Europe/Bucharest"
        ) from None
