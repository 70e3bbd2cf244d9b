"""An in-memory vector store for unit tests of orchestration (never a default: nothing builds
it from settings). Exact cosine search over unit vectors, with Chroma's filter syntax."""

from __future__ import annotations

import numpy as np

from .vector_store import Metadata, VectorStore, Where


class MemoryStore(VectorStore):
    def __init__(self) -> None:
        self._vectors: dict[str, np.ndarray] = {}
        self._metadata: dict[str, Metadata] = {}
        self._identity: str | None = None

    def embedder_identity(self) -> str | None:
        return self._identity

    def set_embedder_identity(self, identity: str) -> None:
        self._identity = identity

    def upsert(self, ids: list[str], vectors: np.ndarray, metadatas: list[Metadata]) -> None:
        for cid, vector, meta in zip(ids, vectors, metadatas, strict=True):
            self._vectors[cid] = np.asarray(vector, dtype=np.float32)
            self._metadata[cid] = dict(meta)

    def delete(self, ids: list[str]) -> None:
        for cid in ids:
            self._vectors.pop(cid, None)
            self._metadata.pop(cid, None)

    def ids(self) -> list[str]:
        return list(self._vectors)

    def count(self) -> int:
        return len(self._vectors)

    def query(self, vector: np.ndarray, k: int, where: Where | None) -> list[tuple[str, float]]:
        found = [(cid, float(np.dot(v, vector))) for cid, v in self._vectors.items()
                 if _matches(self._metadata[cid], where)]
        return sorted(found, key=lambda pair: -pair[1])[:k]


def _matches(meta: Metadata, where: Where | None) -> bool:
    if not where:
        return True
    if "$and" in where:
        return all(_matches(meta, clause) for clause in where["$and"])
    ((key, wanted),) = where.items()
    if isinstance(wanted, dict) and "$in" in wanted:
        return bool(meta.get(key) in wanted["$in"])
    return bool(meta.get(key) == wanted)


__all__ = ["MemoryStore"]
