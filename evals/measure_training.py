"""Validation pass rate of the generator over document files, without a knowledge base:

    python -m evals.measure_training copilot/demo_plant/sops ../shared/corpus/sop_*.md

Prints per document the items generated and accepted, the rejection reasons, and the total.
Deviation reports are skipped (no modules are built from them).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from copilot.training.generator import DeterministicGenerator
from copilot.training.validation import validate
from knowledge import DocumentError, discover, load_document


def measure(paths: list[str]) -> tuple[int, int]:
    generated = accepted = 0
    generator = DeterministicGenerator()
    for path in discover(Path(p) for p in paths):
        try:
            doc = load_document(path)
        except DocumentError as exc:
            print(f"{path}: skipped ({exc})")
            continue
        if doc.doc_type == "deviation":
            continue
        items = generator.generate(doc)
        good, rejected = validate(items, doc)
        generated += len(items)
        accepted += len(good)
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(Counter(i.type for i in good).items()))
        print(f"{doc.doc_id} rev {doc.revision}: {len(good)}/{len(items)} valid ({kinds})")
        for r in rejected:
            print(f"    rejected: {r.reason} | {r.item.stem[:90]}")
    rate = accepted / generated if generated else 0.0
    print(f"total: {accepted}/{generated} generated items pass validation ({rate:.1%})")
    return accepted, generated


if __name__ == "__main__":
    measure(sys.argv[1:] or ["."])
