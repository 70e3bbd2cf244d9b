"""The ONNX Runtime int8 embedder (the default) against the fp32 torch one, its refusal of a
missing or altered export, and the index's record of which embedder made its vectors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from copilot import demo_plant_path
from knowledge import KnowledgeBase, ModelLoadError, make_embedder
from knowledge.onnx_embedder import OnnxEmbedder
from knowledge.onnx_export import FILES, MANIFEST, export_dir

TEXTS = [
    "What is the maximum exposure time at 121 °C for a porous load?",
    "Alarm E-22: exposure temperature low. Do not open the door to the clean side.",
    "Gowning for grade B: sterile coverall, hood, goggles and two pairs of gloves.",
    "Deviation DEV-2026-019: the WFI loop conductivity rose above 1.3 µS/cm.",
    "ok",
]


@pytest.fixture(scope="module")
def int8():
    return make_embedder("minilm-int8")


def test_int8_vectors_are_unit_length_and_close_to_fp32(int8, embedder):
    fast, exact = int8.embed(TEXTS), embedder.embed(TEXTS)
    assert fast.shape == exact.shape == (len(TEXTS), 384) and fast.dtype == np.float32
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
    cosines = np.sum(fast * exact, axis=1)
    # Very short texts move most ("ok": 0.96-0.97: activations are quantised per batch, so
    # the figure depends a little on the batch's other texts); sentences stay above 0.99.
    assert cosines.min() >= 0.955 and np.median(cosines) >= 0.99, cosines
    # Not a copy of the fp32 vectors: int8 moves them a little (else this test proves nothing).
    assert cosines.max() < 0.99999, cosines


def test_int8_ranks_like_fp32(int8, embedder):
    """The nearest passage of each question is the same under both embedders."""
    questions = ["how long is the exposure at 121 degrees", "what does alarm E-22 mean",
                 "what to wear in grade B", "WFI conductivity deviation"]
    fast = int8.embed(questions) @ int8.embed(TEXTS[:4]).T
    exact = embedder.embed(questions) @ embedder.embed(TEXTS[:4]).T
    assert list(fast.argmax(axis=1)) == list(exact.argmax(axis=1)) == [0, 1, 2, 3]


def test_token_counts_and_limits_match_sentence_transformers(int8, embedder):
    long_text = "conductivity " * 400
    for text in TEXTS + [long_text]:
        assert int8.count_tokens(text) == embedder.count_tokens(text)
    assert int8.max_tokens == embedder.max_tokens == 256
    # Past 256 tokens the text is truncated as sentence-transformers does: same vector.
    assert float(int8.embed([long_text])[0] @ embedder.embed([long_text])[0]) >= 0.98


def test_identity_names_the_runtime_and_the_exact_model_file(int8, embedder):
    manifest = json.loads((export_dir() / MANIFEST).read_text())
    assert int8.identity == \
        f"onnx-int8:all-MiniLM-L6-v2:{manifest['files'][FILES['int8']][:16]}"
    assert embedder.identity == "sentence-transformers:all-MiniLM-L6-v2"


def test_a_missing_export_is_refused_with_the_file_and_the_fix(tmp_path):
    with pytest.raises(ModelLoadError) as caught:
        OnnxEmbedder("int8", folder=tmp_path / "nothing-here")
    message = str(caught.value)
    assert str(tmp_path / "nothing-here") in message and "make install" in message
    assert "COPILOT_EMBEDDER=minilm" in message


def test_an_altered_export_is_refused(tmp_path):
    copy = tmp_path / "export"
    copy.mkdir()
    shutil.copy(export_dir() / MANIFEST, copy / MANIFEST)
    model = (export_dir() / FILES["int8"]).read_bytes()
    (copy / FILES["int8"]).write_bytes(model[:-1] + bytes([model[-1] ^ 1]))
    with pytest.raises(ModelLoadError, match="does not match the sha256"):
        OnnxEmbedder("int8", folder=copy)
    (copy / FILES["int8"]).write_bytes(model)  # the same bytes pass
    assert OnnxEmbedder("int8", folder=copy).embed(["ok"]).shape == (1, 384)


def test_an_unknown_embedder_name_is_refused():
    with pytest.raises(ModelLoadError, match="minilm-int8"):
        make_embedder("minilm-int4")


def _stored_vectors(kb: KnowledgeBase) -> dict[str, np.ndarray]:
    got = kb.vectors._collection.get(include=["embeddings"])
    return dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32), strict=True))


def test_a_change_of_embedder_re_embeds_the_whole_index(tmp_path, int8, embedder):
    home = tmp_path / "home"
    files = sorted((demo_plant_path()).rglob("*.md"))[:3]
    calls: list[tuple[int, int]] = []
    kb = KnowledgeBase(home, int8, on_reembed=lambda done, total: calls.append((done, total)))
    kb.ingest(files)
    assert kb.vectors.embedder_identity() == int8.identity
    rows = {r["chunk_id"]: r for r in kb.catalog.all_chunks()}
    assert len(rows) >= 3 and not calls  # a fresh index records, never re-embeds

    reopened = KnowledgeBase(home, embedder, on_reembed=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1] == (len(rows), len(rows))
    assert reopened.vectors.embedder_identity() == embedder.identity
    stored = _stored_vectors(reopened)
    assert set(stored) == set(rows)
    for cid, row in rows.items():  # every vector is now the fp32 one: nothing mixed
        expected = embedder.embed([f"{row['context']}\n{row['text']}"])[0]
        assert float(stored[cid] @ expected) > 0.9999
    hit = reopened.search(rows[next(iter(rows))]["text"][:200], k=1)[0]
    assert hit.dense is not None and hit.dense > 0.9

    calls.clear()
    KnowledgeBase(home, embedder, on_reembed=lambda d, t: calls.append((d, t)))
    assert not calls  # the same embedder again: nothing to do


def test_an_index_without_a_recorded_embedder_is_re_embedded(tmp_path, int8):
    home = tmp_path / "home"
    kb = KnowledgeBase(home, int8)
    kb.ingest(sorted(demo_plant_path().rglob("*.md"))[:1])
    # As an index made before identities were stored: metadata without the key.
    kb.vectors._collection.modify(metadata={"note": "old index"})
    assert kb.vectors.embedder_identity() is None
    calls: list[tuple[int, int]] = []
    reopened = KnowledgeBase(home, int8, on_reembed=lambda d, t: calls.append((d, t)))
    assert calls and reopened.vectors.embedder_identity() == int8.identity
