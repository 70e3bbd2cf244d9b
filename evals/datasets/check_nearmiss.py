"""Validate the near-miss evaluation sets (see NEARMISS.md).

    python evals/datasets/check_nearmiss.py [--demo DIR] [--corpus DIR]

Checks, for nearmiss_demo_fresh.jsonl, nearmiss_corpus_fresh.jsonl and nearmiss_tune.jsonl:
  * every line is a JSON object of the right shape (unanswerable: answerable=false,
    near_miss_doc, asks_for, why; answerable: answer, doc, evidence, key_facts, asks_for);
  * ids are unique across the three files, questions are not repeated across files or
    copied from demo_qa.jsonl / shared_corpus_qa.jsonl;
  * `asks_for` is one of the agreed kinds;
  * `doc` / `near_miss_doc` resolves to a document of the case's collection (demo doc_id or
    file name; corpus file name); for a demo doc_id shared by revisions the effective one is used;
  * the case's role (default operator) may see that document (front-matter `access`);
  * `evidence` is a substring of the gold document after whitespace normalisation
    (runs of whitespace collapsed to one space; case-sensitive), and every key fact occurs
    in the document (whitespace-normalised, case-insensitive);
  * the corpus fresh set spreads over at least 12 corpus documents.
Prints counts per set, per answerable/unanswerable and per kind. Exit code 1 on any error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
KINDS = {"value", "percentage", "interval", "classification", "criterion", "role", "date",
         "count", "yes_no", "code_meaning", "steps"}
SETS = {"nearmiss_demo_fresh.jsonl": "demo", "nearmiss_corpus_fresh.jsonl": "shared_corpus",
        "nearmiss_demo_fresh2.jsonl": "demo", "nearmiss_corpus_fresh2.jsonl": "shared_corpus",
        "nearmiss_demo_fresh3.jsonl": "demo", "nearmiss_corpus_fresh3.jsonl": "shared_corpus",
        "nearmiss_demo_fresh4.jsonl": "demo", "nearmiss_corpus_fresh4.jsonl": "shared_corpus",
        "nearmiss_demo_fresh5.jsonl": "demo", "nearmiss_corpus_fresh5.jsonl": "shared_corpus",
        # the tune sets mix both collections; each line says its own
        "nearmiss_tune.jsonl": None, "nearmiss_tune2.jsonl": None, "nearmiss_tune3.jsonl": None}
ROLES = {"operator", "supervisor", "qa", "trainer", "admin"}


def ws(text: str) -> str:
    return " ".join(text.split())


def front_matter(text: str) -> dict[str, str]:
    meta: dict[str, str] = {}
    if text.startswith("---"):
        end = text.find("\n---", 3)
        for line in text[3:end].splitlines():
            if ":" in line:
                key, _, value = line.partition(":")
                meta[key.strip()] = value.split("#")[0].strip().strip('"')
    return meta


class Collection:
    def __init__(self, name: str, root: Path, pattern: str):
        self.name = name
        self.docs: dict[str, list[tuple[Path, dict[str, str], str]]] = {}
        for path in sorted(root.glob(pattern)):
            if path.name in {"README.md", "SOURCES.md"}:
                continue
            text = path.read_text("utf-8")
            meta = front_matter(text)
            for key in {path.name.lower(), path.stem.lower(), meta.get("doc_id", "").lower()} - {""}:
                self.docs.setdefault(key, []).append((path, meta, text))

    def resolve(self, ref: str) -> tuple[Path, dict[str, str], str] | None:
        found = self.docs.get(ref.lower())
        if not found:
            return None
        if len(found) > 1:  # revisions share a doc_id: the effective one is the gold doc
            effective = [f for f in found if f[1].get("status") == "effective"]
            found = effective or found
        return found[0]


def allowed(meta: dict[str, str], role: str) -> bool:
    access = meta.get("access")
    if not access:
        return True  # corpus files carry no access list: everyone may read them
    return role in {a.strip() for a in access.strip("[]").split(",")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", type=Path, default=REPO / "copilot" / "demo_plant")
    ap.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus"))
    args = ap.parse_args()
    collections = {"demo": Collection("demo", args.demo, "**/*.md"),
                   "shared_corpus": Collection("shared_corpus", args.corpus, "*.md")}
    errors: list[str] = []
    warnings: list[str] = []
    seen_ids: dict[str, str] = {}
    seen_q: dict[str, str] = {}
    for old in ("demo_qa.jsonl", "shared_corpus_qa.jsonl"):
        p = HERE / old
        if p.exists():
            for line in p.read_text("utf-8").splitlines():
                if line.strip():
                    seen_q.setdefault(ws(json.loads(line)["question"]).lower(), old)

    for name, default_coll in SETS.items():
        path = HERE / name
        if not path.exists():
            errors.append(f"{name}: missing")
            continue
        kinds: Counter[tuple[str, str]] = Counter()
        docs_used: set[str] = set()
        n_un = n_an = 0
        for no, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            where = f"{name}:{no}"
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{where}: invalid JSON ({exc.msg})")
                continue
            if not isinstance(case, dict):
                errors.append(f"{where}: not an object")
                continue
            cid: Any = case.get("id")
            where = f"{name}:{no} [{cid}]"
            for key in ("id", "question", "asks_for"):
                if not isinstance(case.get(key), str) or not case[key].strip():
                    errors.append(f"{where}: '{key}' missing or empty")
            if cid in seen_ids:
                errors.append(f"{where}: duplicate id (also in {seen_ids[cid]})")
            seen_ids[cid] = name
            q = ws(case.get("question", "")).lower()
            if q in seen_q:
                errors.append(f"{where}: question repeated (also in {seen_q[q]})")
            seen_q[q] = name
            kind: Any = case.get("asks_for")
            if kind not in KINDS:
                errors.append(f"{where}: asks_for {kind!r} not one of {sorted(KINDS)}")
            role = case.get("role", "operator")
            if role not in ROLES:
                errors.append(f"{where}: unknown role {role!r}")
            coll_name = case.get("collection", default_coll)
            if default_coll and coll_name != default_coll:
                errors.append(f"{where}: collection {coll_name!r}, expected {default_coll!r}")
            coll = collections.get(coll_name or "")
            if coll is None:
                errors.append(f"{where}: unknown collection {coll_name!r}")
                continue
            unanswerable = case.get("answerable") is False
            if unanswerable:
                n_un += 1
                kinds[("unanswerable", kind)] += 1
                for key in ("near_miss_doc", "why"):
                    if not isinstance(case.get(key), str) or not case[key].strip():
                        errors.append(f"{where}: '{key}' missing or empty")
                for key in ("answer", "evidence", "doc", "key_facts"):
                    if key in case:
                        errors.append(f"{where}: unanswerable case must not carry '{key}'")
                ref = case.get("near_miss_doc", "")
            else:
                n_an += 1
                kinds[("answerable", kind)] += 1
                if "answerable" in case and case["answerable"] is not True:
                    errors.append(f"{where}: 'answerable' must be true or absent")
                for key in ("answer", "doc", "evidence"):
                    if not isinstance(case.get(key), str) or not case[key].strip():
                        errors.append(f"{where}: '{key}' missing or empty")
                facts: Any = case.get("key_facts")
                if not isinstance(facts, list) or not facts \
                        or not all(isinstance(f, str) and f for f in facts):
                    errors.append(f"{where}: 'key_facts' must be a non-empty list of strings")
                    facts = []
                ref = case.get("doc", "")
            hit = coll.resolve(ref) if ref else None
            if hit is None:
                errors.append(f"{where}: document {ref!r} not found in {coll.name}")
                continue
            doc_path, meta, text = hit
            docs_used.add(doc_path.name)
            if not allowed(meta, role) and not case.get("expect_restricted"):
                errors.append(f"{where}: role {role!r} may not see {doc_path.name} "
                              f"(access {meta.get('access')}); set \"role\"")
            if not unanswerable:
                if ws(case.get("evidence", "")) not in ws(text):
                    errors.append(f"{where}: evidence not found in {doc_path.name}")
                low = ws(text).lower()
                for fact in facts:
                    if ws(fact).lower() not in low:
                        warnings.append(f"{where}: key fact {fact!r} not found verbatim in {doc_path.name}")
        print(f"\n{name}: {n_un} unanswerable, {n_an} answerable, {len(docs_used)} documents")
        for group in ("unanswerable", "answerable"):
            row = ", ".join(f"{k} {v}" for (g, k), v in sorted(kinds.items()) if g == group)
            print(f"  {group:13s} {row}")
        if name == "nearmiss_corpus_fresh.jsonl" and len(docs_used) < 12:
            errors.append(f"{name}: only {len(docs_used)} corpus documents used (need >= 12)")

    for w in warnings:
        print("warning:", w)
    for e in errors:
        print("ERROR:", e)
    print(f"\n{len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
