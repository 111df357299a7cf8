"""Stripe's form encoding (``metadata[order_id]=7&expand[0]=latest_charge``), read nested.

The official SDKs send every v1 parameter this way: nested objects as ``a[b]``, lists as
``a[0]`` (or ``a[]``). Lists stay dicts keyed by their index: the emulator only reads
scalars and maps, and keeping the keys loses nothing. The idempotency fingerprint uses
the flat pairs instead.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

FormPairs = list[tuple[str, str]]

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def parse_pairs(raw: bytes | str) -> FormPairs:
    """The ``(key, value)`` pairs of a form body or query string, blanks kept."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return parse_qsl(text, keep_blank_values=True)


def split_key(key: str) -> list[str]:
    """``metadata[order][id]`` -> ``["metadata", "order", "id"]``; ``a[]`` -> ``["a", ""]``."""
    head, bracket, _ = key.partition("[")
    if not bracket:
        return [key]
    return [head, *_KEY_PART.findall(key[len(head) :])]


def nest(pairs: FormPairs) -> dict[str, Any]:
    """Build the nested parameters; a later value for the same key wins."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = split_key(key)
        node = root
        for index, part in enumerate(parts[:-1]):
            following = parts[index + 1]
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
            # An empty index appends: give it the next free position of this list.
            if following == "":
                parts[index + 1] = str(len(node))
        last = parts[-1] if parts[-1] != "" else str(len(node))
        node[last] = value
    return root


def get_int(params: dict[str, Any], name: str) -> int | None:
    """An integer parameter (minor units); ``None`` when absent."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise ValueError(f"Invalid integer: {value}")
    return int(value)


def get_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) and value != "" else None


def get_bool(params: dict[str, Any], name: str) -> bool:
    return params.get(name) == "true"


def get_str_map(params: dict[str, Any], name: str) -> dict[str, str] | None:
    """A ``metadata``-like map; ``""`` (clear everything) reads as an empty map."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(key): str(item) for key, item in value.items()}
    return {}
