"""The vector-store seam and its Chroma adapter, the only module that imports chromadb.

Embedded (persistent folder) by default; with a URL it talks to a `chroma run` server so
several copilot processes share one index. Telemetry is always off and the project's own
embedder is always used (Chroma's default embedding function would download a model).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from .errors import KnowledgeError, MissingDependencyError

if TYPE_CHECKING:
    from chromadb.base_types import Metadata as ChromaMetadata

COLLECTION = "copilot_chunks"
EMBEDDER_KEY = "copilot:embedder"  # collection metadata: which embedder made the vectors


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

# One chunk's metadata in the vector store (Chroma keeps scalar values only).
Metadata = dict[str, str | int | float | bool | None]
# A filter in Chroma's syntax (see `VectorStore` and `chroma_where`).
Where = dict[str, Any]


class VectorStore(ABC):
    """Where chunk vectors live: Chroma (`ChromaStore`) by default, `MemoryStore` for unit
    tests of orchestration. `where` filters use Chroma's syntax (`chroma_where`): a bare
    `{key: value}`, `{key: {"$in": [...]}}`, or `{"$and": [...]}` of those."""

    @abstractmethod
    def embedder_identity(self) -> str | None:
        """The identity of the embedder whose vectors these are (None: not recorded)."""

    @abstractmethod
    def set_embedder_identity(self, identity: str) -> None: ...

    @abstractmethod
    def upsert(self, ids: list[str], vectors: np.ndarray, metadatas: list[Metadata]) -> None: ...

    @abstractmethod
    def delete(self, ids: list[str]) -> None: ...

    @abstractmethod
    def ids(self) -> list[str]: ...

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def query(self, vector: np.ndarray, k: int, where: Where | None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) pairs, best first."""


class ChromaStore(VectorStore):
    def __init__(self, path: Path | None = None, url: str | None = None,
                 collection: str = COLLECTION, token: str | None = None,
                 ca_file: Path | None = None) -> None:
        """`token` goes to the server as `Authorization: Bearer` (Chroma's token auth);
        `ca_file` verifies the server's TLS certificate against a plant CA."""
        os.environ["ANONYMIZED_TELEMETRY"] = "False"
        try:
            import chromadb
            from chromadb.config import Settings
        except ImportError as exc:
            raise MissingDependencyError("chromadb", "pip install chromadb==1.5.9") from exc
        if not 3 <= len(collection) <= 512:
            raise KnowledgeError(f"collection name {collection!r} must have 3-512 characters")
        settings = Settings(anonymized_telemetry=False)
        if url:
            parsed = urlparse(url if "://" in url else f"http://{url}")
            host = parsed.hostname or "127.0.0.1"
            _refuse_unprotected(url, host, parsed.scheme, token)
            if ca_file is not None:
                settings = Settings(anonymized_telemetry=False,
                                    chroma_server_ssl_verify=str(ca_file))
            headers = {"Authorization": f"Bearer {token}"} if token else None
            try:
                self._client = chromadb.HttpClient(host=host, port=parsed.port or 8000,
                                                   ssl=parsed.scheme == "https", headers=headers,
                                                   settings=settings)
                self._client.heartbeat()
            except Exception as exc:
                raise KnowledgeError(f"Chroma server at {url} is not reachable: {exc}") from exc
        else:
            assert path is not None, "an embedded store needs a folder"
            path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(path), settings=settings)
        self._collection = self._client.get_or_create_collection(
            name=collection, embedding_function=None, metadata={"hnsw:space": "cosine"})

    def embedder_identity(self) -> str | None:
        """The identity of the embedder whose vectors this collection holds (None: not
        recorded, e.g. an index made before identities were stored)."""
        value = (self._collection.metadata or {}).get(EMBEDDER_KEY)
        return str(value) if value is not None else None

    def set_embedder_identity(self, identity: str) -> None:
        # The distance function lives in the collection's configuration; its `hnsw:` metadata
        # key may not be passed again (Chroma refuses a change of distance function).
        kept = {k: v for k, v in (self._collection.metadata or {}).items()
                if not k.startswith("hnsw:")}
        self._collection.modify(metadata={**kept, EMBEDDER_KEY: identity})

    def upsert(self, ids: list[str], vectors: np.ndarray, metadatas: list[Metadata]) -> None:
        for i in range(0, len(ids), 1000):
            batch: list[ChromaMetadata] = list(metadatas[i:i + 1000])
            self._collection.upsert(ids=ids[i:i + 1000], embeddings=vectors[i:i + 1000].tolist(),
                                    metadatas=batch)

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 1000):
            self._collection.delete(ids=ids[i:i + 1000])

    def ids(self) -> list[str]:
        return list(self._collection.get(include=[])["ids"])

    def count(self) -> int:
        return int(self._collection.count())

    def query(self, vector: np.ndarray, k: int, where: Where | None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) pairs, best first."""
        if self.count() == 0:
            return []
        result = self._collection.query(query_embeddings=[vector.tolist()], n_results=k,
                                        where=where or None, include=["distances"])
        ids = result["ids"][0]
        assert result["distances"] is not None  # asked for with include=["distances"]
        distances = result["distances"][0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, distances, strict=True)]


def _refuse_unprotected(url: str, host: str, scheme: str, token: str | None) -> None:
    """Anyone reaching the Chroma port can read the index's metadata (doc ids, sections,
    access flags) and replace vectors: beyond this host it needs TLS and a token."""
    if host in LOOPBACK_HOSTS:
        return
    if scheme != "https" or not token:
        raise KnowledgeError(
            f"Chroma server {url} is not on this host: use https:// and set "
            "COPILOT_CHROMA_TOKEN (and COPILOT_CHROMA_CA_FILE for a plant CA), or run it on "
            "127.0.0.1")


def chroma_where(conditions: dict[str, object]) -> Where | None:
    """Chroma wants a bare condition for one clause and `$and` for several."""
    clauses = [{key: value} for key, value in conditions.items()]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


__all__ = ["COLLECTION", "ChromaStore", "Metadata", "VectorStore", "Where", "chroma_where"]
