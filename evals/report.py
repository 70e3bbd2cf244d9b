"""report.md and report.html (with matplotlib plots) from a results dict."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path


def _plots(results: dict) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    images: dict[str, bytes] = {}
    modes = results.get("retrieval_modes", {})
    if modes:
        names = [m for m in ("hybrid", "bm25", "dense", "naive") if m in modes]
        metrics = ["recall@1", "recall@5", "mrr", "ndcg@10"]
        fig, ax = plt.subplots(figsize=(7, 3.5))
        width = 0.8 / len(names)
        for i, name in enumerate(names):
            ax.bar([j + i * width for j in range(len(metrics))],
                   [modes[name].get(m, 0) for m in metrics], width, label=name)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(metrics))], metrics)
        ax.set_ylim(0, 1)
        ax.set_title("Retrieval quality by method")
        ax.legend(loc="lower right", fontsize=8)
        images["retrieval.png"] = _png(fig, plt)
    items = [r for r in results.get("items", []) if "seconds" in r]
    if items:
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.hist([r["seconds"] for r in items], bins=20)
        ax.set_xlabel("seconds per answer")
        ax.set_title("Answer latency")
        images["latency.png"] = _png(fig, plt)
        counts = results.get("answers", {}).get("status_counts", {})
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.bar(list(counts), list(counts.values()), color=["tab:green", "tab:orange", "tab:red"])
        ax.set_title("Answer status")
        images["status.png"] = _png(fig, plt)
    return images


def _png(fig, plt) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# (metric, path in the copilot's results, path in the naive column or None where the naive
# RAG has no such figure): the side-by-side table when `naive_rag` is in the results.
COMPARISON: list[tuple[str, tuple[str, ...], tuple[str, ...] | None]] = [
    ("unanswerable questions declined", ("answers", "decline_accuracy"), ("decline_accuracy",)),
    ("answerable questions declined", ("answers", "false_decline_rate"),
     ("false_decline_rate",)),
    ("the case's evidence shown", ("answers", "evidence_shown_rate"), ("evidence_shown_rate",)),
    ("key-fact recall", ("answers", "key_fact_recall"), ("key_fact_recall",)),
    ("gold document cited (naive: among its 4 chunks)", ("answers", "gold_cited_rate"),
     ("gold_retrieved_rate",)),
    ("first citation from the gold document", ("answers", "first_citation_gold_rate"), None),
    ("citation precision", ("answers", "citation_precision"), None),
    ("model sentences shown", ("answers", "shown_model_sentences"),
     ("shown_model_sentences",)),
    ("of those, with a number, unit or code the sources do not state",
     ("answers", "unsupported_number_rate"), ("unsupported_number_rate",)),
    ("first shown content p50 (s)", ("latency", "ttft_p50"), ("answer_p50",)),
    ("evidence shown p95 (s) (naive: its reply)", ("latency", "evidence_p95"), ("answer_p95",)),
    ("answer complete p50 (s)", ("latency", "answer_p50"), ("answer_p50",)),
]


def _at(node, path: tuple[str, ...]):
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def comparison_markdown(results: dict) -> list[str]:
    """Copilot and naive RAG (same model, same cases) side by side; empty without a column."""
    naive = results.get("naive_rag")
    if not naive:
        return []
    lines = ["", "## Copilot vs naive RAG (same model)", "",
             f"Naive RAG: {naive.get('n', '?')} cases of `{naive.get('dataset', '?')}` "
             f"(access-control cases left out), model `{naive.get('model', '?')}`; "
             "it cites nothing, so citation figures have no naive value."
             + (f" Load average while it ran (1/5/15 min): before "
                f"{naive['machine'].get('load_average_before_1_5_15min')}, after "
                f"{naive['machine'].get('load_average_after_1_5_15min')}."
                if naive.get("machine") else ""), "",
             "| metric | copilot | naive RAG |", "| --- | --- | --- |"]
    for label, ours, theirs in COMPARISON:
        mine = _at(results, ours)
        other = _at(naive, theirs) if theirs else None
        if mine is None and other is None:
            continue
        lines.append(f"| {label} | {'—' if mine is None else _fmt(mine)} | "
                     f"{'—' if other is None else _fmt(other)} |")
    return lines


def markdown(results: dict, image_names: list[str]) -> str:
    lines = ["# Evaluation report", "", f"Corpus: `{results['corpus']}`  ",
             f"Dataset: `{results['dataset']}` ({results['cases']} cases)", ""]
    if results.get("threshold_failures"):
        lines += ["## Threshold failures", ""] + [f"- {f}" for f in results["threshold_failures"]]
        lines.append("")
    modes = results.get("retrieval_modes", {})
    lines += ["## Retrieval", "", "| method | recall@1 | recall@5 | MRR | nDCG@10 |",
              "| --- | --- | --- | --- | --- |"]
    for name, m in modes.items():
        lines.append(f"| {name} | {_fmt(m['recall@1'])} | {_fmt(m['recall@5'])} | "
                     f"{_fmt(m['mrr'])} | {_fmt(m['ndcg@10'])} |")
    for section in ("answers", "access", "latency"):
        if section in results:
            lines += ["", f"## {section.title()}", "", "| metric | value |", "| --- | --- |"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in results[section].items()]
    lines += comparison_markdown(results)
    if results.get("regressions"):
        lines += ["", "## Compared with baseline", "", "| metric | before | now | |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| {r['metric']} | {_fmt(r['before'])} | {_fmt(r['now'])} | "
                  f"{'REGRESSION' if r['regression'] else 'ok'} |" for r in results["regressions"]]
    lines += [""] + [f"![{name}]({name})" for name in image_names]
    if results.get("items"):
        lines += ["", "## Items", "", "| id | status | cited | gold | answer |",
                  "| --- | --- | --- | --- | --- |"]
        for r in results["items"]:
            answer = " ".join(str(r.get("answer", r.get("error", ""))).split())[:140]
            lines.append(f"| {r['id']} | {r.get('status', 'error')} | "
                         f"{', '.join(r.get('cited', []))} | {r.get('gold', '')} | "
                         f"{answer.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def write_reports(results: dict, out: Path) -> None:
    images = _plots(results)
    for name, data in images.items():
        (out / name).write_bytes(data)
    text = markdown(results, list(images))
    (out / "report.md").write_text(text, encoding="utf-8")
    body = []
    for line in text.splitlines():
        if line.startswith("![") and (name := line[line.index("(") + 1:-1]) in images:
            encoded = base64.b64encode(images[name]).decode()
            body.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{encoded}">')
        else:
            body.append(f"<pre>{html.escape(line)}</pre>" if line.startswith("|")
                        else f"<p>{html.escape(line)}</p>")
    (out / "report.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>Evaluation report</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}pre{margin:0}</style>"
        + "\n".join(body), encoding="utf-8")
