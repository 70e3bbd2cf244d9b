"""PII scrubbing benchmark: recall and precision per entity type, hard-negative false-positive
rate and scrub latency, over a JSONL set of realistic plant sentences.

    python -m evals.bench_pii --out DIR [--dataset evals/datasets/pii_cases.jsonl] [--rounds 5]

A case is {"id", "text", "spans": [{"start", "end", "type"}], "keep": [...]}; a case with no
spans is a hard negative (nothing may be redacted); "keep" (optional) lists organisation names
that must survive scrubbing word for word. A found span counts when it overlaps
a gold span of the same type. Network connections are blocked while the scrubber loads and
runs; any attempt is counted in the output. Writes DIR/bench_pii.json.

Cases whose id starts with "heldout-" were written after the recognizers were frozen, and
fresh cases before a round of issue 16's tuning ("fresh-" pii_fresh.jsonl, "fresh-f2-"
pii_fresh2.jsonl, "pii3-" pii_fresh3.jsonl: splits fresh, fresh2, fresh3); the others were
used while tuning. Each split is reported on its own as well (`split_of`).
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

from guardrails import PresidioScrubber, Scrubber, ScrubSession, Span

DEFAULT_DATASET = Path(__file__).parent / "datasets" / "pii_cases.jsonl"
CORE_TYPES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "EMPLOYEE_ID")
OTHER_TYPES = ("US_SSN", "STREET_ADDRESS")
TARGETS = {"recall_min": 0.95, "precision_min": 0.95, "hard_negative_fp_rate_max": 0.02,
           "scrub_p50_ms_max": 50.0}


# Which set a case id belongs to. Fresh sets (written before a round's tuning, never tuned on)
# each get their own label, so that their figures are never mixed into "tuning": "fresh-f2-"
# is pii_fresh2, "pii3-" pii_fresh3, and any later "piiN-" / "fresh-fN-" set is freshN.
SPLIT_PREFIXES = (("heldout-", "heldout"), ("fresh-f2-", "fresh2"), ("fresh-", "fresh"))


def split_of(case_id: str) -> str:
    for prefix, split in SPLIT_PREFIXES:
        if case_id.startswith(prefix):
            return split
    numbered = re.match(r"(?:pii|fresh-f)(\d+)-", case_id)
    return f"fresh{numbered.group(1)}" if numbered else "tuning"


def load_cases(path: Path | str) -> list[dict]:
    cases = []
    for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        case = json.loads(line)
        for span in case["spans"]:
            if not 0 <= span["start"] < span["end"] <= len(case["text"]):
                raise ValueError(f"{path}:{number}: span {span} outside the text")
        cases.append(case)
    return cases


def _overlaps(found: Span, gold: dict) -> bool:
    return found.type == gold["type"] and found.start < gold["end"] and gold["start"] < found.end


def score(cases: list[dict], found: dict[str, list[Span]]) -> dict:
    per_type: dict[str, dict] = {}
    for entity_type in (*CORE_TYPES, *OTHER_TYPES):
        gold_total = gold_hit = pred_total = pred_ok = 0
        misses, false_positives = [], []
        for case in cases:
            gold = [s for s in case["spans"] if s["type"] == entity_type]
            pred = [s for s in found[case["id"]] if s.type == entity_type]
            for g in gold:
                gold_total += 1
                if any(_overlaps(p, g) for p in pred):
                    gold_hit += 1
                else:
                    misses.append({"id": case["id"], "text": case["text"][g["start"]:g["end"]]})
            for p in pred:
                pred_total += 1
                if any(_overlaps(p, g) for g in gold):
                    pred_ok += 1
                else:
                    false_positives.append({"id": case["id"],
                                            "text": case["text"][p.start:p.end]})
        per_type[entity_type] = {
            "gold": gold_total, "found": pred_total,
            "recall": gold_hit / gold_total if gold_total else None,
            "precision": pred_ok / pred_total if pred_total else None,
            "misses": misses, "false_positives": false_positives,
        }
    every = list(per_type.values())
    gold_any = [(c, g) for c in cases for g in c["spans"]]
    redacted_any = sum(any(p.start < g["end"] and g["start"] < p.end for p in found[c["id"]])
                       for c, g in gold_any)
    core = [per_type[t] for t in CORE_TYPES]
    gold_total = sum(t["gold"] for t in core)
    pred_total = sum(t["found"] for t in core)
    negatives = [c for c in cases if not c["spans"]]
    flagged = [c["id"] for c in negatives if found[c["id"]]]
    return {
        "core_recall": sum(t["gold"] - len(t["misses"]) for t in core) / max(gold_total, 1),
        "core_precision": sum(t["found"] - len(t["false_positives"]) for t in core)
        / max(pred_total, 1),
        # every entity type (street addresses and SSNs too): the figures the targets are on
        "span_recall": sum(t["gold"] - len(t["misses"]) for t in every)
        / max(sum(t["gold"] for t in every), 1),
        "span_precision": sum(t["found"] - len(t["false_positives"]) for t in every)
        / max(sum(t["found"] for t in every), 1),
        # a gold span covered by any redaction, whatever type it was given
        "span_redacted_any_type": redacted_any / max(len(gold_any), 1),
        "per_type": per_type,
        "hard_negatives": len(negatives),
        "hard_negative_fp_rate": len(flagged) / max(len(negatives), 1),
        "hard_negatives_flagged": flagged,
    }


def organisations_kept(cases: list[dict], scrubbed: dict[str, str]) -> dict:
    """Organisation names a case lists under "keep" must survive scrubbing word for word:
    they are not personal data, and retrieval needs them."""
    named = [(c["id"], org) for c in cases for org in c.get("keep", ())]
    lost = [{"id": cid, "text": org} for cid, org in named if org not in scrubbed[cid]]
    return {"named": len(named), "kept": len(named) - len(lost),
            "kept_rate": (len(named) - len(lost)) / len(named) if named else None, "lost": lost}


def latency_ms(scrubber: Scrubber, texts: list[str], rounds: int) -> dict:
    for text in texts:  # warm-up pass, not timed
        scrubber.scrub(text)
    times = []
    for _ in range(rounds):
        scrubber.clear_recent()  # time the analysis, not the reuse of the warm-up's spans
        session = ScrubSession("bench")  # one conversation per round, as in the chat
        for text in texts:
            started = time.perf_counter()
            scrubber.scrub(text, session=session)
            times.append((time.perf_counter() - started) * 1e3)
    times.sort()
    return {"n": len(times), "p50": statistics.median(times),
            "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
            "max": times[-1]}


@contextmanager
def network_blocked():
    """Refuse every outgoing connection and name lookup; count the attempts."""
    attempts: list[str] = []
    saved = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo,
             socket.gethostbyname)

    def refuse(sock, address, *args, **kwargs):
        attempts.append(repr(address))
        raise OSError(f"network blocked by bench_pii: {address!r}")

    def refuse_lookup(host, *args, **kwargs):
        attempts.append(repr(host))
        raise socket.gaierror(f"name lookup blocked by bench_pii: {host!r}")

    # Patching the module for the run is the point here; mypy forbids assigning to methods.
    socket.socket.connect = socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.getaddrinfo = socket.gethostbyname = refuse_lookup
    try:
        yield attempts
    finally:
        (socket.socket.connect, socket.socket.connect_ex,  # type: ignore[method-assign]
         socket.getaddrinfo, socket.gethostbyname) = saved


def run(dataset: Path, rounds: int) -> dict:
    cases = load_cases(dataset)
    with network_blocked() as attempts:
        started = time.perf_counter()
        scrubber = PresidioScrubber()
        load_s = time.perf_counter() - started
        found = {case["id"]: scrubber.analyze(case["text"]) for case in cases}
        scrubbed = {case["id"]: scrubber.scrub(case["text"]).text for case in cases}
        latency = latency_ms(scrubber, [c["text"] for c in cases], rounds)
    result = score(cases, found)
    result["organisations"] = organisations_kept(cases, scrubbed)
    result["by_split"] = {}
    splits = [split_of(c["id"]) for c in cases]
    for split in sorted(set(splits), key=lambda x: (x != "tuning", x)):
        subset = [c for c, s in zip(cases, splits, strict=True) if s == split]
        if subset:
            part = score(subset, found)
            result["by_split"][split] = {
                "cases": len(subset), "core_recall": part["core_recall"],
                "core_precision": part["core_precision"],
                "hard_negative_fp_rate": part["hard_negative_fp_rate"],
                "person_recall": part["per_type"]["PERSON"]["recall"]}
    result.update({
        "dataset": str(dataset), "cases": len(cases), "load_seconds": load_s,
        "scrub_latency_ms": latency, "network_attempts": attempts, "targets": TARGETS,
    })
    result["meets_targets"] = {
        "recall": result["core_recall"] >= TARGETS["recall_min"],
        "span_recall": result["span_recall"] >= TARGETS["recall_min"],
        "span_precision": result["span_precision"] >= TARGETS["precision_min"],
        "organisations_kept": result["organisations"]["lost"] == [],
        "hard_negative_fp_rate":
            result["hard_negative_fp_rate"] <= TARGETS["hard_negative_fp_rate_max"],
        "scrub_p50_ms": latency["p50"] <= TARGETS["scrub_p50_ms_max"],
    }
    return result


def markdown_report(result: dict, title: str) -> str:
    """The figures of `run` as a page for evals/reports/: per entity, with every miss and
    every false alarm written out."""
    lat, orgs = result["scrub_latency_ms"], result["organisations"]
    lines = [f"# {title}", "", f"Dataset `{result['dataset']}`: {result['cases']} texts, "
             f"{result['hard_negatives']} without PII. A found span counts when it overlaps a "
             "gold span of the same type.", "",
             "| measure | value | target |", "|---|---|---|",
             f"| span recall (all types) | {result['span_recall']:.3f} | ≥ 0.95 |",
             f"| span precision (all types) | {result['span_precision']:.3f} | ≥ 0.95 |",
             f"| texts without PII redacted | {result['hard_negative_fp_rate']:.1%} "
             f"({len(result['hard_negatives_flagged'])}/{result['hard_negatives']}) | ≤ 2% |",
             f"| gold spans redacted under any type | {result['span_redacted_any_type']:.3f} | |",
             f"| organisation names kept | {orgs['kept']}/{orgs['named']} | all |",
             f"| scrub latency p50 / p95 | {lat['p50']:.1f} / {lat['p95']:.1f} ms | ≤ 50 ms |",
             f"| network attempts | {len(result['network_attempts'])} | 0 |", "",
             "| entity | gold | found | recall | precision |", "|---|---|---|---|---|"]
    for entity_type, row in result["per_type"].items():
        if row["gold"] or row["found"]:
            fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
            lines.append(f"| {entity_type} | {row['gold']} | {row['found']} | "
                         f"{fmt(row['recall'])} | {fmt(row['precision'])} |")
    for entity_type, row in result["per_type"].items():
        for key, heading in (("misses", "missed"), ("false_positives", "false alarms")):
            if row[key]:
                lines += ["", f"## {entity_type} {heading} ({len(row[key])})", ""]
                lines += [f"- `{m['id']}` {m['text']!r}" for m in row[key]]
    if orgs["lost"]:
        lines += ["", f"## organisation names replaced ({len(orgs['lost'])})", ""]
        lines += [f"- `{m['id']}` {m['text']!r}" for m in orgs["lost"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(DEFAULT_DATASET))
    parser.add_argument("--out", default="evals/results")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the dataset")
    parser.add_argument("--report", metavar="NAME",
                        help="also write evals/reports/guards/NAME.json and NAME.md")
    args = parser.parse_args()
    result = run(Path(args.dataset), args.rounds)
    if args.report:
        reports = Path(__file__).parent / "reports" / "guards"
        reports.mkdir(parents=True, exist_ok=True)
        (reports / f"{args.report}.json").write_text(
            json.dumps(result, indent=2, ensure_ascii=False), "utf-8")
        (reports / f"{args.report}.md").write_text(
            markdown_report(result, f"PII scrubber on {Path(args.dataset).name}"), "utf-8")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_pii.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), "utf-8")
    print(f"cases {result['cases']} (hard negatives {result['hard_negatives']}), "
          f"load {result['load_seconds']:.1f} s, "
          f"network attempts {len(result['network_attempts'])}")
    for entity_type, row in result["per_type"].items():
        recall = "n/a" if row["recall"] is None else f"{row['recall']:.3f}"
        precision = "n/a" if row["precision"] is None else f"{row['precision']:.3f}"
        print(f"  {entity_type:15} gold {row['gold']:3}  recall {recall}  precision {precision}")
    print(f"span recall {result['span_recall']:.3f}  precision {result['span_precision']:.3f}  "
          f"organisations kept {result['organisations']['kept']}/"
          f"{result['organisations']['named']}")
    print(f"core recall {result['core_recall']:.3f}  precision {result['core_precision']:.3f}  "
          f"hard-negative FP rate {result['hard_negative_fp_rate']:.3f}")
    for split, row in result["by_split"].items():
        print(f"  {split:8} cases {row['cases']:3}  core recall {row['core_recall']:.3f}  "
              f"precision {row['core_precision']:.3f}  "
              f"hard-negative FP rate {row['hard_negative_fp_rate']:.3f}")
    lat = result["scrub_latency_ms"]
    print(f"scrub latency p50 {lat['p50']:.1f} ms  p95 {lat['p95']:.1f} ms  (n={lat['n']})")
    print(f"meets targets: {result['meets_targets']}  -> {out / 'bench_pii.json'}")


if __name__ == "__main__":
    main()
