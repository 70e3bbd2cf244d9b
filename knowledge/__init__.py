"""Knowledge base: documents -> chunks -> index -> hits. A leaf package: imports nothing above."""

from .chunking import Chunk, approx_tokens, chunk_document, section_spans
from .documents import DOC_TYPES, ROLES, STATUSES, Document
from .embeddings import Embedder, SentenceTransformerEmbedder, make_embedder
from .errors import DocumentError, KnowledgeError, MissingDependencyError, ModelLoadError
from .hash_embedder import HashEmbedder
from .knowledge_base import FileResult, Hit, IngestReport, KnowledgeBase, SearchFilter, discover
from .lexical import CODE, codes_in
from .loaders import SUPPORTED_SUFFIXES, load_document
from .memory_store import MemoryStore
from .retriever import KnowledgeRetriever
from .vector_store import ChromaStore, VectorStore

__all__ = [
    "CODE", "Chunk", "ChromaStore", "DOC_TYPES", "Document", "DocumentError", "Embedder",
    "FileResult", "HashEmbedder", "Hit", "IngestReport", "KnowledgeBase", "KnowledgeError",
    "KnowledgeRetriever", "MemoryStore", "MissingDependencyError", "ModelLoadError", "ROLES",
    "STATUSES", "SUPPORTED_SUFFIXES", "SearchFilter", "SentenceTransformerEmbedder",
    "VectorStore", "approx_tokens", "chunk_document", "codes_in", "discover", "load_document",
    "make_embedder", "section_spans",
]
