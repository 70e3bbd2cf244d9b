"""Writes pii_tune4.jsonl from pii_tune4_src.txt: offsets computed from the [TYPE|value]
markup, so no offset is typed by hand. Run: python evals/datasets/make_pii_tune4.py"""

import json
import re
from pathlib import Path

HERE = Path(__file__).parent
TYPES = {"P": "PERSON", "E": "EMPLOYEE_ID", "T": "PHONE_NUMBER", "M": "EMAIL_ADDRESS",
         "A": "STREET_ADDRESS"}
MARK = re.compile(r"\[([PETMAO])\|([^\]]+)\]")


def parse(line: str) -> dict:
    line = line.replace("\\n", "\n")
    text, spans, keep, pos = "", [], [], 0
    for m in MARK.finditer(line):
        text += line[pos:m.start()]
        kind, value = m.groups()
        if kind == "O":
            keep.append(value)
        else:
            spans.append({"start": len(text), "end": len(text) + len(value),
                          "type": TYPES[kind]})
        text += value
        pos = m.end()
    text += line[pos:]
    assert "[" not in text or "|" not in text, line
    case = {"text": text, "spans": spans}
    if keep:
        case["keep"] = keep
    return case


def main() -> None:
    cases: list[dict] = []
    seen: set[str] = set()
    for line in (HERE / "pii_tune4_src.txt").read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        case = parse(line)
        assert case["text"] not in seen, case["text"]
        seen.add(case["text"])
        kind = "pos" if case["spans"] else "neg"
        case = {"id": f"tune4-{kind}-{len(cases) + 1:03d}", **case}
        cases.append(case)
    with (HERE / "pii_tune4.jsonl").open("w", encoding="utf-8") as out:
        for case in cases:
            out.write(json.dumps(case, ensure_ascii=False) + "\n")
    negatives = sum(not c["spans"] for c in cases)
    print(f"{len(cases)} texts, {negatives} without PII")


if __name__ == "__main__":
    main()
