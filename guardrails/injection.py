"""Prompt-injection detection for questions and for instructions hidden in documents.

Two signals, both kept as data in `injection.yaml`:
  - rules: regular expressions for what an attacker wants (the model's instructions dropped,
    a new role, its prompt revealed, the user kept in the dark), each with a weight;
  - embedding similarity to short attack exemplars, counted only when it beats the similarity
    to ordinary plant phrasing ("ignore the old revision") by a margin.
They combine as a noisy-or into a score in [0, 1]; a text is flagged at the file's threshold.

Rules also run on de-obfuscated variants of the text (`_variants`): leetspeak mapped back to
letters, s p a c e d letters joined, quoted fragments concatenated (payload splitting) and
base64 runs decoded. A plain question has no such variant and costs nothing extra.

The embedding function is injected (`embed(texts) -> unit-length rows`), so this leaf package
needs no model of its own; without one, the rules alone decide.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from ._patterns import compile_patterns, load_yaml, sentences, string_list
from .errors import RuleFileError

Embed = Callable[[list[str]], np.ndarray]
DEFAULT_RULES = Path(__file__).with_name("injection.yaml")
DEFAULT_CLASSIFIER = Path(__file__).with_name("injection_classifier.json")
# Embedded at load and compared with the vector stored by the training script: a different
# embedding model gives another vector, and the classifier's weights would mean nothing.
# (Loading is lazy, at the first check, because the embedder is only called then.)
CLASSIFIER_PROBE = "Check the door seal of autoclave AC-02 before the cycle starts."

# Sentences in documents worth an embedding look even though no rule fired: they name a model
# or its prompt. Everything else skips the embedder at ingest (measured on the demo plant:
# embedding every sentence with a weaker cue such as "you" or "instructions" made ingest
# several times slower for no gain on the evaluation set).
_DOCUMENT_CUES = re.compile(
    r"\b(?:AI|LLMs?|GPT|chat-?bots?|copilot|language models?|assistants?|prompts?)\b",
    re.IGNORECASE)

# De-obfuscation (see `_variants`). Zero-width, soft-hyphen, bidi and other format characters
# (Unicode category Cf) and variation selectors split words invisibly.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
                        "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f"
                        "\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f]")
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]+")
# Unicode "tag" characters (U+E0020-E007E) mirror ASCII invisibly ("ASCII smuggling"): the
# hidden text is read back as a variant of its own.
_TAGS = re.compile("[\U000e0020-\U000e007e]+")
# Cyrillic and Greek letters drawn like Latin ones ("Іgnоrе" with Cyrillic І, о, е). They are
# mapped to Latin only in a text where some word mixes the scripts, so Russian or Greek text
# stays as it is.
_CONFUSABLE = str.maketrans(
    "аеорсухіјѕһԁԛԝкмтвнАВЕКМНОРСТХІЈЅԜαεοριυνκτχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijshdqwkmtbhABEKMHOPCTXIJSWaeopiuvktxABEZHIKMNOPTYX")
_CONFUSABLE_CHARS = "".join(sorted({chr(k) for k in _CONFUSABLE}))
_MIXED_WORD = re.compile(
    f"(?<![^\\W\\d_])(?=[^\\W\\d_]*[A-Za-z])(?=[^\\W\\d_]*[{_CONFUSABLE_CHARS}])[^\\W\\d_]+")
# Three or more single letters joined by one and the same space or mark ("a l l",
# "i.g.n.o.r.e", "p-r-e-v"); a different gap between words survives ("I g n o r e  a l l" ->
# "Ignore all", "i-g-n-o-r-e t-h-e" -> "ignore the").
_SPACED = re.compile(r"\b[A-Za-z]([ .\-_*])(?:[A-Za-z]\1)+[A-Za-z]\b")
# A word with digits or @/$ between letters ("1gn0re", "pr3vious", "fr33ly"); ids and units
# ("KT50", "P1", "10mL", "5min") have them only at an end and stay as they are.
_LEET_WORD = re.compile(r"(?<![\w@$])[\w@$]*[A-Za-z][0-9@$]+[A-Za-z][\w@$]*")
_LEET_ANY = re.compile(r"(?<![\w@$])(?=[\w@$]*[A-Za-z])[\w@$]*[0-9@$][\w@$]*")
# A quoted fragment standing on its own (not the apostrophe of "don't").
_QUOTED = re.compile(r"""(?:^|(?<=[\s=(+:,;]))['"‘“]([^'"’”\n]{1,80})['"’”]"""
                     r"""(?=[\s;,.)+:!?]|$)""")
_REVERSED_CUE = re.compile(r"\b(?:backwards?|reversed?|in\s+reverse|right[\s-]+to[\s-]+left|mirror(?:ed)?"
                           r"|rückwärts|umgekehrt|à\s+l['’]envers|al\s+revés|invertit[oa]|al\s+contrario"
                           r"|achterstevoren|de\s+trás\s+para\s+a\s+frente)\b", re.IGNORECASE)
_ROT13_CUE = re.compile(r"\brot[\s-]?13\b|\bcaesar\b", re.IGNORECASE)
_MIN_CLASSIFIED_WORDS = 4
CLASSIFIER_FLOOR = 0.15
# Chat shorthand read as words (case-sensitive: "U-bend" and "UR" stay): "u are" -> "you are"
_SHORTHAND = re.compile(r"\b(?:u|ur|r|pls|plz|thx)\b")
_SHORTHAND_WORDS = {"u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please",
                    "thx": "thanks"}
_MACRO_REF = re.compile(r"\{(\w+)\}")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
# Round 6 (issue 16): more obfuscations read back, each only when its shape is there.
# Hex bytes, run together or spaced ("69 67 6e ...", "\x69\x67", "0x69 0x67"), eight or more.
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z\\])(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[ :,]?){8,}")
# OCR that splits words at random ("f org et yo ur ru les"): neighbouring letter runs are joined
# when together they make one of the words attacks are built of (see `_rejoin_fragments`).
_FRAGMENT_WORDS = frozenset("""
    ignore ignoring disregard forget override bypass instructions instruction previous prior
    above earlier system prompt prompts hidden secret reveal output print display repeat rules
    guidelines guardrails restrictions policy policies safety filters configuration password
    passwords administrator admin developer unrestricted pretend jailbreak disable your all and
    everything initial original directives programming settings instead assistant copilot
    release approve""".split())
# A join can only start at a token that begins one of those words (the cheap test first).
_FRAGMENT_PREFIXES = frozenset(w[:n] for w in _FRAGMENT_WORDS for n in range(1, len(w)))
# Fragments given in order under ordinal labels ("First word: Print. Second: your."), read
# as one text.
_LABELLED = re.compile(
    r"(?:^|(?<=[\n.;]))[^\S\n]*(?:(?:first|second|third|fourth|fifth|sixth|seventh|eighth|next|"
    r"last|final)(?:[^\S\n]+(?:word|part|piece|fragment|bit|half))?|(?:word|part|piece|fragment|"
    r"token)[^\S\n]*#?\d{1,2})[^\S\n]*(?:is|=|:)"
    r"[^\S\n]*['\"‘“]?([^\n.;'\"’”]{1,40})", re.IGNORECASE)
# Round 7 (issue 16): more readings back, each only when its shape is in the text.
# A word hyphenated across a line break ("instruc-\ntions"), or broken "instruc- tions" by a
# PDF export: joined. "pre- and post-rinse" joins to a non-word that no rule knows.
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-[^\S\n]*\n\s*(?=[^\W\d_])|(?<=[a-z])- (?=[a-z])")
# Combining marks stacked on Latin letters ("i̵g̵n̵o̵r̵e̵", Zalgo text): dropped when they follow an
# ASCII letter; precomposed accents (é, ü) are single characters and stay.
_COMBINING_ON_ASCII = re.compile("(?<=[A-Za-z])[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff"
                                 "\u20d0-\u20ff\ufe20-\ufe2f]+")
# Letters NFKC leaves alone: small capitals, negative squared/circled letters, regional
# indicators ("ɪɢɴᴏʀᴇ", "🅸🅶🅽🅾🆁🅴").
_SMALL_CAPITALS = "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ"
_LOOKALIKE_LETTERS = {**{ord(c): letter for c, letter in zip(_SMALL_CAPITALS,
                                                            "abcdefghijklmnopqrstuvwyz")},
                      **{0x1F150 + n: chr(65 + n) for n in range(26)},
                      **{0x1F170 + n: chr(65 + n) for n in range(26)},
                      **{0x1F1E6 + n: chr(65 + n) for n in range(26)}}
_LOOKALIKE_CHARS = re.compile("[ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ\U0001F150-\U0001F169"
                              "\U0001F170-\U0001F189\U0001F1E6-\U0001F1FF]")
# Markup inside a word ("ig<b></b>nore", "in<!-- -->structions") and character references
# ("&#105;gnore", "&lt;system&gt;").
_TAG_IN_WORD = re.compile(r"(?<=[A-Za-z])(?:<[^<>\n]{0,40}>)+(?=[A-Za-z])")
_ENTITY = re.compile(r"&(?:#\d{2,5}|#x[0-9A-Fa-f]{2,5}|[A-Za-z]{2,8});")
# Percent-encoding ("%69%67%6E%6F%72%65"), four escapes or more.
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2}[^%\s]{0,3}){4,}")
# Character codes: eight or more decimal numbers 32-126 in a row ("105 103 110 111 ...") or
# \uXXXX escapes.
_CHAR_CODES = re.compile(r"(?<![\d.])(?:(?:3[2-9]|[4-9]\d|1[01]\d|12[0-6])[ ,;]+){7,}"
                         r"(?:3[2-9]|[4-9]\d|1[01]\d|12[0-6])(?![\d.])")
_UNICODE_ESCAPES = re.compile(r"(?:\\u[0-9A-Fa-f]{4}){4,}")
# A Caesar or other letter shift named in the text ("shift every letter back by 3", "ROT-5"):
# the shift that reads most like English is kept (ROT13 has its own reading above).
_SHIFT_CUE = re.compile(r"\bcaesar\b|\brot-?\d{1,2}\b|\bshift(?:ed)?\s+(?:each|every|all(?:\s+the)?)?\s*"
                        r"letters?\b|\bletters?\s+(?:are\s+)?shifted\b", re.IGNORECASE)
_COMMON_WORDS = frozenset("""the and you your all to of is are a in it this that what with for
    ignore instructions rules system prompt previous show print tell me now be not say""".split())


@dataclass(frozen=True)
class InjectionVerdict:
    flagged: bool
    score: float
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Rule:
    id: str
    weight: float
    why: str
    pattern: re.Pattern[str]

    def search(self, text: str) -> bool:
        return self.pattern.search(text) is not None


# Scripts written without spaces between words: a stem is matched anywhere in them.
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\u0e00-\u0e7f]")
_LEXICON_SENTENCE = re.compile(r"[^.!?;:。！？\n]+[.!?;:。！？]*")
# English is left to the rules: a sentence with two of these words is not read by the lexicon
# (none of them a short word of another listed language: Hungarian "a", Czech "to", Dutch "is")
# (French "ignore" and "instructions" are English words too: "Can I ignore the instructions on
# the old label?").
_ENGLISH = re.compile(r"\b(?:the|and|of|are|can|could|would|should|may|you|your|this|that|what"
                      r"|how|from|with|please)\b", re.IGNORECASE)


class _Lexicon:
    """The multilingual vocabulary of `injection.yaml` (`lexicon`): per sentence, which of the
    core words of an attack it holds, in any order and any of the listed languages. Verbs and
    nouns are stems matched at a word start; a qualifier, negation or document word of four
    letters or fewer must be the whole word ("je", "vos", "alle")."""

    def __init__(self, data: dict[str, Any]) -> None:
        def compiled(key: str, whole_short: bool) -> re.Pattern[str]:
            items = {" ".join(str(i).lower().split()) for i in data.get(key) or []}
            unspaced = [i for i in items if _UNSPACED.search(i)]
            whole = [i for i in items - set(unspaced) if whole_short and len(i) <= 4]
            stems = list(items - set(unspaced) - set(whole))
            parts = [f"(?<!\\w){_trie(stems)}" if stems else "",
                     f"(?<!\\w){_trie(whole)}(?!\\w)" if whole else "",
                     _trie(unspaced) if unspaced else ""]
            return re.compile("|".join(p for p in parts if p) or r"(?!x)x", re.IGNORECASE)

        self.weights = {str(k): float(v) for k, v in (data.get("weights") or {}).items()}
        self.drop = compiled("drop", False)
        self.rules = compiled("rules", False)
        self.qualifier = compiled("qualifier", True)
        self.reveal = compiled("reveal", False)
        self.prompt = compiled("prompt", False)
        self.role = compiled("role", False)
        self.unbound = compiled("unbound", False)
        self.document = compiled("document", True)
        self.negated_forms = compiled("negated_forms", False)
        negations = compiled("negation", True).pattern
        self._negated_before = re.compile(f"(?:{negations})\\s*(?:\\S+\\s+)?$|(?<!\\w)n['’]\\s*$",
                                          re.IGNORECASE)
        self._negated_after = re.compile(f"^\\w*\\s+(?:{negations})", re.IGNORECASE)
        self._seen: dict[str, frozenset[str]] = {}
        # the cheap test: a text with none of the verbs or role words is not split at all
        self.any_verb = re.compile("|".join(p.pattern for p in (self.drop, self.reveal,
                                                                self.role, self.unbound)),
                                   re.IGNORECASE)

    def _affirmed(self, verb: re.Pattern[str], sentence: str) -> bool:
        """A verb of `verb` in the sentence that no negation governs."""
        for m in verb.finditer(sentence):
            before, after = sentence[max(0, m.start() - 30):m.start()], sentence[m.start():]
            if self.negated_forms.match(after):
                continue
            if self._negated_before.search(before) or self._negated_after.match(after):
                continue
            return True
        return False

    def hits(self, text: str) -> frozenset[str]:
        """The lexicon rule ids the text matches (kept for the last few texts: each of the
        lexicon's rules asks in turn, for every variant)."""
        found = self._seen.get(text)
        if found is None:
            found = frozenset(self._hits(text))
            if len(self._seen) >= 64:
                self._seen.clear()
            self._seen[text] = found
        return found

    def _hits(self, text: str) -> set[str]:
        found: set[str] = set()
        if not self.any_verb.search(text):
            return found
        for sentence in _LEXICON_SENTENCE.findall(text):
            if len(sentence) < 6 or not self.any_verb.search(sentence):
                continue
            if self.document.search(sentence) or len(_ENGLISH.findall(sentence)) >= 2:
                continue
            if self.rules.search(sentence) and self._affirmed(self.drop, sentence):
                qualified = self.qualifier.search(sentence) is not None
                if qualified:
                    found.add("lexicon_drop_rules")
                elif not sentence.rstrip().endswith(("?", "？")):
                    # "Quelles sont les instructions pour ignorer une alarme ?" asks about one
                    found.add("lexicon_drop_cue")
            if self.prompt.search(sentence) and self._affirmed(self.reveal, sentence):
                found.add("lexicon_reveal_prompt")
            if self.unbound.search(sentence):
                found.add("lexicon_unbound_role" if self.role.search(sentence)
                          else "lexicon_unbound_cue")
        return found


def _trie(words: list[str]) -> str:
    """One regex matching any of `words` (a space matches any run of blanks), built as a trie
    so that a text position is tested against one branch per character instead of against
    every word in turn."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [(r"\s+" if c == " " else re.escape(c)) + emit(child)
                    for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return f"(?:{body})?"
        return body

    return "(?:" + emit(tree) + ")"


@dataclass(frozen=True)
class _LexiconRule(_Rule):
    """A rule decided by the lexicon; `pattern` (its verbs) picks candidate sentences."""
    lexicon: _Lexicon | None = None

    def search(self, text: str) -> bool:
        assert self.lexicon is not None
        return self.id in self.lexicon.hits(text)


_LEXICON_WHY = {
    "lexicon_drop_rules": "tells the model to drop its previous or own instructions (multilingual "
                          "vocabulary)",
    "lexicon_drop_cue": "a verb that drops instructions or rules (multilingual vocabulary; cue)",
    "lexicon_reveal_prompt": "asks for the system prompt or hidden instructions (multilingual "
                             "vocabulary)",
    "lexicon_unbound_role": "gives the model a role without restrictions (multilingual vocabulary)",
    "lexicon_unbound_cue": "'without restrictions / rules / filters' (multilingual vocabulary; "
                           "cue)",
}


class InjectionDetector:
    """`check(question)` for direct attempts; `check_document(chunk)` for hidden instructions."""

    def __init__(self, rules_path: Path | str | None = None, embed: Embed | None = None,
                 threshold: float | None = None) -> None:
        path = Path(rules_path) if rules_path else DEFAULT_RULES
        config = load_yaml(path)
        self.threshold = float(threshold if threshold is not None else config["threshold"])
        settings = config.get("embedding", {})
        self.min_attack = float(settings.get("min_attack", 0.55))
        self.min_margin = float(settings.get("min_margin", 0.05))
        self.steepness = float(settings.get("steepness", 20.0))
        patterns = compile_patterns({r["id"]: r["pattern"] for r in config["rules"]},
                                    _nested_macros(config.get("macros") or {}))
        self.rules = [_Rule(r["id"], float(r["weight"]), r.get("why", ""), patterns[r["id"]])
                      for r in config["rules"]]
        if config.get("lexicon"):
            lexicon = _Lexicon(config["lexicon"])
            self.rules += [_LexiconRule(rule_id, weight, _LEXICON_WHY.get(rule_id, ""),
                                        lexicon.any_verb, lexicon)
                           for rule_id, weight in lexicon.weights.items()]
        leet = {str(k): str(v) for k, v in (config.get("leetspeak") or {}).items()}
        self._leet = str.maketrans(leet) if leet else None
        self.embed = embed
        self._attack_texts = string_list(path, config, "attack_exemplars")
        self._benign_texts = string_list(path, config, "benign_exemplars")
        self._attack: np.ndarray | None = None
        self._benign: np.ndarray | None = None
        classifier = config.get("classifier") or {}
        self._classifier_path = (path.parent / classifier["file"]) if classifier.get("file") \
            else None
        self._classifier: tuple[np.ndarray, float] | None = None
        self.classifier_active: bool | None = None  # known once the embedder has been probed

    # ---- public -------------------------------------------------------------------------
    def check(self, text: str) -> InjectionVerdict:
        """A question or instruction typed by a user: the whole text and each sentence (and a
        de-obfuscated reading, when there is one)."""
        return self._verdict(*self._inputs(text))

    def check_document(self, text: str) -> InjectionVerdict:
        """A document chunk. Rules run on everything; only sentences with a rule hit or a word
        naming a model (AI, LLM, assistant, prompt...) are embedded, which keeps ingest cheap."""
        return self._verdict(*self._inputs(text, document=True))

    def score_document(self, text: str) -> float | None:
        """The ingest hook for `knowledge.KnowledgeBase(screen=...)`: the score of a chunk that
        should be quarantined, None for a clean one."""
        verdict = self.check_document(text)
        return verdict.score if verdict.flagged else None

    # ---- scoring ------------------------------------------------------------------------
    def _inputs(self, text: str, document: bool = False) -> tuple[list[_Rule], list[str]]:
        """The rules a text matches and the parts the classifier (or the exemplars) would
        score: the question path's parts, or the document path's candidate sentences. The
        trainer (evals/train_injection_classifier.py) uses it to score a classifier it is
        fitting exactly as `check` / `check_document` would."""
        variants = self._variants(text)
        matched = self._matched(variants)
        if not document:
            return matched, _parts(text) + variants[1:]
        candidates = list(dict.fromkeys(
            s for v in variants for s in sentences(v)
            if _DOCUMENT_CUES.search(s) or any(r.search(s) for r in matched)))
        return matched, candidates

    def _variants(self, text: str) -> list[str]:
        """The text, then de-obfuscated readings of it that differ from it (usually none)."""
        out = [text]
        plain = _INVISIBLE.sub("", text)
        # NFKC folds fullwidth and "mathematical" letters, ligatures, circled letters and other
        # compatibility forms to plain ones. Latin-1 is left alone (µS/cm, m², ½ are units), and
        # a plain ASCII question skips it.
        if not plain.isascii() and not unicodedata.is_normalized("NFKC", plain):
            plain = _BEYOND_LATIN1.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), plain)
        if not plain.isascii() and _MIXED_WORD.search(plain):
            plain = plain.translate(_CONFUSABLE)
        if not plain.isascii():
            plain = _COMBINING_ON_ASCII.sub("", plain)
            if _LOOKALIKE_CHARS.search(plain):
                plain = plain.translate(_LOOKALIKE_LETTERS)
        if "<" in plain:
            plain = _TAG_IN_WORD.sub("", plain)
        if "&" in plain and _ENTITY.search(plain):
            plain = html.unescape(plain)
        if "-" in plain:
            plain = _HYPHEN_BREAK.sub("", plain)
        plain = _SPACED.sub(lambda m: m.group(0).replace(m.group(1), ""), plain)
        plain = re.sub(r"[ \t]{2,}", " ", plain)
        leet = self._leet
        if leet and _LEET_WORD.search(plain):  # then "th3" and "m3" are leet too
            plain = _LEET_ANY.sub(lambda m: m.group(0).translate(leet), plain)
        if _SHORTHAND.search(plain):
            plain = _SHORTHAND.sub(lambda m: _SHORTHAND_WORDS[m.group(0)], plain)
        # Reversed text and ROT13 are read back only when the text says it is encoded so:
        # a plain question never pays for them.
        if _REVERSED_CUE.search(text):
            # letters reversed, and words in reverse order ("instructions previous all Ignore")
            plain_extra = [text[::-1], " ".join(text.split()[::-1])]
        else:
            plain_extra = []
        if _SHIFT_CUE.search(text):
            plain_extra.append(_best_shift(text))
        if _ROT13_CUE.search(text):
            plain_extra.append(codecs.decode(text, "rot13"))
        smuggled = [_untag(t) for t in _TAGS.findall(text)] if not text.isascii() else []
        plain_extra += [t for t in smuggled if t.strip()]
        fragments = _QUOTED.findall(text)
        decoded = [d for d in map(_decode_base64, _BASE64.findall(text)) if d]
        decoded += _decoded_more(text)
        for variant in [plain] + ([" ".join(fragments), "".join(fragments)]
                                  if len(fragments) > 1 else []) + decoded + plain_extra:
            if variant.strip() and variant not in out and variant.split() != text.split():
                out.append(variant)
        return out

    def _matched(self, variants: list[str]) -> list[_Rule]:
        return [r for r in self.rules if any(r.search(v) for v in variants)]

    def _verdict(self, matched: list[_Rule], embed_parts: list[str]) -> InjectionVerdict:
        reasons = [f"rule {r.id}: {r.why}" for r in matched]
        miss = math.prod(1.0 - r.weight for r in matched)
        if self.embed is not None and embed_parts:
            self._load_exemplars()
            if self._classifier is not None:
                part, worst = self._classified(embed_parts)
                # below the floor the classifier is not support for a weak rule, only noise
                # ("Include the SOP number in every answer" at p 0.11 plus its 0.45 cue)
                part = part if part >= CLASSIFIER_FLOOR else 0.0
                if part >= 0.5:
                    reasons.append(f"classifier p={part:.2f} on {worst!r}")
            else:
                attack, benign, nearest = self._similarities(embed_parts)
                part = self._embedding_part(attack, benign)
                if part >= 0.5:
                    reasons.append(f"similar to attack {nearest!r} (cosine {attack:.2f}, "
                                   f"best benign {benign:.2f})")
            miss *= 1.0 - part
        score = round(1.0 - miss, 4)
        return InjectionVerdict(score >= self.threshold, score, reasons)

    def _embedding_part(self, attack: float, benign: float) -> float:
        z = min(attack - self.min_attack, 2.0 * (attack - benign - self.min_margin))
        return 1.0 / (1.0 + math.exp(-self.steepness * z))

    def _classified(self, parts: list[str]) -> tuple[float, str]:
        """The classifier's probability for the most attack-like part (whole text, sentence or
        de-obfuscated reading), and that part."""
        assert self._classifier is not None
        weights, bias = self._classifier
        # A fragment of a few words ("Done: L.", "Hi, quick one.") is out of what the classifier
        # was trained on and scores at random; the whole text is always scored.
        parts = classified_parts(parts)
        vectors = np.asarray(self._embed(parts), dtype=np.float64)
        logits = vectors @ weights + bias
        row = int(np.argmax(logits))
        return float(1.0 / (1.0 + np.exp(-logits[row]))), parts[row]

    def _similarities(self, parts: list[str]) -> tuple[float, float, str]:
        """Best cosine to an attack and to a benign exemplar, taking the sentence with the
        highest attack-minus-benign gap (a long question may hide one bad sentence)."""
        self._load_exemplars()
        assert self._attack is not None and self._benign is not None
        vectors = np.asarray(self._embed(parts), dtype=np.float32)
        attack = vectors @ self._attack.T
        benign = vectors @ self._benign.T if len(self._benign) else np.zeros((len(parts), 1))
        best_attack, best_benign = attack.max(axis=1), benign.max(axis=1)
        row = int(np.argmax(best_attack - np.maximum(best_benign, 0.0)))
        nearest = self._attack_texts[int(attack[row].argmax())]
        return float(best_attack[row]), float(best_benign[row]), nearest

    def _embed(self, texts: list[str]) -> np.ndarray:
        """The injected embedder; only called on paths that checked there is one."""
        if self.embed is None:
            raise RuntimeError("no embedder: the rules alone decide")
        return self.embed(texts)

    def _load_classifier(self) -> None:
        """The trained weights (plain JSON: loading runs no code), kept only when this embedder
        gives the probe sentence the vector it gave at training time."""
        self.classifier_active = False
        if self._classifier_path is None:
            return
        try:
            data = json.loads(self._classifier_path.read_text("utf-8"))
            weights = np.asarray(data["weights"], dtype=np.float64)
            bias = float(data["bias"])
            stored = np.asarray(data["probe"]["vector"], dtype=np.float64)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RuleFileError(self._classifier_path, f"classifier unreadable: {exc}") from exc
        probe = np.asarray(self._embed([data["probe"]["text"]]), dtype=np.float64)[0]
        if probe.shape != stored.shape or weights.shape != stored.shape:
            return
        # The int8 export of the same MiniLM weights gives the probe a cosine of about 0.99 to
        # the fp32 vector and the classifier's figures hold; another model lands far lower.
        if float(probe @ stored) / (np.linalg.norm(probe) * np.linalg.norm(stored) + 1e-12) < 0.97:
            return
        self._classifier = (weights, bias)
        self.classifier_active = True

    def _load_exemplars(self) -> None:
        if self.classifier_active is None:
            self._load_classifier()
        if self._attack is None and not self.classifier_active:
            # Rows are unit length (the Embedder contract), so a dot product is the cosine.
            self._attack = np.asarray(self._embed(self._attack_texts), dtype=np.float32)
            self._benign = (np.asarray(self._embed(self._benign_texts), dtype=np.float32)
                            if self._benign_texts
                            else np.zeros((0, self._attack.shape[1]), np.float32))


def _nested_macros(macros: dict[str, str]) -> dict[str, str]:
    """Macros may name other macros ("model_setup" is built of "setup_noun" and "you_given");
    they are expanded here, a few levels deep, before the rules are compiled."""
    out = {str(k): str(v) for k, v in macros.items()}
    for _ in range(4):
        out = {k: _expand_macros(v, out) for k, v in out.items()}
    return out


def _expand_macros(text: str, known: dict[str, str]) -> str:
    return _MACRO_REF.sub(lambda m: known.get(m.group(1), m.group(0)), text)


def _untag(run: str) -> str:
    """A run of Unicode tag characters read as the ASCII text it mirrors."""
    return "".join(chr(ord(c) - 0xE0000) for c in run)


def _decode_base64(token: str) -> str | None:
    """A base64 run that decodes to readable words, else None (ids and hashes stay opaque)."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    readable = sum(c.isalpha() or c in " .,;:'!?-" for c in decoded)
    return decoded if " " in decoded and readable >= 0.9 * len(decoded) else None


def _readable(decoded: str) -> bool:
    letters = sum(c.isalpha() or c in " .,;:'!?-" for c in decoded)
    return " " in decoded.strip() and letters >= 0.9 * len(decoded)


def _decode_hex(run: str) -> str | None:
    digits = re.sub(r"\\x|0x|[ :,]", "", run)
    try:
        decoded = bytes.fromhex(digits[: len(digits) // 2 * 2]).decode("utf-8")
    except ValueError:
        return None
    return decoded if _readable(decoded) else None


def _rejoin_fragments(text: str) -> str | None:
    """OCR-broken words put back together: two to four neighbouring letter runs (the last may
    carry punctuation) whose concatenation is one of `_FRAGMENT_WORDS`, the longest join
    first; None unless two or more joins were made (one accidental "for get" in a plant text
    stays as it is)."""
    tokens = text.split()
    count = len(tokens)
    if count < 4:
        return None
    out: list[str] = []
    joins, i = 0, 0
    while i < count:
        token, end = tokens[i], i
        if token.lower() in _FRAGMENT_PREFIXES and token.isalpha():
            core = token
            for j in range(i + 1, min(i + 4, count)):
                core += tokens[j]
                if core.rstrip(".,;:!?'\")").lower() in _FRAGMENT_WORDS:
                    end = j
                if not tokens[j].isalpha():
                    break
        if end > i:
            out.append("".join(tokens[i:end + 1]))
            joins += 1
        else:
            out.append(token)
        i = end + 1
    return " ".join(out) if joins >= 2 else None


def _decode_char_codes(run: str) -> str | None:
    decoded = "".join(chr(int(n)) for n in re.findall(r"\d+", run))
    return decoded if _readable(decoded) else None


def _shift(text: str, n: int) -> str:
    return "".join(chr((ord(c) - base + n) % 26 + base) if c.isascii() and c.isalpha() else c
                   for c in text for base in (65 if c.isupper() else 97,))


def _best_shift(text: str) -> str:
    """The letter shift (1-25) of the text with the most common English words."""
    def score(candidate: str) -> int:
        return sum(w in _COMMON_WORDS for w in re.findall(r"[a-z]+", candidate.lower()))
    return max((_shift(text, n) for n in range(1, 26)), key=score)


def _decoded_more(text: str) -> list[str]:
    """Readings of hex bytes, OCR-split words and fragments under ordinal labels. Each is
    tried only when its shape is in the text, so a plain question costs a few regex scans."""
    out = [d for d in map(_decode_hex, _HEX_RUN.findall(text)) if d]
    # percent-encoding and \\u escapes are decoded in place: the run may be one word of a
    # sentence ("\\u0069\\u0067... your previous instructions")
    if "%" in text and _PERCENT.search(text):
        out.append(_PERCENT.sub(lambda m: unquote(m.group(0)), text))
    out += [d for d in map(_decode_char_codes, _CHAR_CODES.findall(text)) if d]
    if "\\u" in text and _UNICODE_ESCAPES.search(text):
        out.append(_UNICODE_ESCAPES.sub(
            lambda m: codecs.decode(m.group(0), "unicode_escape"), text))
    joined = _rejoin_fragments(text)
    if joined:
        out.append(joined)
    labelled = [m.strip() for m in _LABELLED.findall(text)]
    if len(labelled) >= 2:
        out += [" ".join(labelled), "".join(labelled)]
    return out


def classified_parts(parts: list[str]) -> list[str]:
    """The parts the classifier scores: the first (the whole text) always, the others only
    with at least `_MIN_CLASSIFIED_WORDS` words."""
    return [parts[0]] + [p for p in parts[1:] if len(p.split()) >= _MIN_CLASSIFIED_WORDS]


def _parts(text: str) -> list[str]:
    """The whole text plus its sentences when there are several."""
    split = sentences(text)
    return [text] + split if len(split) > 1 else [text]
