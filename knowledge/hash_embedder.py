"""A hashing embedder for unit tests of orchestration (never a default: `make_embedder` does
not know it). Words are hashed into a fixed number of dimensions and the vector normalised, so
texts sharing words are close and nothing is loaded: no model, no torch, no ONNX Runtime."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from .embeddings import Embedder

_WORD = re.compile(r"[\w-]+")


class HashEmbedder(Embedder):
    def __init__(self, dimension: int = 1024) -> None:
        self.dimension = dimension
        self.name = f"hash-{dimension}"

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
                out[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
            else:
                out[row, 0] = 1.0  # a text without words still gets a unit vector
        return out


__all__ = ["HashEmbedder"]
