"""The naive RAG a user would write in 30 lines: LangChain's RecursiveCharacterTextSplitter
(1000/200) over the raw files and Chroma similarity top-k, same embedder. A comparison column,
not part of the product."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from knowledge import DocumentError, Embedder, discover, load_document

if TYPE_CHECKING:
    from chromadb.base_types import Metadata


class NaiveRag:
    def __init__(self, corpus: Path, embedder: Embedder) -> None:
        self.embedder = embedder
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        self.collection = client.create_collection(f"naive-{uuid.uuid4().hex[:8]}",
                                                   embedding_function=None,
                                                   metadata={"hnsw:space": "cosine"})
        texts: list[str] = []
        metas: list[Metadata] = []
        for path in discover([corpus]):
            try:
                doc = load_document(path)
            except DocumentError:
                continue
            for piece in splitter.split_text(doc.text):
                texts.append(piece)
                metas.append({"doc_id": doc.doc_id, "source": str(path.resolve())})
        vectors = embedder.embed(texts)
        for i in range(0, len(texts), 1000):
            self.collection.add(ids=[str(n) for n in range(i, min(i + 1000, len(texts)))],
                                embeddings=vectors[i:i + 1000].tolist(),
                                documents=texts[i:i + 1000], metadatas=metas[i:i + 1000])

    def search(self, query: str, k: int = 4) -> list[tuple[str, str, str]]:
        """(doc_id, source, text) of the k most similar chunks."""
        result = self.collection.query(query_embeddings=[self.embedder.embed_one(query).tolist()],
                                       n_results=k, include=["documents", "metadatas"])
        assert result["metadatas"] is not None and result["documents"] is not None  # included
        return [(str(m["doc_id"]), str(m["source"]), d) for m, d in
                zip(result["metadatas"][0], result["documents"][0], strict=True)]
