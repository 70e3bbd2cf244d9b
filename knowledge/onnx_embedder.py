"""all-MiniLM-L6-v2 on ONNX Runtime: the install-time export (knowledge/onnx_export.py), int8
by default, the tokenizer from the same weights package, no torch in the process.

Pooling is sentence-transformers' own for this model (modules.json: mean pooling over the
attention mask, then L2 normalisation), written out here because it is three numpy lines.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .embeddings import CachingEmbedder, bundled_minilm_path
from .errors import MissingDependencyError, ModelLoadError
from .onnx_export import FILES, FIX_COMMAND, export_dir, problem

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors the attention mask keeps, scaled to unit length."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    unit: np.ndarray = (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12,
                                         None)).astype(np.float32)
    return unit


class OnnxEmbedder(CachingEmbedder):
    """Refuses, naming the file and the command that fixes it, when the export is missing or
    does not match its manifest: it never falls back to torch on its own."""

    def __init__(self, precision: str = "int8", folder: Path | None = None,
                 batch_size: int = 32, threads: int = 0) -> None:
        super().__init__()
        if precision not in FILES:
            raise ModelLoadError(f"minilm-{precision}", f"precision must be one of {list(FILES)}")
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError("onnxruntime", "pip install onnxruntime==1.32.0") \
                from exc
        folder = folder or export_dir()
        reason = problem(folder, precision)
        if reason is not None:
            raise ModelLoadError(f"minilm-{precision}", f"{reason}. Build it with: {FIX_COMMAND}; "
                                 f"or set COPILOT_EMBEDDER=minilm for the torch embedder")
        self.path = folder / FILES[precision]
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        digest = manifest["files"][FILES[precision]]
        self.name = f"onnx-{precision}:all-MiniLM-L6-v2"
        # What the vectors depend on: the exact model file (its hash names the weights and the
        # quantisation). Stored with the index; a change re-embeds it.
        self._identity = f"{self.name}:{digest[:16]}"
        weights = bundled_minilm_path()
        self.max_tokens = int(json.loads(
            (weights / "sentence_bert_config.json").read_text("utf-8"))["max_seq_length"])
        self.batch_size = batch_size
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(str(self.path), options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelLoadError(str(self.path), f"{type(exc).__name__}: {exc}") from exc
        tokenizer = Tokenizer.from_file(str(weights / "tokenizer.json"))
        # tokenizer.json pads to a fixed 128 and truncates at 128; sentence-transformers uses
        # the model's 256 and pads each batch to its longest text. Do the same.
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        counter = Tokenizer.from_file(str(weights / "tokenizer.json"))
        counter.no_truncation()
        counter.no_padding()
        self._counter = counter

    @property
    def dimension(self) -> int:
        return 384

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def _encode(self, texts: list[str]) -> np.ndarray:
        # Longest first, as sentence-transformers does: similar lengths share a batch, so
        # little of each batch is padding.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start:start + self.batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] for i in chosen])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask,
                    "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(["last_hidden_state"], feed)[0]
            out[chosen] = mean_pool_normalise(hidden, mask)
        return out
