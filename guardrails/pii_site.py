"""What the PII scrubber knows about a site and about names, beyond the spaCy model.

`SiteConfig` is `pii.yaml`: badge/employee id words and shapes, allow-listed terms,
organisations, eponyms. `NameFinder` finds person-name candidates the small spaCy model misses:
names in lower case or capitals (first names from the `gender-guesser` package's list of about
48,000 European and world first names), surnames and initials after the words that introduce
people in plant records ("reviewed by", "Operator:", a shift roster, "Mr."/"Frau"), and it
says which candidates are organisations or methods named after people.

Written by hand (no library does plant-record cues); regexes use the `regex` module that
Presidio already depends on, for \\p{Lu}/\\p{Ll}.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import regex
import yaml

from .errors import GuardrailError

CONFIG_PATH = Path(__file__).with_name("pii.yaml")
_LIST_KEYS = ("id_words", "id_owner_words", "id_qualifiers", "allow_list", "organisations",
              "organisation_suffixes", "eponyms", "method_nouns", "place_nouns",
              "record_prefixes", "foreign_words")


class PiiConfigError(GuardrailError):
    """pii.yaml is missing, malformed or names a bad pattern."""


@dataclass(frozen=True)
class SiteConfig:
    id_words: tuple[str, ...]
    id_owner_words: tuple[str, ...]
    id_qualifiers: tuple[str, ...]
    id_patterns: tuple[tuple[str, str, float], ...]
    allow_list: tuple[str, ...]
    organisations: tuple[str, ...]
    organisation_suffixes: tuple[str, ...]
    eponyms: tuple[str, ...]
    method_nouns: tuple[str, ...]
    place_nouns: tuple[str, ...]
    record_prefixes: tuple[str, ...]
    foreign_words: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path | str = CONFIG_PATH) -> SiteConfig:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PiiConfigError(f"PII site config {path}: cannot be read: {exc}") from exc
        if not isinstance(data, dict):
            raise PiiConfigError(f"PII site config {path}: must be a mapping of lists")
        lists = {}
        for key in _LIST_KEYS:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                      for v in value):
                raise PiiConfigError(f"PII site config {path}: {key!r} must be a list of "
                                     "non-empty strings")
            lists[key] = tuple(v.strip() for v in value)
        patterns = []
        for number, row in enumerate(data.get("id_patterns") or [], start=1):
            if not isinstance(row, dict) or not {"name", "regex"} <= row.keys():
                raise PiiConfigError(f"PII site config {path}: id_patterns entry {number} needs "
                                     "'name' and 'regex'")
            try:
                regex.compile(row["regex"])
            except regex.error as exc:
                raise PiiConfigError(f"PII site config {path}: id_patterns entry {number} "
                                     f"({row['name']!r}): bad regex: {exc}") from exc
            score = row.get("score", 0.6)
            if not isinstance(score, (int, float)) or not 0 < score <= 1:
                raise PiiConfigError(f"PII site config {path}: id_patterns entry {number}: "
                                     "score must be in (0, 1]")
            patterns.append((str(row["name"]), row["regex"], float(score)))
        return cls(id_patterns=tuple(patterns), **lists)


# A role, title or signature word right before a name: a person, even when a firm of the
# documents carries that name ("Operator Brennick" beside "Brennick Labs Ltd").
_PERSON_BEFORE = regex.compile(
    r"(?i)\b(?:operators?|technicians?|analysts?|supervisors?|inspectors?|reviewers?|"
    r"approvers?|engineers?|managers?|auditors?|colleagues?|mr|mrs|ms|dr|herr|frau|by|signed|"
    r"approved|reviewed|verified|checked|name)\.?:?\s*$")


def _alternation(words: Iterable[str]) -> str:
    return "|".join(regex.escape(w) for w in sorted(set(words), key=len, reverse=True))


def employee_id_regex(config: SiteConfig) -> str:
    """An id right after an id word: "badge A-31", "Ausweis-Nr. 30-1187", "my personnel ID
    P-55819", "visitor pass V-2207", "Login ID of the analyst: ana.k-0112". Case-insensitive
    words; the id has a digit and is at least three characters long."""
    words, owners = _alternation(config.id_words), _alternation(config.id_owner_words)
    qualifier = _alternation(config.id_qualifiers)
    lead = (rf"(?:\b(?:{words})(?:[\s.-]*(?:{qualifier})\b)?|"
            rf"\b(?:{owners})\s+(?:{words}\s+)?(?:{qualifier})\b)"
            r"\.?(?:\s+(?:of\s+the\s+\p{L}+|list))?(?:\s+(?:is|was|shows|reads))?\s*[:#(,]?\s*")
    records = _alternation(config.record_prefixes) or "(?!)"
    ident = (rf"#?(?!(?:{records})[-_/ ]?\d|(?:{records})-)"  # "SOP-HR-010" is a document
             r"(?=[\p{L}\d#/._-]*\d)[\p{L}\d][\p{L}\d]*(?:[-/._][\p{L}\d]+)*")
    # digits in groups, as people type them off a card: "badge 47 118", "Ausweis-Nr. 4 0 8 1 7",
    # "P-39 204" (four to eight digits, nothing but single spaces between the groups)
    spaced = r"(?=(?:\p{L}{1,3}-)?(?:\d ?){4,8}(?! ?\d))(?:\p{L}{1,3}-)?\d{1,4}(?: \d{1,4})+"
    return (rf"(?i)(?<={lead})(?:{spaced}(?![\p{{L}}\d%°]|[-/.:,]\d| \d)|"
            rf"(?=\S{{3}}){ident}(?![\p{{L}}\d%°]|[-/.:,]\d))")


def id_shape(value: str) -> str:
    """A regex for ids shaped like `value` ("B-1120" -> letter, hyphen, four digits)."""
    out = []
    for char in value:
        out.append(r"\p{L}" if char.isalpha() else r"\d" if char.isdigit()
                   else regex.escape(char))
    return "".join(out)


def first_names() -> frozenset[str]:
    """First names (case-folded) from the gender-guesser package's name dictionary."""
    spec = importlib.util.find_spec("gender_guesser")
    if spec is None or not spec.submodule_search_locations:
        from .pii import ScrubberUnavailableError  # noqa: PLC0415 (avoid an import cycle)
        raise ScrubberUnavailableError("gender_guesser", "pip install gender-guesser==0.4.0")
    data = Path(next(iter(spec.submodule_search_locations))) / "data" / "nam_dict.txt"
    names = set()
    with data.open(encoding="utf-8") as lines:
        for line in lines:
            # "M  Karl      <country frequencies>": a gender code, then the name; "+" joins
            # the parts of a compound name ("Abd+al")
            parts = line.split()
            if len(parts) < 2 or line[0] in "#=":
                continue
            for part in parts[1].replace("+", " ").replace("-", " ").split():
                if len(part) >= 3 and part.isalpha():
                    names.add(part.casefold())
    return frozenset(names)


# --- names in context ------------------------------------------------------------------

PARTICLES = frozenset("""van von der den de di da del della du le la ter ten dos das do al el
bin ibn mac mc ó ní nic ua""".split())
_WORD = r"\p{L}[\p{L}'’]*(?:-\p{L}[\p{L}'’]*)*"
_INITIALS = r"\p{L}\.(?:\s?\p{L}\.)*"
_TOKEN = regex.compile(rf"(?:{_INITIALS}|{_WORD})(?![\p{{L}}\d]|-\d)")
_SEPARATOR = regex.compile(r"\s*(?:,|;|/|&|\band\b|\bund\b|\bet\b|\bor\b|\bto\b)\s*",
                           regex.I)
TITLE_WORDS = frozenset("""mr mrs ms miss mx dr prof herr frau fr hr mme mlle sig sra dott mevrouw
meneer dhr mevr pan pani sr señor señora signor signora sig.ra""".split())
TITLES = rf"(?:{'|'.join(sorted(TITLE_WORDS))})"
# Words that introduce a person in plant records. Each group is one kind of cue.
_CUES = {
    # "reviewed by", "done by", "countersigned by", "witnessed by:"
    "by": r"\b\p{L}{2,}(?:ed|en|ne)\s+by\s*:?\s*",
    # "Operator:", "QA on call:", "Issued to:", "Performed:"
    "label": r"\b(?:operators?|verifier|reviewer|approver|witness(?:es)?|supervisor|analyst|"
             r"technician|engineer|performed|checked|done|verified|approved|reviewed|released|"
             r"issued\s+to|issued\s+by|prepared|author|owner|signed|sign-off|signature|"
             r"on\s+call|on\s+duty|second\s+person|initials|attendees|present|trainer|trainee|"
             r"auditor|inspector|attention|attn|cc|lead|qp|sampler|requester|assignee|handover|"
             r"handed\s+over)\b[^:\n]{0,12}(?::|\s[–—-])\s*",
    # "Night shift roster for Filling Line 2:", "Team for the media fill:", "Shift B:"
    "roster": r"\b(?:roster|rota|shift|team|crew|nights|days|attendees)\b[^:\n.]{0,40}:\s*",
    "title": rf"\b{TITLES}\.?\s+",
    # "The microbiologist on call is Olusegun Adeyemi"
    "role": r"\b(?:operator|analyst|technician|engineer|supervisor|microbiologist|chemist|"
            r"manager|lead|auditor|inspector|coordinator|planner|owner|approver|reviewer|"
            r"verifier|assessor|trainer|qp|contact)\b(?:\s+on\s+(?:call|duty|shift))?"
            r"\s+(?:is|was|will\s+be)\s+",
    # "Ask Pieterse", "per Achterberg's email", "Who trained Agnieszka", "I'm Niamh Gallagher"
    "verb": r"\b(?:ask|tell|remind|call|ring|phone|e-?mail|ping|text|thank|inform|notify|"
            r"contact|per|according\s+to|trained|showed|told|asked|thanked|met|remove|take|"
            r"hand\s+\p{L}+\s+to|whatsapp|i'm|i\s+am|this\s+is|it's|my\s+name\s+is|"
            r"replaced|covering\s+for|cover\s+for|with|seen|thanks)\s+",
    # the same in the plant's other languages: "danke Jannik", "merci de prévenir céline",
    # "vraag Bram", "chiedi a Lorenzo", "pregúntale a Andrés", "c'est Kévin qui". German and
    # Dutch capitalise nouns ("bitte Temperaturschreiber prüfen"), so the name after these
    # must start with a first name or a title.
    "fverb": r"\b(?:gracias|danke|merci|grazie|dzięki|bedankt|bitte|frag|fragen\s+sie|anrufen\s+bei|"
            r"prévenir|appeler|demander\s+à|demande\s+à|c['’]est|vraag|bel|zapytać|zapytaj|"
            r"zadzwoń\s+do|zgłosił|zgłosiła|chiedi\s+a|chiama|avvisa|pregunta\s+a|"
            r"pregúntale\s+a|llama\s+a|avisa\s+a|"
            # "by" after a participle: "gestart door", "gemeldet von", "vérifié par",
            # "firmato da", "revisado por", "podpisane przez"
            r"\p{L}{3,}[dt]\s+door|\p{L}{3,}(?:t|en)\s+von|\p{L}{3,}(?:é|ée|és|ées)\s+par|"
            r"\p{L}{3,}(?:ato|ata|uto|uta|ito|ita)\s+da|\p{L}{3,}(?:ado|ada|ido|ida)\s+por|"
            r"\p{L}{3,}(?:ne|na|ny)\s+przez)\s+",
}
_CUE = regex.compile("|".join(f"(?P<{k}>{v})" for k, v in _CUES.items()), regex.I)
# After a name, words that show it is a person, whatever the name looks like
_PERSON_AFTER = regex.compile(
    r"^(?:['’]s\s+(?:training|badge|gowning|e-?mail|note|account|signature|record|number)|"
    r"\s*[,—–-]+\s*(?:the|our|a|an)\s+[^,.;—–]{0,30}?\b(?:intern|technician|operator|"
    r"analyst|engineer|supervisor|manager|starter|colleague|lead|auditor|inspector)\b|"
    r"\s+(?:said|says|asked|asks|wrote|signed|called|told|wants|thinks|mentioned|needs|"
    r"forgot|covers|takes|left|found|reported|replaced|owns))", regex.I)


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    cue: str  # "by", "label", "roster", "title", "verb", "initial", "lexicon"


class NameFinder:
    """Person-name candidates from cue words, initials and the first-name list.

    `common`: words that are never a name on their own (stop words, verbs, adjectives,
    adverbs, the plant's vocabulary); `dictionary`: every English word, proper nouns included.
    """

    def __init__(self, config: SiteConfig, names: frozenset[str], dictionary: frozenset[str],
                 common: frozenset[str], stop_words: frozenset[str],
                 never_names: frozenset[str] = frozenset()) -> None:
        self.first_names, self.dictionary, self.common = names, dictionary, common
        # "bozena" typed without its accent is "božena"
        self._unaccented_first = frozenset(_unaccented(n) for n in names)
        self.stop_words = stop_words

        def fold(words: Iterable[str]) -> frozenset[str]:
            return frozenset(w.casefold() for w in words)

        self.allowed = fold(w for term in config.allow_list for w in term.split()) | never_names
        self.eponyms = fold(config.eponyms)
        self.method_nouns = fold(config.method_nouns)
        method = _alternation(config.method_nouns)
        self._place_after = regex.compile(
            rf"^(?:['’]s)?\s+(?:{_alternation(config.place_nouns)})\b", regex.I)
        self._method_after = regex.compile(
            rf"^(?:['’]s)?\s+(?:[\p{{L}}\d]{{1,3}}-|two-sided\s+|paired\s+|coulometric\s+|"
            rf"volumetric\s+)?(?:{method})\b", regex.I)
        orgs = _alternation(config.organisations)
        suffixes = _alternation(config.organisation_suffixes)
        cap = r"\p{Lu}[\p{L}\d'’.&+-]*"
        self._organisations = regex.compile(
            rf"(?<![\p{{L}}])(?:{orgs})(?![\p{{L}}])|"
            rf"(?:{cap}\s+){{1,4}}(?:{suffixes})(?![\p{{L}}])|{cap}\s*&\s*{cap}")
        self._organisations_ci = regex.compile(rf"(?i)(?<![\p{{L}}])(?:{orgs})(?![\p{{L}}])")
        # A capitalised run ending in a company suffix, the run captured: what documents
        # teach as organisation names (learn_organisations).
        self._suffixed = regex.compile(
            rf"(?<![\p{{L}}])(?P<name>(?:{cap}\s+){{1,4}})(?:{suffixes})(?![\p{{L}}])")
        self._suffix_words = fold(w for suffix in config.organisation_suffixes
                                  for w in suffix.split()) | {"general"}
        self._learned: regex.Pattern[str] | None = None

    # -- what a word is
    def is_common(self, word: str) -> bool:
        parts = [p for p in regex.split(r"[-'’]", word.lower()) if p]
        return bool(parts) and all(not self.common.isdisjoint(_lemmas(p)) or p in self.allowed
                                   for p in parts)

    def is_first_name(self, word: str) -> bool:
        return self.in_first_names(word) and not self.is_common(word)

    def in_first_names(self, word: str) -> bool:
        """In the first-name list, or made of listed first names ("Jan-Willem", "Anne-Marie")."""
        folded = word.casefold()
        parts = folded.split("-")
        return folded in self.first_names or folded in self._unaccented_first or \
            _unaccented(folded) in self.first_names or (
            len(parts) > 1 and all(p in self.first_names for p in parts))

    def foreign(self, text: str) -> bool:
        """Text written mostly in another European language ("Die Schleuse ist gesperrt",
        "merci de vérifier mon accès"): the English model calls its capitalised nouns and
        articles people, so there a name needs a first name, a title or a cue."""
        words = regex.findall(r"\p{L}+", text.casefold())
        foreign = sum(w in FOREIGN_FUNCTION_WORDS and w not in self.stop_words for w in words)
        # "Bowie-Dick-Test AC-03 bestanden, Ausdruck abgelegt": no function word, but its
        # lower-case words are no English words
        foreign += sum(len(w) >= 5 and w not in self.dictionary and not w.endswith("s")
                       and not self.in_first_names(w)
                       for w in regex.findall(r"(?<![\p{L}-])\p{Ll}+(?![\p{L}-])", text))
        return foreign >= 2 and foreign > sum(w in self.stop_words for w in words)

    def organisation_spans(self, text: str) -> list[tuple[int, int]]:
        spans = {(m.start(), m.end()) for m in self._organisations.finditer(text)}
        spans |= {(m.start(), m.end()) for m in self._organisations_ci.finditer(text)}
        return sorted(spans)

    def learned_organisation_spans(self, text: str) -> list[tuple[int, int]]:
        """Where `text` names an organisation learned from the documents (learn_organisations)."""
        learned = self._learned
        if learned is None:
            return []
        return [(m.start(), m.end()) for m in learned.finditer(text)
                if not _PERSON_BEFORE.search(text[max(0, m.start() - 30):m.start()])]

    def learn_organisations(self, texts: Iterable[str]) -> frozenset[str]:
        """Organisation names the texts (a plant's documents) write with a company suffix
        ("to Cohance Lifesciences Limited" teaches "Cohance Lifesciences" and "Cohance"), kept
        wherever they occur from now on, with or without the suffix: a question about
        "Cohance" asks about the firm a warning letter is addressed to, not about a person.
        A leading word alone is learned only when it is no common word or first name; a learned
        name overrides only the model's guesses, never a cue ("Operator Brennan", "Mr. Brennan"
        stay people when the documents name "Brennan Labs Ltd"). Replaces what an earlier call
        learned; returns the names."""
        found: set[str] = set()
        for text in texts:
            for match in self._suffixed.finditer(text):
                words = match.group("name").split()
                while words and words[0].casefold() in self.stop_words:
                    words.pop(0)  # "The", "At": a sentence's first word, not the name's
                while words and words[-1].casefold() in self._suffix_words:
                    words.pop()  # "Jubilant HollisterStier General Partnership"
                head = words[0].rstrip(".,") if words else ""
                distinctive = (len(head) >= 4 and not self.is_common(head)
                               and not self.is_first_name(head))
                if len(words) > 1:
                    found.add(" ".join(words))
                if words and distinctive:
                    found.add(head)  # "Cohance", not "Sons" or "Licensed"
        self._learned = (regex.compile(rf"(?i)(?<![\p{{L}}])(?:{_alternation(found)})"
                                       rf"(?![\p{{L}}])") if found else None)
        return frozenset(found)

    def place_follows(self, text: str, end: int) -> bool:
        """"the Jean Monnet building", "St. James's Hospital": named after a person."""
        return bool(self._place_after.match(text[end:end + 40]))

    def is_place(self, words: list[str]) -> bool:
        """"Patrick Street": a place whose name ends in a place noun."""
        return bool(words) and bool(self._place_after.match(" " + words[-1]))

    def method_follows(self, text: str, end: int) -> bool:
        return bool(self._method_after.match(text[end:end + 40]))

    def person_follows(self, text: str, end: int) -> bool:
        return bool(_PERSON_AFTER.match(text[end:end + 60]))

    def only_eponyms(self, words: list[str]) -> bool:
        core = [w for w in words if w.casefold() not in PARTICLES and not w.endswith(".")]
        return bool(core) and all(self._eponym(w) for w in core)

    def _eponym(self, word: str) -> bool:
        # "Michaelis-Menten", and "Gram-negative": an eponym, then ordinary words
        parts = word.casefold().split("-")
        return word.casefold() in self.eponyms or (parts[0] in self.eponyms and all(
            p in self.eponyms or p in self.common or p in self.method_nouns for p in parts[1:]))

    # -- candidates
    def candidates(self, text: str) -> list[Candidate]:
        found = []
        for cue in _CUE.finditer(text):
            kind = cue.lastgroup
            assert kind is not None  # every alternative of _CUE is a named group
            found += self._names_at(text, cue.end(), kind, many=kind in ("label", "roster"))
        found = [c for c in found if c.cue != "fverb" or self._starts_with_first_name(text, c)]
        found += self._initials(text)
        found += self._surname_first(text)
        found += self._speakers(text)
        found += self._table_people(text)
        found += self._lexicon(text)
        found += self._sign_off(text)
        found += self._surnames(text)
        return found

    def _starts_with_first_name(self, text: str, candidate: Candidate) -> bool:
        first = text[candidate.start:candidate.end].split()[0].rstrip(".")
        return first.casefold() in TITLE_WORDS or first.casefold() in PARTICLES or (
            self.in_first_names(first) and first.casefold() not in FOREIGN_FUNCTION_WORDS)

    def _surname_first(self, text: str) -> list[Candidate]:
        """"Surname, First" as rosters and sign-off sheets write it, in any case
        ("KOWALCZYK, ANNA / NOWAK, PIOTR", "mueller, jonas (lead)", "Peeters, Lotte"): a word
        that is no ordinary word, a comma, a first name in the same case, between list
        separators."""
        out = []
        for m in _SURNAME_FIRST.finditer(text):
            surname, first = m.group("surname"), m.group("first")
            if not _same_style(surname, first) or not self.in_first_names(first) \
                    or self.is_common(first) or self.is_common(surname) \
                    or surname.casefold() in self.allowed or first.casefold() in self.allowed \
                    or (surname.isupper() and len(_VOWELS.findall(surname)) < 1) \
                    or surname.casefold() in FOREIGN_FUNCTION_WORDS:
                continue
            if surname.islower() and surname in self.dictionary and first in self.dictionary \
                    and not _ROSTER_WORDS.search(text):
                continue  # "stopper, grace": two ordinary words, unless on a roster
            out.append(Candidate(m.start("surname"), m.end("first"), "surname-first"))
        return out

    def _speakers(self, text: str) -> list[Candidate]:
        """Chat speakers: a name opening a line before a colon or an emoji ("kasia: line 2 is
        down", "[07:02] Tomek 👷:", "<Dani> who signed", "rafa 🙌 lot released"), and
        "@Sven". The name is a listed first name; any name-like word not in the dictionary
        counts when the line shows it is chat (emoji, a time stamp, angle brackets)."""
        out = []
        for m in _SPEAKER.finditer(text):
            word = m.group("name")
            folded = word.casefold()
            if folded in self.allowed or self.is_common(word) or len(folded) < 3 \
                    or word.isupper() and len(word) <= 4:
                continue
            line = text[m.start():text.find("\n", m.start()) if "\n" in text[m.start():]
                        else len(text)]
            chatty = bool(m.group("stamp") or m.group("angle") or _EMOJI.search(line))
            if (self.in_first_names(word) and folded not in FOREIGN_FUNCTION_WORDS) or (
                    chatty and folded not in self.dictionary):
                out.append(Candidate(m.start("name"), m.end("name"), "speaker"))
        for m in _MENTION.finditer(text):
            if not self.is_common(m.group(1)) and m.group(1).casefold() not in self.allowed:
                out.append(Candidate(m.start(1), m.end(1), "speaker"))
        return out

    def _table_people(self, text: str) -> list[Candidate]:
        """Names in the columns of a table whose header says they hold people ("| Name |
        Badge | Signed |", "Owner | Action | Due")."""
        out = []
        for column, cells in table_columns(text):
            if not _PERSON_HEADER.fullmatch(column):
                continue
            for start, end in cells:
                span = self._one_name(text, start, "label")
                if span and span[1] <= end:
                    out.append(Candidate(span[0], span[1], "table"))
        return out

    def table_headers(self, text: str) -> list[tuple[int, int]]:
        """Where the header cells of tables are ("| Schritt | Verantwortlich |"): no names."""
        out = []
        for _column, cells in table_columns(text, with_header=True):
            out += cells[:1]
        return out

    def table_ids(self, text: str) -> list[tuple[int, int]]:
        """Ids in a table column headed "Badge", "Employee no.", "Personalnummer"..."""
        out = []
        for column, cells in table_columns(text):
            if _ID_HEADER.fullmatch(column):
                out += [(a, b) for a, b in cells if _ID_CELL.fullmatch(text[a:b])]
        return out

    def _sign_off(self, text: str) -> list[Candidate]:
        """A first name alone at the very end, after a dash, a comma or a line break, in any
        case: "... jammed again - marek", "done for tonight, kasper", "Thanks!\\ndorota"."""
        m = _SIGN_OFF.search(text)
        if not m:
            return []
        word = m.group(1)
        if not self.in_first_names(word) or self.is_common(word) or \
                word.casefold() in self.allowed or (word.lower() in self.dictionary
                                                   and not word.istitle()):
            return []
        return [Candidate(m.start(1), m.end(1), "sign-off")]

    def _surnames(self, text: str) -> list[Candidate]:
        """Surnames by their shape ("O'Keeffe", "McNamara", "Ní Mhaoláin") and capitalised
        words outside the dictionary that a person's verb follows ("Doherty mentioned")."""
        out = []
        for m in regex.finditer(
                r"(?<![\p{L}\d-])(?:O['’]\p{Lu}\p{Ll}{2,}|o['’](?!clock)\p{Ll}{3,}|Ma?c\p{Lu}\p{Ll}{2,}|"
                r"(?:Ní|Nic|Ó|Ua|Mac|Van|De)\s\p{Lu}\p{Ll}{2,})(?:-\p{Lu}\p{Ll}+)?(?![\p{L}\d])",
                text):
            out.append(Candidate(m.start(), m.end(), "shape"))
        # "der"/"den" alone are German articles ("der Schleuse"): particles only after van/von
        for m in regex.finditer(r"(?<![\p{L}\d-])(?:(?:van|von)(?:\s(?:der|den|de|la|le))?|"
                                r"(?:de|di|da|du)(?:\s(?:la|le))?|ter|ten)"
                                r"\s(\p{Lu}\p{Ll}{2,})(?![\p{L}\d])",
                                text):
            if m.group(1).lower() not in self.dictionary \
                    and m.group(1).casefold() not in self.allowed:  # "de Groot", not "de Validación"
                out.append(Candidate(m.start(), m.end(), "shape"))
        for m in regex.finditer(r"(?<![\p{L}\d-])\p{Lu}(?:['’]\p{Lu})?\p{Ll}\p{L}*"
                                r"(?:-\p{Lu}\p{Ll}\p{L}*)?(?![\p{L}\d]|-\d)", text):
            word = m.group()
            known = word.lower() not in self.dictionary or word.casefold() in self.first_names
            if known and not self.is_common(word) and word.casefold() not in self.allowed \
                    and self.person_follows(text, m.end()):  # "Tom said", "Doherty thinks"
                out.append(Candidate(m.start(), m.end(), "after"))
        return out

    def _token_ok(self, word: str, kind: str) -> bool:
        if word.endswith("."):  # initials "K." / "L.M."
            return kind in ("by", "label", "roster", "title")
        letters = regex.sub(r"[-'’]", "", word)
        if len(letters) < 2 or not letters.isalpha() or word.casefold() in self.allowed \
                or word.isupper():  # capitals left after recasing are acronyms: "SOP", "QA"
            return False
        if self.is_common(word):
            # "Grace" is a verb too; as a capitalised first name after a cue it is a name
            return word[0].isupper() and word.casefold() in self.first_names \
                and word.casefold() not in self.stop_words
        if GERMAN_NOUN.fullmatch(word):
            return False  # "gemeldet von Schichtleitung": a German noun, no surname
        if kind in ("verb", "fverb") and word[0].islower():
            return word.casefold() in self.first_names and \
                word.casefold() not in self.dictionary
        return True

    def _lower_surname(self, word: str) -> bool:
        """A lower-case word after a lower-case first name that may be its surname
        ("chiedi a lorenzo moretti"): no word of English or of the plant's other languages."""
        folded = word.casefold()
        return len(folded) >= 3 and folded not in self.dictionary and not self.is_common(word) \
            and folded not in self.allowed and folded not in FOREIGN_FUNCTION_WORDS

    def _names_at(self, text: str, pos: int, kind: str, many: bool) -> list[Candidate]:
        out: list[Candidate] = []
        while True:
            span = self._one_name(text, pos, kind)
            if span is None:
                return out
            out.append(Candidate(span[0], span[1], kind))
            sep = _SEPARATOR.match(text, span[1]) if many else None
            # "owner: Wiebke Sommer; approver: Matthias Brenner": the next label, no name
            if not sep or _LABEL_NEXT.match(text, sep.end()):
                return out
            pos = sep.end()

    def _one_name(self, text: str, pos: int, kind: str) -> tuple[int, int] | None:
        """The name that starts at `pos`: up to four words, initials and particles."""
        words: list[str] = []
        start = end = None
        while len(words) < 5:
            m = _TOKEN.match(text, pos)
            if not m:
                break
            word, filler = m.group(), m.group().casefold() in PARTICLES
            stop = m.end()
            if m.group().casefold() in TITLE_WORDS:  # "Dr. Annika Høgh" after "by"
                filler, stop = True, m.end() + (text[m.end():m.end() + 1] == ".")
            elif not filler:
                if word.islower() and any(not w.islower() for w in words
                                          if w.casefold() not in PARTICLES | TITLE_WORDS):
                    break  # "Sig. Gallo ha visto": a name is written in one case
                if not self._token_ok(word, kind) and not (
                        kind in ("verb", "fverb") and words and words[-1].islower() and word.islower()
                        and self.is_first_name(words[-1]) and self._lower_surname(word)):
                    break
                if word.endswith(".") and words and not words[-1].endswith("."):
                    break
            words.append(word)
            start = m.start() if start is None else start
            if not filler:
                end = stop
            gap = regex.match(r" (?=\S)", text[stop:])
            if not gap:
                break
            pos = stop + gap.end()
        named = [w for w in words if w.casefold() not in PARTICLES | TITLE_WORDS]
        if start is None or end is None or (all(w.endswith(".") for w in named)
                                            and kind not in ("by", "label")):
            return None
        # "Kowalczyk, M." : surname, comma, initial
        tail = regex.match(r",\s?\p{Lu}\.(?!\p{L})", text[end:end + 5])
        if tail and len(named) == 1 and kind in ("label", "roster", "by"):
            end += tail.end()
        return start, end

    def _initials(self, text: str) -> list[Candidate]:
        """"J. Novak", "H. Van Damme", "Kowalczyk, M." anywhere in the text."""
        out = []
        particles = "|".join(PARTICLES)
        for m in regex.finditer(
                rf"(?<![\p{{L}}\d.])\p{{Lu}}\.(?:\s?\p{{Lu}}\.)?\s?(?:(?i:{particles})\s+)?"
                rf"(\p{{Lu}}\p{{Ll}}[\p{{L}}'’]*(?:-\p{{Lu}}[\p{{L}}'’]*)?)", text):
            surname = m.group(1)
            if not self.is_common(surname) and surname.casefold() not in self.allowed:
                out.append(Candidate(m.start(), m.end(), "initial"))
        for m in regex.finditer(r"(?<![\p{L}])(\p{Lu}\p{Ll}[\p{L}'’-]+),\s?\p{Lu}\.(?!\p{L})",
                                text):
            if m.group(1).casefold() not in self.dictionary:
                out.append(Candidate(m.start(), m.end(), "initial"))
        return out

    def _paired(self, text: str, i: int, tokens: list[regex.Match[str]]) -> bool:
        """A first name that is also a word ("Lena") next to another first name."""
        after = _PAIR_AFTER.match(text, tokens[i].end())
        before = _PAIR_BEFORE.search(text[max(0, tokens[i].start() - 40):tokens[i].start()])
        return any(m and self.is_first_name(m.group(1)) for m in (after, before))

    def _lexicon(self, text: str) -> list[Candidate]:
        """First names from the list, in any case, with the surname that follows."""
        out = []
        tokens = list(regex.finditer(rf"(?<![\p{{L}}\d-]){_WORD}(?![\p{{L}}\d]|-\d)", text))
        i = 0
        while i < len(tokens):
            first = tokens[i].group()
            # "Grace" is a verb too: a first name then only before a capitalised surname
            # outside the dictionary ("Grace Petrova")
            after = tokens[i + 1].group() if i + 1 < len(tokens) else ""
            titled = first.istitle() and after.istitle() and after.lower() not in \
                self.dictionary and text[tokens[i].end():tokens[i + 1].start()] == " "
            if not self.in_first_names(first) or first.casefold() in self.allowed \
                    or (first.islower() and first in FOREIGN_FUNCTION_WORDS | PARTICLES) \
                    or (self.is_common(first) and not titled):
                i += 1
                continue
            j, parts = i + 1, [first]
            while j < len(tokens) and len(parts) < 4 and text[tokens[j - 1].end():
                                                               tokens[j].start()] == " ":
                word = tokens[j].group()
                if word.casefold() in PARTICLES and j + 1 < len(tokens):
                    parts.append(word)
                    j += 1
                    continue
                if self.is_common(word) or not _same_case(first, word) or \
                        word.casefold() in self.allowed:
                    break
                parts.append(word)
                j += 1
            while len(parts) > 1 and parts[-1].casefold() in PARTICLES:
                parts.pop()
                j -= 1
            start, end = tokens[i].start(), tokens[i + len(parts) - 1].end()
            # a plural is a word too: "door gaskets" is no more a name than "door gasket"
            in_dictionary = [not self.dictionary.isdisjoint(_singulars(p.lower())) for p in parts
                             if p.casefold() not in PARTICLES]
            if len(parts) > 1 and not (first.islower() and all(in_dictionary)):
                out.append(Candidate(start, end, "lexicon"))  # not "door gasket"
            elif first.casefold() not in self.dictionary and (
                    first[0].isupper() and not first.isupper()
                    or self.person_follows(text, end)):
                out.append(Candidate(start, end, "lexicon"))
            elif first.istitle() and not self.is_common(first) and self._paired(text, i, tokens):
                out.append(Candidate(start, end, "lexicon"))  # "Lena and Jonas"
            i = j
        return out


def table_columns(text: str, with_header: bool = False
                  ) -> list[tuple[str, list[tuple[int, int]]]]:
    """The columns of pipe tables in `text`: (header, [(start, end) of each later cell]).
    A table is a header line with two or more cells split by "|" (or tabs), then rows with
    as many cells."""
    lines, pos = [], 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    out: list[tuple[str, list[tuple[int, int]]]] = []
    i = 0
    while i < len(lines):
        header = _cells(*lines[i])
        if len(header) < 2 or not any(_PERSON_HEADER.fullmatch(lines[i][1][a - lines[i][0]:
                                                                          b - lines[i][0]])
                                      or _ID_HEADER.fullmatch(lines[i][1][a - lines[i][0]:
                                                                          b - lines[i][0]])
                                      for a, b in header):
            i += 1
            continue
        rows = []
        j = i + 1
        while j < len(lines) and len(cells := _cells(*lines[j])) == len(header):
            if not regex.fullmatch(r"[\s|:-]*", lines[j][1]):  # not the "|---|---|" rule
                rows.append(cells)
            j += 1
        for k, (a, b) in enumerate(header):
            out.append((text[a:b], [(a, b)] * with_header + [row[k] for row in rows]))
        i = j
    return out


def _cells(offset: int, line: str) -> list[tuple[int, int]]:
    sep = "|" if line.count("|") >= 1 else "\t" if "\t" in line else None
    if sep is None:
        return []
    out, pos = [], 0
    for part in line.split(sep):
        stripped = part.strip()
        if stripped:
            start = pos + part.index(stripped)
            out.append((offset + start, offset + start + len(stripped)))
        elif 0 < pos < len(line) - len(part):  # an empty cell inside the row keeps its place
            out.append((offset + pos, offset + pos))
        pos += len(part) + 1
    return out


# Column headers of people and of ids, in the plant's languages
_PERSON_HEADER = regex.compile(
    r"(?i)(?:name|full\s+name|names?|owner|action\s+owner|responsible|signed(?:\s+by)?|"
    r"signature|trainee|trainer|participant|attendee|operator|analyst|reviewer|reviewed\s+by|"
    r"approver|approved\s+by|verifier|verified\s+by|performed\s+by|done\s+by|employee|"
    r"person|assignee|witness|teilnehmer(?:in)?|verantwortlich(?:er)?|unterschrift|nom|"
    r"nom\s+et\s+prénom|responsable|participant|naam|verantwoordelijke|eigenaar|"
    r"imię\s+i\s+nazwisko|nazwisko|odpowiedzialny|nome|nome\s+e\s+cognome|responsabile|"
    r"nombre|nombre\s+y\s+apellidos|responsable)")
_ID_HEADER = regex.compile(
    r"(?i)(?:badge(?:\s+(?:no\.?|number|id))?|employee\s+(?:no\.?|number|id)|emp\.?\s+no\.?|"
    r"staff\s+(?:no\.?|number|id)|personnel\s+(?:no\.?|number)|personalnummer|"
    r"personal-?nr\.?|ausweis(?:-?nr\.?)?|matricule|personeelsnummer|nr\s+pracownika|"
    r"numer\s+pracownika|matricola|n[º°o]\.?\s+empleado|número\s+de\s+empleado|"
    r"user\s*id|login)")
_ID_CELL = regex.compile(r"#?(?=[\p{L}\d/._ -]*\d)[\p{L}\d](?:[\p{L}\d/._-]| (?=\d)){2,14}")
_SURNAME_FIRST = regex.compile(
    r"(?:^|(?<=[\n:;/|+(–—]\s*)|(?<=,\s)|(?<=\s-\s)|(?<=^\p{L}{1,3}\s)|(?<=\s\p{L}{1,3}\s))"
    r"(?P<surname>(?:(?:[Oo]|[Dd])['’])?\p{L}[\p{L}'’]+(?:-\p{L}[\p{L}'’]+)?),\s?"
    r"(?P<first>\p{L}[\p{L}'’]+(?:-\p{L}[\p{L}'’]+)?)"
    r"(?=\s*(?:$|[\n;/|+),]|\s[(–—-]\s?|\s(?:and|und|et|en|i|e|y)\s|\s\())", regex.M)
_ROSTER_WORDS = regex.compile(
    r"(?i)\b(?:shifts?|roster|rota|nights|days|crew|team|cover|\p{L}*schicht|\p{L}*dienst|"
    r"bereitschaft|équipe|planning|rooster|ploeg|zmiana|grafik|obsada|turno|turni|turnos|"
    r"guardia|reperibilità)\b")
_EMOJI = regex.compile(r"[\p{So}\p{Cs}\u2190-\u21ff\u2600-\u27bf\U0001F000-\U0001FAFF]")
_SPEAKER = regex.compile(
    r"(?:^|(?<=\n))[^\S\n]*(?P<stamp>\[?\d{1,2}:\d{2}(?::\d{2})?\]?[^\S\n]*)?"
    r"(?:chat[^\S\n]*)?(?:[\p{So}\U0001F000-\U0001FAFF][^\S\n]*)?"
    r"(?:(?P<angle><)(?P<name>\p{L}[\p{L}'’.-]*)>|(?P<name>\p{L}[\p{L}'’-]*)"
    r"(?=[^\S\n]*(?:[\p{So}\U0001F000-\U0001FAFF][^\S\n]*)*:(?!\d)|"
    r"[^\S\n]*[\p{So}\U0001F000-\U0001FAFF]))", regex.M)
_MENTION = regex.compile(r"(?<![\w.@])@(\p{L}[\p{L}'’-]{1,})(?![\w.@-])")
_LABEL_NEXT = regex.compile(r"\p{L}[\p{L} ]{0,20}:")
# German nouns by their suffix ("Abweichung", "Sauberkeit", "Personalnummer"): no surnames
GERMAN_NOUN = regex.compile(r"\p{Lu}\p{Ll}{4,}(?:ung|heit|keit|schaft|nummer|schicht|ität|nisse?|"
                             r"ierung|schreiber|raum|stellung)")
_VOWELS = regex.compile(r"(?i)[aeiouyäöüåæøáéíóúàèìòùâêîôûąęó]")


def _same_style(a: str, b: str) -> bool:
    def style(w: str) -> str:
        return "upper" if w.isupper() else "lower" if w.islower() else "title"

    # capitals and title case mix after recasing: a short surname in capitals ("KRÓL") stays
    # in capitals while "ADAM" becomes "Adam"
    return style(a) == style(b) or "lower" not in (style(a), style(b))


_SIGN_OFF = regex.compile(r"(?:^|[-–—]{1,2}[^\S\n]*|,[^\S\n]*|\n\s*)(\p{L}[\p{L}'’]+(?:-\p{L}+)?)"
                          r"[^\S\n]*[.!]?\s*$")
# Function words of German, French, Spanish, Italian, Dutch and Portuguese that are not English
# words (`NameFinder.foreign` also drops any the English stop list has).
FOREIGN_FUNCTION_WORDS = frozenset("""
der die das dem des und ist nicht mit für bitte wurde wird zum zur im auf bei hat sind ein eine
einen noch muss kann bis vom sich wenn oder aber auch nach ich sie wir ihr
le la les du est et pour une mon ma mes ton sur avec dans merci pas ne que qui sont au aux ce
cette à été elle nous vous
el los las del es está para por una con se lo al sobre y mi puedo hay
il gli della è di che non sono alla nel
het een niet voor staat bij ook zijn naar heeft wordt
os em não uma com
się że jest są był była było dla przez oraz lub czy ktoś który która które nie ma też
sul sulla dal dalla nella nelle degli questo questa anche dopo sono stato stata
una unos unas pero también desde hasta fue han
dat wat deze dit zijn werd wordt naar niet ook maar
""".split())
_PAIR_AFTER = regex.compile(r"\s*(?:,|and|or|&|und|et)\s*(\p{Lu}\p{Ll}+)(?![\p{L}\d])")
_PAIR_BEFORE = regex.compile(r"(?<![\p{L}\d])(\p{Lu}\p{Ll}+)\s*(?:,|and|or|&|und|et)\s*$")


def _unaccented(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word)
                   if not unicodedata.combining(c))


def _singulars(word: str) -> set[str]:
    """The word and the singular an English plural may hide ("gaskets", "boxes", "batteries");
    only plurals: "aisling" is no "aisle"."""
    forms = {word}
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.add(word[:-len(suffix)] + repl)
    return forms


def _lemmas(word: str) -> set[str]:
    """The word and the stems an English inflection may hide ("asked", "covers", "stopped")."""
    forms = {word}
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"),
                         ("ing", ""), ("ing", "e"), ("ied", "y")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[:-len(suffix)] + repl
            forms.add(stem)
            if len(stem) > 3 and stem[-1] == stem[-2] and not repl:
                forms.add(stem[:-1])  # "stopped" -> "stopp" -> "stop"
    return forms


def _same_case(a: str, b: str) -> bool:
    def style(w: str) -> str:
        return "upper" if w.isupper() else "lower" if w.islower() else "title"

    return style(a) == style(b) or (style(a) == "title" and b[:1].isupper())
