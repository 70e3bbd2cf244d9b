"""Chunks follow structure and carry exact spans."""

import pytest

from knowledge import Document, chunk_document, load_document

SOP = """# Operation of Widget W-1

## 6 Procedure

### 6.1 Start-up

1. Switch on W-1 and wait until the display shows READY.
   a. If it shows E-05 instead, call engineering.
2. Set the temperature to 121.0 °C.

### 6.2 Alarms

| Code | Message | Action |
| --- | --- | --- |
""" + "".join(f"| E-{i:02d} | Message {i} with several words of description | Do thing {i} now |\n"
              for i in range(40))


def make_doc(text: str) -> Document:
    return Document(doc_id="SOP-T-001", title="Operation of Widget W-1", doc_type="sop",
                    revision="1", status="effective", text=text, source="t.md", content_hash="x")


@pytest.mark.light
def test_spans_are_exact_and_sections_are_paths():
    doc = make_doc(SOP)
    chunks = chunk_document(doc, max_tokens=120)
    assert chunks
    for chunk in chunks:
        assert doc.text[chunk.start:chunk.end] == chunk.text
    assert chunks[0].section == "6 Procedure > 6.1 Start-up"


@pytest.mark.light
def test_step_stays_with_its_sub_point():
    doc = make_doc(SOP)
    chunks = chunk_document(doc, max_tokens=120)
    holding = [c for c in chunks if "Switch on W-1" in c.text]
    assert len(holding) == 1 and "call engineering" in holding[0].text


@pytest.mark.light
def test_long_table_split_between_rows_with_header_in_context():
    doc = make_doc(SOP)
    table_chunks = [c for c in chunk_document(doc, max_tokens=120) if "6.2" in c.section]
    assert len(table_chunks) > 1
    for chunk in table_chunks:
        for line in chunk.text.splitlines():
            assert line.startswith("|") and line.endswith("|")  # whole rows only
        assert "| Code | Message | Action |" in chunk.embed_text
    rows = sum(c.text.count("| E-") for c in table_chunks)
    assert rows == 40  # no row lost or duplicated


def test_chunks_fit_the_embedder(demo_copy, embedder):
    for path in sorted(demo_copy.rglob("*.md"))[:8]:
        if path.name == "README.md":
            continue
        doc = load_document(path)
        for chunk in chunk_document(doc, 220, embedder.count_tokens):
            assert embedder.count_tokens(chunk.text) <= 220 * 1.5
            assert doc.text[chunk.start:chunk.end] == chunk.text


def test_token_count_is_not_capped_by_the_embedders_padding(embedder):
    # sentence-transformers leaves padding/truncation on in its tokenizer after encoding;
    # counts made with it came out as 128 for every text, long or short.
    embedder.embed(["short", "a somewhat longer text to pad the batch to"])
    assert embedder.count_tokens("hello world") == 2
    assert embedder.count_tokens(" ".join(f"step {i}" for i in range(300))) >= 600


def test_embedding_cache_returns_the_same_vectors_as_a_fresh_encode(embedder):
    texts = ["Leave the load in the chamber.", "Inform the shift supervisor.",
             "Leave the load in the chamber."]  # a repeat within one call
    first = embedder.embed(texts)
    again = embedder.embed(list(reversed(texts)))  # now from the cache
    fresh = embedder._model.encode(texts, normalize_embeddings=True)
    assert first.shape == (3, embedder.dimension)
    assert abs(first - fresh).max() < 1e-5
    assert (again == first[::-1]).all()
