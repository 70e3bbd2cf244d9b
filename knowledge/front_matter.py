"""YAML front matter of Markdown and text files: split off the body, parsed safely, bounded.

An uploaded document is untrusted input, and YAML can make a small text large: an alias repeats
a node by reference, so aliases nested a few levels deep multiply (a 419-byte front matter
became 58 MB of metadata, two levels more would be about 5.8 GB: review F7d). Front matter
here is a handful of flat fields, so anchors and aliases are refused outright, nesting is kept
shallow and the block itself is capped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import DocumentError, DocumentLimitError

# The demo plant's front matter is about 200 bytes; 16 KB leaves room for long titles and lists.
MAX_FRONT_MATTER_CHARS = 16 * 1024
# The mapping is level 1, its keys and values level 2, the items of `equipment: [a, b]` level
# 3; nothing we read is deeper, and nesting is what an alias bomb needs.
MAX_FRONT_MATTER_DEPTH = 8

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.DOTALL)


class _Refused(Exception):
    """Raised inside the YAML composer; turned into a DocumentLimitError naming the file."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases and bounds nesting, while composing: an
    alias is refused before the node it points to is ever repeated."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(f"uses a YAML alias (*{event.anchor}); write the value out instead")
        if getattr(event, "anchor", None):
            raise _Refused(f"uses a YAML anchor (&{event.anchor}); write the values out instead")
        if self._depth >= MAX_FRONT_MATTER_DEPTH:
            raise _Refused(f"is nested more than {MAX_FRONT_MATTER_DEPTH} levels deep")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    """(metadata, body) of a text file; ({}, text) when it has no front matter. Raises
    `DocumentLimitError` for front matter over the bounds, `DocumentError` for bad YAML."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    block = match.group(1)
    if len(block) > MAX_FRONT_MATTER_CHARS:
        raise DocumentLimitError(path, f"front matter is {len(block):,} characters, over the "
                                       f"{MAX_FRONT_MATTER_CHARS:,} limit")
    try:
        meta = yaml.load(block, Loader=_BoundedLoader) or {}  # noqa: S506 - a SafeLoader
    except _Refused as exc:
        raise DocumentLimitError(path, f"front matter {exc}") from None
    except yaml.YAMLError as exc:
        raise DocumentError(path, f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise DocumentError(path, "front matter must be a YAML mapping")
    return meta, text[match.end():]
