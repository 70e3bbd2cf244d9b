"""Which thing a question asks its value of: the words a line must name to answer it.

`copilot.answerability` works out the *kind* of value asked (a speed, a rule, a role) and
the question's subject words, of which a line need name only a share. That lets through the
value of the neighbouring thing in the right passage: the impeller's speed for "what chopper
speed", the dry clean with lint-free cloths for "is a damp cloth allowed", the supervisor
who signs the in-process results for "who approves the start-up waste". The phrases here
name the one thing the value belongs to, read from the shape of the question:

- the word before the property it asks ("chopper speed", "drain temperature": the holder);
- the noun phrase a yes/no question asks about ("Is [a damp cloth] allowed ...?");
- the thing a role question's person acts on ("Who approves [the quantity] of ...").

Each is returned as raw lower-case words; the caller stems them and drops its generic words.
"""

from __future__ import annotations

import re

# Physical properties a question may ask the value of. The word just before one names whose
# property it is ("the chopper speed", "the jacket pressure"), unless it is a word of the
# question's own frame ("what", "maximum", "allowed").
_PROPERTY = re.compile(
    r"\b([a-z][\w'’-]*)\s+(?:speeds?|temperatures?|pressures?|conductivit(?:y|ies)|forces?|"
    r"weights?|volumes?|flow ?rates?|flows?|concentrations?|humidit(?:y|ies)|torques?|"
    r"velocit(?:y|ies)|thickness(?:es)?|diameters?|setpoints?|set points?)\b", re.IGNORECASE)
# Words before a property that say how it is asked or which bound, not whose it is; and the
# qualifiers that are part of the property's own name ("relative humidity", "differential
# pressure", "main compression force" is kept: "main" tells it from pre-compression).
_FRAME = frozenset(
    "what which whats what's the a an its their our your this that these those is are was "
    "max maximum min minimum top full upper lower highest lowest high low allowed allowable acceptable "
    "required right correct exact typical usual normal nominal target set given specified "
    "current new old average mean peak relative differential operating working actual "
    "measured recorded stated validated any some of for at in on to by with and or "
    "same different other".split())

# Auxiliaries a yes/no question opens with, and what may follow before its subject.
_YES_NO = re.compile(r"^\s*(?:is|are|was|were|can|could|may|might|must|should|shall|will|"
                     r"would|do|does|did|has|have)\s+(?:there\s+)?(.*)$", re.IGNORECASE)
# A yes/no question's subject ends where its predicate starts: a preposition, a verb form,
# an adjective of permission, an adverb of time.
_SUBJECT_END = frozenset(
    "of to for in on at by with from into onto after before during between while when if as "
    "than be been being have has had get go do does still just ever also really already "
    "always never not ok okay fine allowed permitted acceptable alright safe enough "
    "required necessary needed mandatory possible valid able supposed meant "
    "require requires allow allows need needs say says state states permit permits mean "
    "means count counts apply applies cover covers stay stays remain remains last lasts take "
    "takes sit sits keep get go".split())
_DETERMINER = frozenset("a an the this that these those my our your their its his her any "
                        "some each every one".split())
_PRONOUN = frozenset("i we you they he she it someone anyone somebody anybody one".split())
# People and departments: "can production keep drawing water" asks what they may do, like a
# pronoun; the rule need not name them.
_AGENT = frozenset("production operations operator operators supervisor supervisors qa qc "
                   "engineering maintenance staff personnel manufacturer manufacturers firm "
                   "firms lab laboratory microbiology trainer trainers analyst analysts user "
                   "users everyone somebody people".split())

# "who approves the ...", "who has to sign the ...", "who may conduct ...": the verb, then
# the thing acted on.
_ROLE_ACT = re.compile(r"^\s*(?:who|whom)\s+(?:(?:has|have|needs?|is|are)\s+to\s+|"
                       r"(?:must|should|shall|may|can|could|will|would|does|do)\s+)?"
                       r"([a-z]+)\s+(.*)$", re.IGNORECASE)
_NOT_ACTS = frozenset("is are was were do does did i we you they it".split())


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][\w'’/.-]*[a-z0-9]|[a-z0-9]", text.lower())


def _phrase(words: list[str], limit: int = 3, first_verb: bool = False) -> list[str]:
    """The noun phrase the words start with: determiners skipped at its start, ended by a word
    of `_SUBJECT_END`, a determiner inside it, a participle (after its first word) or
    `limit` words."""
    phrase: list[str] = []
    for word in words:
        if not phrase and word in _DETERMINER:
            continue
        if word in _SUBJECT_END or (phrase and word in _DETERMINER):
            break
        if phrase and re.search(r"(?:ed|ing)$", word) and not first_verb:
            break
        if not phrase and (word in _PRONOUN or word in _AGENT):
            return []  # "can I open ...": the operator, not a thing, is the subject
        if re.search(r"\d", word):
            continue  # a code or an amount ("GR-04", "50 L") is checked by its own rules
        phrase.append(word)
        if len(phrase) >= limit:
            break
    return phrase


def property_holders(asking: str) -> set[str]:
    """'what impeller speed during the final rinse' -> {'impeller'}; 'the max temperature'
    -> set()."""
    return {m.group(1).lower().replace("’", "'") for m in _PROPERTY.finditer(asking)
            if m.group(1).lower() not in _FRAME and not re.search(r"\d", m.group(1))}


def yes_no_subject(asking: str) -> list[str]:
    """'Is a damp cloth allowed for the dry clean?' -> ['damp', 'cloth']; 'Can I open the
    door?' -> [] (a person asks about their own act)."""
    found = _YES_NO.match(asking)
    return _phrase(_words(found.group(1))) if found else []


def role_object(asking: str) -> list[str]:
    """'Who has to approve the quantity of start-up waste tablets?' -> ['quantity'];
    'who do I ring?' -> []."""
    found = _ROLE_ACT.match(asking)
    if not found or found.group(1).lower() in _NOT_ACTS:
        return []
    rest = _words(found.group(2))
    if rest and rest[0] == "as":  # "who counts as a consignee"
        rest = rest[1:]
    return _phrase(rest, first_verb=True)


# A wh-question's auxiliary, after which its subject comes: "How long do [the removed parts]
# stay ...", "at what temperature must [device stock rooms] be held", "How often should we
# do [a mock recall]" (a person as subject: the thing is what they act on).
_AUX = re.compile(r"\b(?:is|are|was|were|do|does|did|must|should|shall|can|could|may|might|"
                  r"will|would|has|have)\b", re.IGNORECASE)
_WH = re.compile(r"\b(?:what|which|how|when|who|whom|where)\b", re.IGNORECASE)


def wh_subject(asking: str) -> list[str]:
    """'How long do the GR-04 removed parts stay in the drying cabinet?' -> ['gr-04',
    'removed', 'parts']; 'How often should we do a mock recall?' -> ['mock', 'recall'];
    'What is the limit for ...' -> ['limit'] (the caller drops its generic words)."""
    wh = _WH.search(asking)
    if not wh:
        return []
    aux = _AUX.search(asking, wh.end())
    if not aux or len(asking[wh.end():aux.start()].split()) > 4:
        return []  # the auxiliary belongs to a later clause
    words = _words(asking[aux.end():])
    if words and words[0] in _PRONOUN:
        verb = 1 + (words[1] in ("have", "need", "got") and len(words) > 2
                    and words[2] == "to") * 2 if len(words) > 1 else 1
        return _phrase(words[verb + 1:]) if len(words) > verb else []
    return _phrase(words)


# "the acceptance criterion for the overboot contact plates", "the limit of the RO permeate":
# the thing a limit is asked for.
# (Only "for": "the detection limit of FDA's method" names whose limit, not the thing tested.)
_LIMIT_FOR = re.compile(r"\b(?:limits?|criteri(?:on|a)|specifications?|tolerances?|acceptance)"
                        r"\s+for\s+(.*)$", re.IGNORECASE)


def limit_object(asking: str) -> list[str]:
    """'what is the acceptance criterion for the overboot contact plates?' -> ['overboot',
    'contact', 'plates']."""
    found = _LIMIT_FOR.search(asking)
    return _phrase(_words(found.group(1))) if found else []
