"""Image references. Promotion only ever accepts an immutable ``name@sha256:<64 hex>`` reference."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# registry/path components: lowercase, digits, separators; optional registry host with port.
_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")


class ImageRefError(ValueError):
    """The string is not an immutable image reference."""


@dataclass(frozen=True)
class ImageRef:
    name: str  # e.g. ghcr.io/your-org/mlops-template
    digest: str  # sha256:<64 hex>

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        value = text.strip()
        if "@" not in value:
            raise ImageRefError(
                f"image {value!r} is not pinned by digest: use NAME@sha256:<64 hex>, never a tag"
            )
        name, digest = value.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            raise ImageRefError(
                f"image {value!r}: digest must be sha256: followed by 64 lowercase hex digits"
            )
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            raise ImageRefError(
                f"image {value!r}: drop the tag {last.split(':', 1)[1]!r}; the digest is enough"
            )
        if not _NAME.fullmatch(name):
            raise ImageRefError(f"image {value!r}: {name!r} is not a valid image name")
        return cls(name=name, digest=digest)

    def __str__(self) -> str:
        return f"{self.name}@{self.digest}"
