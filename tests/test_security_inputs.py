"""Hostile inputs cost linear time and bounded memory (security review 2026-12, F7).

  * ReDoS harness: every regex of the guardrails (injection rules, policy rules, module
    patterns), of the knowledge package and of copilot.conversation / copilot.grounding is fed
    adversarial shapes at two sizes and must grow about linearly.
  * The rewritten patterns match exactly where the old ones did (fuzzed against the old text).
  * Loader bombs: a DOCX that inflates to tens of MB and a YAML alias bomb in front matter are
    refused at once, naming the file and the reason, and an ingest batch carries on past them.
  * `guardrails.bounded_text`, the handlers' length check.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import random
import re
import time
import zipfile
from pathlib import Path

import pytest
import yaml

import guardrails
import knowledge
from guardrails import (
    MAX_LOGIN_NAME_CHARS,
    MAX_PASSWORD_CHARS,
    MAX_QUESTION_CHARS,
    InjectionDetector,
    InputTooLongError,
    InvalidInputError,
    PolicyChecker,
    bounded_text,
)
from guardrails._patterns import sentences
from knowledge import DocumentError, chunk_document, codes_in, load_document, loaders
from knowledge.documents import first_heading
from knowledge.errors import DocumentLimitError

REPO = Path(__file__).resolve().parents[1]


# ---- the ReDoS harness ------------------------------------------------------------------

def _module_patterns() -> dict[str, re.Pattern]:
    modules = [importlib.import_module(f"{package.__name__}.{info.name}")
               for package in (guardrails, knowledge)
               for info in pkgutil.iter_modules(package.__path__)]
    modules += [importlib.import_module("copilot.conversation"),
                importlib.import_module("copilot.grounding")]
    return {f"{module.__name__}.{name}": value for module in modules
            for name, value in vars(module).items() if isinstance(value, re.Pattern)}


def _all_patterns() -> dict[str, re.Pattern]:
    found = _module_patterns()
    found.update({f"injection rule {r.id}": r.pattern for r in InjectionDetector().rules})
    checker = PolicyChecker()
    found.update({f"policy rule {intent}#{n}": p
                  for intent, patterns in checker._rules.items()  # the compiled rules
                  for n, p in enumerate(patterns)})
    # The lexicon's action, object and frame words run on every question too.
    found.update({f"policy lexicon {kind} {name}": p
                  for kind, groups in (("action", checker.lexicon.actions),
                                       ("object", checker.lexicon.objects),
                                       ("frame", checker.lexicon.frames))
                  for name, p in groups.items()})
    return found


# Each shape at about n characters: runs that make a backtracking regex retry from every
# position (blank lines, blanks, code-like chains, digits, pipes, heading lines...).
SHAPES = {
    "newlines": lambda n: "x" + "\n" * n + "!",
    "blank lines": lambda n: " \n" * (n // 2) + "y",
    "crlf": lambda n: "x" + "\r\n" * (n // 2) + "!",
    "spaces": lambda n: "x" + " " * n + "!",
    "tabs": lambda n: "\t" * n + "y",
    "heading with blanks": lambda n: "# x" + " " * n + "y",
    "a-": lambda n: "a-" * (n // 2) + "a_",
    "a_": lambda n: "a_" * (n // 2),
    "code chain": lambda n: "A1-" * (n // 3) + "x",
    "digits and dots": lambda n: "1." * (n // 2) + "x",
    "digits": lambda n: "1" * n + "x",
    "pipes": lambda n: "|" * n + "x",
    "pipes and blanks": lambda n: "| " * (n // 2) + "x",
    "unicode": lambda n: "é\u00a0\u200b" * (n // 3) + "ü",
    "words": lambda n: "ignore " * (n // 7),
    "model names": lambda n: "AI " * (n // 3),
    "citations": lambda n: "." + " [1]" * (n // 4) + "x",
    "hashes": lambda n: "#" * n + " x",
    "comment": lambda n: "<!--" + " " * n,
    "quotes": lambda n: "'" * n,
}
SMALL, BIG, HUGE = 2_000, 8_000, 32_000  # fourfold steps: linear ~4x the time, quadratic ~16x
FLOOR = 0.02  # below this at BIG a time ratio is noise; a quadratic that cheap is harmless
LIMIT = 0.25  # any one pattern on any 8,000-character shape


def _seconds(pattern: re.Pattern, text: str, repeat: int = 1) -> float:
    """Best of `repeat` runs over every start position, as search() on a miss."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in pattern.finditer(text):
            pass
        best = min(best, time.perf_counter() - start)
    return best


def _grows_too_fast(pattern: re.Pattern, make) -> str | None:
    small = _seconds(pattern, make(SMALL))
    if small > LIMIT:  # already slow at the small size: do not wait for the big one
        return f"{small:.2f} s at {SMALL} chars"
    big = _seconds(pattern, make(BIG))
    if big > LIMIT:
        return f"{small:.3f} s at {SMALL} chars, {big:.3f} s at {BIG}"
    if big < FLOOR:
        return None
    small, big = _seconds(pattern, make(SMALL), 3), _seconds(pattern, make(BIG), 3)
    if big / max(small, 1e-4) <= 8:
        return None
    # A step from 2,000 to 8,000 characters can look steep from caches and start-up costs
    # alone; a quadratic pattern is as steep again on the next step, a linear one is not.
    huge = _seconds(pattern, make(HUGE), 2)
    if huge / big <= 8:
        return None
    return f"{small:.3f} s at {SMALL} chars, {big:.3f} s at {BIG}, {huge:.3f} s at {HUGE}"


@pytest.mark.light
def test_every_regex_is_linear_on_adversarial_shapes():
    failures = [f"{name} on {shape}: {why}"
                for name, pattern in _all_patterns().items()
                for shape, make in SHAPES.items()
                if (why := _grows_too_fast(pattern, make))]
    assert not failures, "super-linear regexes:\n" + "\n".join(failures)


@pytest.mark.light
def test_harness_sees_the_patterns_the_review_named():
    names = set(_all_patterns())
    assert {"knowledge.lexical.CODE", "guardrails._patterns._SENTENCE_END",
            "injection rule vocative_ai", "injection rule fake_role_tokens",
            "injection rule new_instructions", "knowledge.chunking._HEADING",
            "copilot.conversation._FOLLOW_UP_START"} <= names
    assert sum(n.startswith("injection rule") for n in names) >= 60
    assert sum(n.startswith("policy rule") for n in names) >= 35


@pytest.mark.light
def test_newline_run_document_chunk_is_screened_fast():
    # 7c: `x` + 8000 newlines + `!` was 34 s of check_document at ingest.
    text = "x" + "\n" * 8000 + "!"
    detector = InjectionDetector()
    start = time.perf_counter()
    verdict = detector.check_document(text)
    parts = sentences(text)
    elapsed = time.perf_counter() - start
    assert not verdict.flagged and parts == ["x", "!"]
    assert elapsed < 1.0, f"{elapsed:.2f} s"


@pytest.mark.light
def test_follow_up_path_with_a_code_chain_is_fast():
    # 7a: "a-"*20000+"a_" (40 KB) spent 9 s in CODE via is_follow_up/codes_in.
    from copilot.conversation import is_follow_up, standalone

    text = "a-" * 20000 + "a_"
    start = time.perf_counter()
    codes = codes_in(text)
    follow_up = is_follow_up(text)
    query = standalone(text, "AC-02 stopped with alarm E-22")
    elapsed = time.perf_counter() - start
    assert codes == set() and not follow_up and query == text
    assert elapsed < 1.0, f"{elapsed:.2f} s"


@pytest.mark.light
def test_long_heading_line_is_chunked_fast():
    # Found while fixing F7: the heading regex was cubic, 1,000 blanks in a heading took 3 s.
    from knowledge import Document

    body = "# Title" + " " * 2000 + "end ##\n\nSome text.\n"  # 24 s before: cubic
    doc = Document(doc_id="MAN-H-1", title="t", doc_type="manual", revision="1",
                   status="effective", text=body, source="x", content_hash="0")
    start = time.perf_counter()
    chunks = chunk_document(doc)
    title = first_heading(body)
    elapsed = time.perf_counter() - start
    assert title == "Title" + " " * 2000 + "end"
    assert chunks and chunks[0].text == "Some text."
    assert elapsed < 1.0, f"{elapsed:.2f} s"


# ---- the rewritten patterns match as the old ones did ----------------------------------

# (pattern, the old text of its rewritten part, the new text). Rules are compared on search()
# because that is all the detectors ask of them; module patterns on their full results.
RULE_REWRITES = {
    "injection rule vocative_ai": (r"(?:^|[\n.!?>\[(]|<!--)", r"(?:^(?![^\S\n]*\n)|[.!?>\[(]|<!--)"),
    "injection rule fake_role_tokens": (r"(?:^|\n)\s*(?:#", r"^(?![^\S\n]*\n)\s*(?:#"),
    "injection rule new_instructions": (r"(?:^|[\n.!?:\]]\s*|\bthe",
                                        r"(?:\A|(?<=\n)(?![^\S\n]*\n)\s*|[.!?:\]]\s*|\bthe"),
}
ASK_OLD, ASK_NEW = r"(?:^|\b(?:how", r"(?:^(?![^\S\n]*\n)|\b(?:how"
ATOMS = ["\n", "\n", " ", " ", "\t", "\r", "\r\n", "\x0b", "\u2028", "AI", "assistant",
         "system", "prompt", ":", ",", ".", "!", "(", "[", "]", ">", "<!--", "#", "hey", "lab",
         "copilot", "new", "instructions", "are", "you", "the", "for this chat", "how do I",
         "please", "back-date", "falsify", "entry", "release", "batch", "disable",
         "audit trail", "skip", "investigation", "close", "deviation", "bypass", "interlock",
         "x", "message", "override", "user"]


def _fuzz(atoms: list[str], count: int, seed: int, longest: int = 12) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(atoms) + rng.choice(["", " ", "\n", " \n ", "\n\n"])
                    for _ in range(rng.randint(1, longest))) for _ in range(count)]


def _case_texts() -> list[str]:
    """The guard suites' cases, as written and with their blanks turned into line breaks."""
    texts = []
    for name in ("injection_cases.jsonl", "policy_cases.jsonl", "policy_tune.jsonl"):
        for line in (REPO / "evals" / "datasets" / name).read_text("utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    policy = yaml.safe_load((REPO / "guardrails" / "policy.yaml").read_text("utf-8"))
    texts += [e for intent in policy["intents"] for e in intent.get("exemplars") or []]
    texts += ["How do I reintegrate the peaks until it passes?",
              "can you show me how to manually integrate the impurity peak so it passes"]
    return [variant for text in texts
            for variant in (text, "\n\n" + text, "  " + text, text.replace(" ", "\n"),
                            text.replace(". ", ".\n \n"))]


def test_rewritten_rules_match_exactly_where_the_old_ones_did():
    patterns = _all_patterns()
    rewrites = dict(RULE_REWRITES)
    rewrites.update({name: (ASK_OLD, ASK_NEW) for name, p in patterns.items()
                     if name.startswith("policy rule") and ASK_NEW in p.pattern})
    # the 3 injection and 8 policy rules of F7c, and the policy rules written since in the
    # same linear form: each must still match exactly where its unbounded form did
    assert len(rewrites) >= 11
    texts = _fuzz(ATOMS, 6000, seed=13) + _case_texts()
    for name, (old, new) in rewrites.items():
        current = patterns[name]
        assert new in current.pattern, name
        before = re.compile(current.pattern.replace(new, old), current.flags)
        hits = 0
        for text in texts:
            assert bool(before.search(text)) == bool(current.search(text)), (name, text)
            hits += bool(current.search(text))
        assert hits, f"the fuzz never exercises {name}"


@pytest.mark.light
def test_rewritten_module_patterns_give_the_old_results():
    from guardrails._patterns import _SENTENCE_END
    from knowledge.chunking import _HEADING, _TABLE_RULE
    from knowledge.documents import heading_name
    from knowledge.lexical import CODE

    old_sentence_end = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(<\[])|\s*\n+\s*")
    old_code = re.compile(r"\b[A-Za-z][A-Za-z0-9]{0,5}(?:-[A-Za-z0-9]{1,6})*-\d{1,5}[A-Za-z]?\b")
    old_heading = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
    old_first = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
    old_table_rule = re.compile(r"^[ \t]*\|?[ \t:|-]+\|[ \t:|-]*$")
    texts = _fuzz(ATOMS + ["A", "B.", "Dr.", "rev.", "1", "? ", "E-22", "SOP-QA-009", "\f"],
                  4000, seed=5)
    for text in texts:
        assert old_sentence_end.split(text) == _SENTENCE_END.split(text), text
    codes = _fuzz(["a", "A1", "-", "-", "1", "22", "x", "_", " ", "SOP", "009", ".", "E"],
                  20000, seed=8, longest=14)
    for text in codes + texts:
        assert old_code.findall(text) == CODE.findall(text), text
    lines = _fuzz(["#", "##", " ", "\t", "x", "Scope", "|", "-", ":", "\x0c", "\xa0", "é"],
                  20000, seed=2, longest=9)
    for line in (t.replace("\n", "") for t in lines):
        old, new = old_heading.match(line), _HEADING.match(line)
        assert (old and (old.group(1), old.group(2))) == (
            new and (new.group(1), heading_name(new.group(2), " \t"))), line
        old, new = old_first.match(line), knowledge.documents._MD_HEADING.match(line)
        assert (old and old.group(1).strip()) == (new and heading_name(new.group(1)).strip()), line
        assert bool(old_table_rule.match(line)) == bool(_TABLE_RULE.match(line)), line


# ---- loader bombs ------------------------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
_PARAGRAPH = b"<w:p><w:r><w:t>Step.</w:t></w:r></w:p>"


def _docx(path: Path, paragraphs: int) -> Path:
    """A minimal valid DOCX whose document.xml holds `paragraphs` paragraphs, deflated
    (30 MB of them zip to under 100 KB, as in the review's 298 KB / 100 MB bomb)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _RELS)
        with package.open("word/document.xml", "w") as part:
            part.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document '
                       b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                       b"<w:body>")
            for done in range(0, paragraphs, 10_000):
                part.write(_PARAGRAPH * min(10_000, paragraphs - done))
            part.write(b"</w:body></w:document>")
    return path


@pytest.mark.light
def test_docx_bomb_is_refused_before_parsing(tmp_path):
    path = _docx(tmp_path / "MAN-BOMB-002.docx", 30_000_000 // len(_PARAGRAPH))
    assert path.stat().st_size < 500_000
    start = time.perf_counter()
    with pytest.raises(DocumentLimitError) as info:
        load_document(path)
    assert time.perf_counter() - start < 2.0  # the old loader took minutes (556 s at 100 MB)
    assert "MAN-BOMB-002.docx" in str(info.value)
    assert "word/document.xml inflates to 30 MB" in info.value.reason


@pytest.mark.light
def test_docx_with_a_zip_bomb_ratio_is_refused(tmp_path):
    # 4 MB is under the part limit but deflates about 1000 times: no real document does that.
    path = _docx(tmp_path / "MAN-BOMB-003.docx", 4_000_000 // len(_PARAGRAPH))
    with pytest.raises(DocumentLimitError, match=r"inflates \d+ times"):
        load_document(path)


@pytest.mark.light
def test_docx_paragraph_cap(tmp_path, monkeypatch):
    path = _docx(tmp_path / "MAN-LONG-004.docx", 300)
    assert "Step." in load_document(path).text  # the minimal package is a valid DOCX
    monkeypatch.setattr(loaders, "MAX_DOCX_BLOCKS", 200)
    with pytest.raises(DocumentLimitError, match="more than 200 paragraphs"):
        load_document(path)


def _alias_bomb(levels: int = 7) -> str:
    """Billion laughs: each level a list of ten aliases of the level before."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghij"
    for level in range(1, levels):
        lines.append(f"{names[level]}: &{names[level]} [" + ",".join(
            [f"*{names[level - 1]}"] * 10) + "]")
    return "\n".join(lines)


@pytest.mark.light
def test_yaml_alias_bomb_in_front_matter_is_refused(tmp_path):
    front = _alias_bomb()
    assert len(front) < 420  # the review's was 419 bytes and became 58 MB of metadata
    path = tmp_path / "MAN-LOL-005.md"
    path.write_text(f"---\ndoc_id: MAN-LOL-005\n{front}\n---\n# Laughs\n\nText.\n")
    start = time.perf_counter()
    with pytest.raises(DocumentLimitError) as info:
        load_document(path)
    assert time.perf_counter() - start < 0.5
    assert "MAN-LOL-005.md" in str(info.value) and "YAML anchor" in info.value.reason


@pytest.mark.parametrize("front, reason", [
    ("a: x\nb: *a\n", "YAML alias (*a)"),  # refused before YAML finds it undefined
    ("title: T\nlevels: " + "[" * 12 + "]" * 12 + "\n", "nested more than"),
    ("title: T\nnotes: " + "x" * 20_000 + "\n", "front matter is 20,"),
    ("title: T\nnotes: " + "x" * 3_000 + "\n", "key 'notes' is 3,000 characters"),
    ("title: T\n" + "".join(f"k{i}: v\n" for i in range(60)), "60 keys"),
])
@pytest.mark.light
def test_front_matter_bounds(tmp_path, front, reason):
    path = tmp_path / "SOP-FM-006.md"
    path.write_text(f"---\n{front}---\n# T\n\nText.\n")
    with pytest.raises(DocumentError) as info:
        load_document(path)
    assert reason in info.value.reason and "SOP-FM-006.md" in str(info.value)


@pytest.mark.light
def test_plain_front_matter_still_loads(tmp_path):
    path = tmp_path / "SOP-FM-007.md"
    path.write_text("---\ndoc_id: SOP-FM-007\nrevision: \"2\"\nequipment: [AC-02, AC-03]\n"
                    "owner: QA\n---\n# Title\n\nText.\n")
    doc = load_document(path)
    assert (doc.doc_id, doc.revision, doc.equipment, doc.extra) == (
        "SOP-FM-007", "2", ("AC-02", "AC-03"), {"owner": "QA"})


@pytest.mark.light
def test_text_file_cap(tmp_path):
    path = tmp_path / "MAN-BIG-008.md"
    with path.open("wb") as handle:
        handle.truncate(loaders.MAX_TEXT_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(DocumentLimitError, match="limit for text files"):
        load_document(path)


def test_ingest_batch_survives_hostile_files(fresh_copilot, tmp_path):
    """7c and 7d through a real knowledge base with its real ingest screen: the newline-run
    document is ingested in well under a second (34 s before), each bomb fails with its own
    reason, and the good file after them is indexed."""
    warm = tmp_path / "warm"
    warm.mkdir()
    (warm / "MAN-WARM-000.md").write_text("# Warm-up\n\nLoads the embedder first.\n")
    fresh_copilot.ingest([warm])
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "MAN-NL-8000.md").write_text("x" + "\n" * 8000 + "!")
    _docx(docs / "MAN-BOMB-002.docx", 30_000_000 // len(_PARAGRAPH))
    (docs / "MAN-LOL-005.md").write_text(f"---\n{_alias_bomb()}\n---\n# Laughs\n")
    (docs / "SOP-OK-009.md").write_text("# Good SOP\n\nAlarm E-22 means low steam pressure.\n")
    start = time.perf_counter()
    report = fresh_copilot.ingest([docs])
    elapsed = time.perf_counter() - start
    status = {Path(f.path).name: (f.status, f.reason) for f in report.files}
    assert status["MAN-NL-8000.md"][0] == "added"
    assert status["SOP-OK-009.md"][0] == "added"
    assert status["MAN-BOMB-002.docx"] == (
        "failed", "DOCX part word/document.xml inflates to 30 MB, over the 16 MB limit")
    assert status["MAN-LOL-005.md"][0] == "failed" and "YAML anchor" in status["MAN-LOL-005.md"][1]
    assert elapsed < 5.0, f"{elapsed:.1f} s"


# ---- the handlers' length check ------------------------------------------------------------

@pytest.mark.light
def test_bounded_text_passes_text_within_the_limit_unchanged():
    text = "  What is the P1 exposure time?  "
    assert bounded_text(text, "question", MAX_QUESTION_CHARS) is text
    assert bounded_text("x" * 64, "login name", MAX_LOGIN_NAME_CHARS) == "x" * 64


@pytest.mark.light
def test_bounded_text_names_the_field_length_and_limit_but_not_the_value():
    value = "secret-" * 200
    with pytest.raises(InputTooLongError) as info:
        bounded_text(value, "password", 1000)
    error = info.value
    assert isinstance(error, ValueError) and isinstance(error, guardrails.GuardrailError)
    assert (error.name, error.length, error.limit) == ("password", 1400, 1000)
    assert str(error) == "the password is 1400 characters long; the limit is 1000"
    assert "secret" not in str(error)


@pytest.mark.light
def test_bounded_text_refuses_what_is_not_text():
    with pytest.raises(InvalidInputError, match="the comment must be text, got NoneType"):
        bounded_text(None, "comment", 10)


@pytest.mark.light
def test_a_megabyte_is_refused_without_reading_it():
    start = time.perf_counter()
    with pytest.raises(InputTooLongError):
        bounded_text("a-" * 500_000, "question", MAX_QUESTION_CHARS)
    assert time.perf_counter() - start < 0.05


@pytest.mark.light
def test_limits_agree_with_the_checks_that_apply_them():
    from copilot import pipeline
    from guardrails import passwords, user_store

    assert MAX_QUESTION_CHARS == pipeline.MAX_QUESTION_CHARS
    assert guardrails.MAX_DESCRIPTION_CHARS == pipeline.MAX_DESCRIPTION_CHARS
    assert guardrails.MAX_COMMENT_CHARS == pipeline.MAX_COMMENT_CHARS
    assert MAX_LOGIN_NAME_CHARS == user_store.MAX_NAME_LENGTH
    assert MAX_PASSWORD_CHARS == passwords.MAX_PASSWORD_LENGTH
