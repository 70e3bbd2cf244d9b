"""Where an admin's uploaded documents are kept before and after ingest (review F14, F15).

The catalog is keyed by a document's source path, so the stored name decides what an upload
may replace. Each upload is stored as `uploads/<sha256 prefix>-<name as uploaded>`: the same
bytes land on the same file (re-ingesting changes nothing), and a different file that happens
to share a name gets its own source instead of silently replacing another document.

Gradio keeps its own copy of every upload in its cache, where any logged-in user holding the
URL could fetch it; those copies are deleted as soon as the file is stored here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from knowledge.loaders import MAX_FILE_BYTES

MAX_UPLOAD_FILES = 20  # per ingest; a batch is ingested and audited as one action
MAX_UPLOAD_BYTES = MAX_FILE_BYTES  # the loader refuses bigger files anyway
_HASH_CHARS = 16


class UploadRefused(Exception):
    """The batch breaks a limit; the message is for the admin and names only upload names."""


@dataclass(frozen=True)
class Stored:
    upload_name: str  # the name the admin uploaded, shown in results
    path: Path  # the source the catalog will know
    new: bool  # created by this upload: removed again if its ingest fails


def check_batch(paths: list[str]) -> None:
    """Refuse a batch before anything is copied: too many files, or a file over the limit."""
    if len(paths) > MAX_UPLOAD_FILES:
        raise UploadRefused(f"{len(paths)} files chosen; upload at most {MAX_UPLOAD_FILES} at a "
                            "time")
    for p in paths:
        size = os.path.getsize(p)
        if size > MAX_UPLOAD_BYTES:
            raise UploadRefused(f"{Path(p).name} is {size / 1e6:.0f} MB, over the "
                                f"{MAX_UPLOAD_BYTES / 1e6:.0f} MB limit")


def store(paths: list[str], folder: Path) -> list[Stored]:
    """Copy each upload into `folder` under its content-derived name."""
    folder.mkdir(parents=True, exist_ok=True)
    kept = []
    for p in paths:
        name = Path(p).name
        destination = folder / f"{_sha256(p)[:_HASH_CHARS]}-{name}"
        new = not destination.exists()
        if new:
            # Copied to a temporary name first: a half-written file is never a source.
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".incoming-",
                                             delete=False) as handle:
                temporary = Path(handle.name)
            try:
                shutil.copyfile(p, temporary)
                temporary.replace(destination)
            finally:
                temporary.unlink(missing_ok=True)
        kept.append(Stored(name, destination, new))
    return kept


def discard_unindexed(stored: list[Stored], sources: set[str]) -> None:
    """Remove the files this upload created that are no source in the catalog (their ingest
    failed, or stopped): nothing is left in uploads/ that the catalog does not know."""
    for s in stored:
        if s.new and str(s.path.resolve()) not in sources:
            s.path.unlink(missing_ok=True)


def forget_cached(paths: list[str], cache_dir: str | Path) -> None:
    """Delete Gradio's cached copies of the uploads (only files inside its cache folder) and
    the per-file folders Gradio made for them."""
    cache = Path(cache_dir).resolve()
    for p in paths:
        path = Path(p).resolve()
        if cache not in path.parents:
            continue
        path.unlink(missing_ok=True)
        parent = path.parent
        if parent != cache and not any(parent.iterdir()):
            parent.rmdir()


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
