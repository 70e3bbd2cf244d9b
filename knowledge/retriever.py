"""A LangChain `BaseRetriever` face on the knowledge base (hybrid search, role and type
filters, effective revisions only), so LangChain chains and agents can use it directly."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .knowledge_base import Hit, KnowledgeBase, SearchFilter


class KnowledgeRetriever(BaseRetriever):
    """`KnowledgeRetriever(kb=kb, k=4, role="operator").invoke("alarm E-22")`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kb: KnowledgeBase
    k: int = 4
    role: str | None = None
    doc_types: tuple[str, ...] = ()
    mode: str = "hybrid"

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[LCDocument]:
        k = int(kwargs.get("k", self.k))
        filters = SearchFilter(role=self.role, doc_types=tuple(self.doc_types))
        return [to_langchain(hit) for hit in self.kb.search(query, k=k, filters=filters,
                                                            mode=self.mode)]


def to_langchain(hit: Hit) -> LCDocument:
    metadata = {key: value for key, value in hit.to_dict().items() if key != "text"}
    return LCDocument(page_content=hit.text, metadata=metadata, id=hit.chunk_id)
