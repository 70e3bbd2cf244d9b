"""The LangChain face passes LangChain's own standard retriever tests, over the real demo index."""

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from knowledge import KnowledgeRetriever


class TestKnowledgeRetriever(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _index(self, demo_copilot):
        type(self)._kb = demo_copilot.kb

    @property
    def retriever_constructor(self) -> type[KnowledgeRetriever]:
        return KnowledgeRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"kb": self._kb, "k": 2, "role": "operator"}

    @property
    def retriever_query_example(self) -> str:
        return "What do I do when AC-02 shows alarm E-22?"


def test_documents_carry_citation_metadata(demo_copilot):
    docs = KnowledgeRetriever(kb=demo_copilot.kb, k=3, role="operator").invoke("alarm E-22")
    assert docs and docs[0].metadata["doc_id"] in {"SOP-STE-001", "MAN-AC-02"}
    assert {"revision", "section", "start", "end", "status"} <= set(docs[0].metadata)
    assert all(d.metadata["status"] == "effective" for d in docs)
