"""Tuning the GMP policy classifier, on the tune sets only, and fitting its shipped weights.

    python -m evals.policy_tune              figures on the tune sets with the settings in use
    python -m evals.policy_tune --sweep      C x lexicon_weight x threshold on the tune sets
    python -m evals.policy_tune --show       also list the tune cases it gets wrong
    python -m evals.policy_tune --fit        write guardrails/policy.model.npz (the weights the
                                             checker loads instead of training at first use)

Tune sets: evals/datasets/policy_tune.jsonl and policy_tune2.jsonl (labels violation | allowed;
tune2 in other voices: shop-floor chat, non-native English, "what's the correct way to ..."
near-misses and violations, prohibitions quoted from SOPs) and the tune split of
evals/datasets/policy_cases.jsonl. The fresh sets (policy_fresh*.jsonl) are never read here:
they are measured with evals/policy_fresh.py, once before and once after a change. (In round 3,
policy_fresh2.jsonl, measured twice in round 2, was tuning material, checked by hand with
policy_fresh.run; policy_fresh3.jsonl is the fresh set.) Round 4 adds policy_tune3.jsonl
(requests and near-misses in German, French, Italian, Dutch and Spanish) and used
policy_fresh3.jsonl (measured twice in round 3) as tuning material; round 5 used
policy_fresh..fresh4 and the everyday questions as tuning material; policy_fresh5.jsonl is the
fresh set.

Round 6: the classifier also trains on labelled sets (`TRAINING`: our own policy_train*.jsonl,
written for this round in many voices and eight languages, the tune sets, the tune split of
policy_cases and policy_fresh..fresh5, every one now tuning material), each kind mapped to its
intent and "allowed" to answer; cases with a role are left out (their label depends on it).

    python -m evals.policy_tune --validate   fit without policy_fresh4/fresh5 (`HOLDOUT`) and
                                             report those two as the validation figures
    python -m evals.policy_tune --fit        fit on all of TRAINING and write the weights (the
                                             examples travel inside policy.model.npz)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from guardrails import CachedEmbed, PolicyChecker
from guardrails.policy_model import fold

from . import policy_fresh
from .guard_suites import POLICY_CASES, load_jsonl, policy_suite

DATASETS = Path(__file__).parent / "datasets"
TUNE = DATASETS / "policy_tune.jsonl"
TUNE2 = DATASETS / "policy_tune2.jsonl"
TUNE3 = DATASETS / "policy_tune3.jsonl"
# the labelled sets the classifier trains on (round 6), and those held out by --validate
TRAINING = ("policy_tune", "policy_tune2", "policy_tune3", "policy_fresh", "policy_fresh2",
            "policy_fresh3", "policy_fresh4", "policy_fresh5")
HOLDOUT = ("policy_fresh4", "policy_fresh5")
# the kind of a labelled case -> the intent it is an example of
KIND_INTENT = {"audit_trail": "disable_audit_trail", "backdating": "falsify_record",
               "fabricate_record": "falsify_record", "batch_status_change": "batch_disposition",
               "bypass_interlock": "bypass_interlock_or_alarm",
               "silence_alarm": "bypass_interlock_or_alarm",
               "close_deviation": "close_deviation_without_investigation",
               "lab_data_manipulation": "manipulate_lab_data",
               "production_data_manipulation": "manipulate_production_data",
               "obstruct_inspection": "mislead_inspection",
               "privileged_credentials": "obtain_credentials", "skip_gmp_step": "skip_gmp_step",
               "colleague_personal_data": "disclose_personal_data"}


def cases_tune_split() -> list[dict]:
    """The tune split of policy_cases.jsonl in the labelled form (any non-answer: violation)."""
    return [{**c, "label": "allowed" if c["action"] == "answer" else "violation",
             "kind": c.get("rule") or "near_miss"}
            for c in load_jsonl(POLICY_CASES) if c.get("split") == "tune"]


def training_examples(checker: PolicyChecker,
                      leave_out: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(texts, labels) of the labelled training sets, less `leave_out` (set names)."""
    names = [p.stem for p in sorted(DATASETS.glob("policy_train*.jsonl"))] + list(TRAINING)
    cases = [c for name in names if name not in leave_out
             for c in policy_fresh.load_cases(DATASETS / f"{name}.jsonl")]
    cases += cases_tune_split()
    training = checker.lexicon.objects["training"]
    texts, labels = [], []
    for case in cases:
        if case.get("role"):
            continue
        if case["label"] == "allowed":
            label = "answer"
        elif case["kind"] in KIND_INTENT:
            label = KIND_INTENT[case["kind"]]
            # a colleague's training record is an intent of its own
            if label == "disclose_personal_data" and training.search(fold(case["text"])):
                label = "disclose_training_record"
        elif case.get("rule"):  # policy_cases: the intent itself
            label = case["rule"]
        else:
            raise ValueError(f"{case['id']}: kind {case['kind']!r} names no intent")
        texts.append(case["text"])
        labels.append(label)
    return texts, labels


def evaluate(checker: PolicyChecker) -> dict:
    tune = policy_fresh.run(checker, policy_fresh.load_cases(TUNE))
    tune2 = policy_fresh.run(checker, policy_fresh.load_cases(TUNE2))
    tune3 = policy_fresh.run(checker, policy_fresh.load_cases(TUNE3))
    cases = [c for c in load_jsonl(POLICY_CASES) if c.get("split") == "tune"]
    exact = policy_suite(checker, cases)
    binary = policy_fresh.run(checker, cases_tune_split())
    return {"tune": tune, "tune2": tune2, "tune3": tune3, "cases_tune_exact": exact["accuracy"],
            "cases_tune_binary": binary["accuracy"], "cases_wrong": exact["wrong"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--validate", action="store_true")
    args = parser.parse_args()
    from copilot import Settings
    from copilot.build import build_embedder

    # The shipped weights are fitted with the embedder the product uses by default (their
    # probe embedding must match at load time, or every process refits at first use).
    embed = CachedEmbed(build_embedder(Settings().embedder).embed, maxsize=100_000)
    if args.validate:
        checker = PolicyChecker(embed=embed)
        assert checker.classifier is not None
        checker.classifier.set_extra(*training_examples(checker, leave_out=HOLDOUT))
        checker.classifier.model_path = None
        checker.classifier.fit()
        for name in HOLDOUT:
            r = policy_fresh.run(checker, policy_fresh.load_cases(DATASETS / f"{name}.jsonl"))
            print(f"validation {name}: accuracy {r['accuracy']:.3f}, caught "
                  f"{r['violations_caught']:.3f}, legit refused {r['refused_legit_rate']:.3f}")
            for kind, k in r["by_kind"].items():
                print(f"  {kind:30} {k['accuracy']:.2f}")
        return
    if args.fit:
        checker = PolicyChecker(embed=embed)
        assert checker.classifier is not None and checker.classifier.model_path is not None
        checker.classifier.set_extra(*training_examples(checker))
        checker.classifier.fit()
        checker.classifier.save(checker.classifier.model_path)
        print(f"wrote {checker.classifier.model_path}: {len(checker.classifier.texts)} "
              f"policy-file examples and {len(checker.classifier.extra_texts)} from the "
              f"labelled sets, classes {', '.join(checker.classifier.classes)}")
        return
    if args.sweep:
        for c, weight, similarity in ((16.0, 0.5, 1.0),
                                      ):
            checker = PolicyChecker(embed=embed)
            assert checker.classifier is not None
            checker.classifier.c, checker.classifier.lexicon_weight = c, weight
            checker.classifier.similarity_weight = similarity
            checker.classifier.model_path = None  # train with these settings
            for threshold in (0.5, 0.6, 0.65, 0.7, 0.75):
                checker.threshold = threshold
                f = evaluate(checker)
                t, t2 = f["tune"], f["tune2"]
                print(f"C {c:5} lexicon {weight:4} similarity {similarity} threshold "
                      f"{threshold:4}: tune accuracy "
                      f"{t['accuracy']:.3f} caught {t['violations_caught']:.3f} legit "
                      f"refused {t['refused_legit_rate']:.3f} | tune2 accuracy "
                      f"{t2['accuracy']:.3f} legit refused {t2['refused_legit_rate']:.3f} | "
                      f"cases tune exact {f['cases_tune_exact']:.3f} binary "
                      f"{f['cases_tune_binary']:.3f}")
        return
    checker = PolicyChecker(embed=embed)
    f = evaluate(checker)
    for name, path in (("tune", TUNE), ("tune2", TUNE2), ("tune3", TUNE3)):
        t = f[name]
        print(f"{name}: accuracy {t['accuracy']:.3f}, caught {t['violations_caught']:.3f}, legit "
              f"refused {t['refused_legit_rate']:.3f}, p50 {t['latency_ms']['p50']} ms")
        for kind, k in t["by_kind"].items():
            print(f"  {kind:30} {k['accuracy']:.2f}")
        if args.show:
            texts = {c["id"]: c for c in policy_fresh.load_cases(path)}
            for case_id in t["missed"] + t["refused_legit"]:
                case = texts[case_id]
                print(f"  WRONG {case['label']:9} {t['intent_named'][case_id]} | "
                      f"{case['text']}")
    print(f"policy_cases tune split: exact {f['cases_tune_exact']:.3f}, "
          f"binary {f['cases_tune_binary']:.3f}")
    if args.show:
        for wrong in f["cases_wrong"]:
            print("  CASES", wrong)


if __name__ == "__main__":
    main()
