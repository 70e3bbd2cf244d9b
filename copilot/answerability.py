"""What a question asks for, and whether a line of a document holds it.

A near-miss question is on topic but asks for something its document does not state: the
replacement interval of a filter whose SOP only says how to change it, the percentage of a
limit the SOP gives in ppm. Quoting the on-topic passage then looks like an answer and is
not. So the question's *kind* is worked out first (a duration, a temperature, a count, a
responsible role, a date, a yes/no rule, the meaning of a code, the steps to take...) with
its *focus* (the words naming what is measured or done), and a line answers only when it
holds that kind of value about that focus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from knowledge import CODE

from .asked_value import limit_object, property_holders, role_object, yes_no_subject
from .grounding import codes_in, content_words, split_sentences

_NUM = r"(?<![\w.])\d+(?:[.,]\d+)?"
_TIME_UNIT = (r"(?:s|sec|secs|seconds?|min|mins|minutes?|h|hrs?|hours?|days?|d|weeks?|wk|"
              r"months?|years?|yrs?)")
_QUANTITY = {
    # "20 min", "15-20 min", "30 calendar days", "5 working days", "over six months"
    "duration": re.compile(rf"(?:{_NUM}|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
                           rf"eleven|twelve|fifteen|twenty|thirty|several|a few|an?)\b)\s*"
                           rf"(?:(?:-|to|–|and)\s*{_NUM}\s*)?(?:[a-z]+\s+)?{_TIME_UNIT}\b",
                           re.IGNORECASE),
    "temperature": re.compile(rf"{_NUM}\s*(?:°\s*[CF]|℃|K\b|degrees?)", re.IGNORECASE),
    "pressure": re.compile(rf"{_NUM}\s*(?:bar|mbar|kpa|pa|psi|psig|mmhg|torr|inch(?:es)? of "
                           rf"water|in\.? ?wg|mm ?wg)\b", re.IGNORECASE),
    "percentage": re.compile(rf"{_NUM}\s*(?:%|per ?cent|percent)", re.IGNORECASE),
}
# "each"/"every" states a frequency only of an occasion or a time ("each batch", "every working
# day"): "each manufacturer", "each piece of equipment", "each of its accounts" are no interval.
_OCCASION = (r"(?:times?|uses?|runs?|cycles?|batch(?:es)?|lots?|loads?|shifts?|days?|weeks?|months?|"
             r"years?|hours?|sessions?|campaigns?|fillings?|changes?|starts?|entr(?:y|ies)|visits?|"
             r"sampling|shipments?|deliver(?:y|ies)|occasions?|mornings?|evenings?|nights?|breaks?|"
             r"receipts?|openings?|quarters?|periods?|seasons?|step|stage|phase)")
_FREQUENCY = re.compile(
    rf"\b(?:every|each)\s+(?:[\w-]+\s+){{0,2}}?{_OCCASION}\b|"
    rf"\b(?:daily|weekly|monthly|quarterly|annual(?:ly)?|yearly|hourly|per (?:shift|"
    rf"batch|day|week|month|year|cycle|run|lot)|once|twice|biannual(?:ly)?|semi-?annual(?:ly)?|"
    rf"at least \w+ (?:a|per) \w+|interval|before (?:the )?(?:first|each|every|use|start)|after "
    rf"(?:each|every))\b|(?:every|each|per|once|twice|times)\b[^.;]{{0,20}}?{_NUM}\s*{_TIME_UNIT}\b|"
    rf"{_NUM}\s*{_TIME_UNIT}\s+(?:intervals?|cycles?)\b", re.IGNORECASE)
_NUMBER = re.compile(rf"{_NUM}|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                     rf"twelve|twenty|thirty|hundred|single|double|twice|once|both)\b",
                     re.IGNORECASE)
_ROLE = re.compile(r"\b(?:operators?|supervisors?|qa|qc|quality (?:assurance|control|unit)|"
                   r"engineer(?:ing|s)?|trainers?|managers?|head of|qualified person|qp|"
                   r"technicians?|analysts?|microbiolog\w*|owners?|department|team|staff|"
                   r"personnel|responsible person|designee|officer|inspector|manufacturer|"
                   r"firm|user|reviewer|approver|second person|person)\b", re.IGNORECASE)
_DATE = re.compile(r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}|(?:jan|feb|mar|apr|"
                   r"may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}|\d{1,2} (?:jan|"
                   r"feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{4}|(?:19|20)\d{2})\b",
                   re.IGNORECASE)
# A calendar date states no count, limit or measure ("Issued: 8/23/74").
_FULL_DATE = re.compile(r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}|(?:jan|feb|mar|apr|"
                        r"may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}|\d{1,2} (?:jan|"
                        r"feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{4})\b", re.IGNORECASE)
_DATE_RULE = re.compile(r"\b(?:date|day)\s+(?:on which|of|when|that)\b", re.IGNORECASE)
# The classes things are sorted into: deviation and alarm classes, grades, levels.
_CLASS_WORD = (r"(?:critical|major|minor|abort|trip|stop|warning|alert|action|information|"
               r"quality) ?(?:alarm|limit|level|deviation|warning)?s?")
_CLASS = re.compile(r"\b(?:grade [a-d]|class (?:[ivx]+|\d+|[a-d])|iso (?:class )?\d|category "
                    r"\w+|critical|major|minor|type [a-z0-9]+|level \d|classified as \w+|"
                    r"class i{1,3}|(?:abort|trip|stop|quality|information|critical) alarms?|"
                    r"warnings?|alert (?:limit|level)|action (?:limit|level)|class higher|"
                    r"higher class|adulterated|misbranded)\b", re.IGNORECASE)
_RULE = re.compile(r"\b(?:must|shall|should|may|might|can(?:not)?|never|not|no|only|required|"
                   r"requires?|allowed|permitted|prohibited|forbidden|mandatory|need(?:s)?|"
                   r"always)\b", re.IGNORECASE)
_CRITERION = re.compile(rf"{_NUM}|\b(?:at least|at most|not more than|not less than|no more "
                        rf"than|maximum|minimum|within|between|below|above|less than|more than|"
                        rf"pass|fail|complies|conform|uniform|absent|free of|no growth|clear|"
                        rf"intact|meets?)\b|[≤≥<>]", re.IGNORECASE)

# Question patterns, tried in order: the first that matches names the kind.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # ("the low temperature alarm limit" asks a limit, not what an alarm means)
    ("code_meaning", re.compile(r"\b(?:what does|what is|what's|meaning of|means?)\b.{0,120}?\b"
                                r"(?:alarm|code|error|message|fault)\b(?!\s+(?:limits?|levels?|"
                                r"set ?points?|thresholds?|delays?|values?))|\bwhat does \S+ "
                                r"(?:mean|stand for|indicate)|\b(?:meaning|means?|stand for)\s*\??"
                                r"\s*$|\bwhat(?:'s| is| does)\s+(?:an? )?[A-Z][A-Z0-9]{0,5}-\d",
                                re.IGNORECASE)),
    # "What due date did they give for the CAPA on the longest interventions?" asks a date,
    # though "longest" would read as a time.
    ("date", re.compile(r"\b(?:what|which)\s+(?:[\w-]+\s+)?date\b|\bdue date\b", re.IGNORECASE)),
    ("frequency", re.compile(r"\bhow often\b|\bfrequency\b|\binterval\b|\bhow frequently\b|"
                             r"\bwhen\b.{0,80}\b(?:be|get|gets|is|are) (?:replaced|changed|"
                             r"calibrated|tested|requalified|re-?qualified|revalidated|"
                             r"re-?validated|serviced|checked|cleaned|reviewed|retrained|"
                             r"repeated|renewed|inspected|audited)\b", re.IGNORECASE)),
    ("duration", re.compile(r"\bhow long\b|\bby when\b|\bwithin what time\b|"
                            r"\b(?:hold|exposure|drying|contact|cycle|run|"
                            r"dwell|wait|waiting|soak|settling|rinse|storage|shelf|retention|"
                            r"equilibration|incubation|response) (?:time|period|duration)\b|"
                            r"\bhow many (?:minutes|hours|days|seconds|weeks|months|years)\b|"
                            r"\b(?:time limit|duration|expiry|expiration|shelf life|use-by|"
                            r"use by|good for|longest|shortest)\b",
                            re.IGNORECASE)),
    ("temperature", re.compile(r"\b(?:what|which) (?:[\w-]+ ){0,2}?temperature\b|\bhow hot\b|"
                               r"\bhow cold\b|\btemperature (?:limit|range|setpoint|set point|"
                               r"of|for|at|must|should|is)\b|"
                               r"\bat what temperature\b", re.IGNORECASE)),
    ("pressure", re.compile(r"\bwhat (?:[\w-]+ ){0,2}?pressure\b|\bpressure (?:limit|range|setpoint|"
                            r"differential|of|for|at|must|should|is)\b|\bdifferential "
                            r"pressure\b", re.IGNORECASE)),
    ("percentage", re.compile(r"\bpercent(?:age)?\b|\bper cent\b|%|\bwhat share\b|"
                              r"\bwhat fraction\b|\bwhat proportion\b", re.IGNORECASE)),
    ("count", re.compile(r"\bhow many\b|\bnumber of\b|\bhow much\b(?! time)", re.IGNORECASE)),
    ("role", re.compile(r"^\s*(?:who|whom)\b|\bwho(?:'s|’s)\b|\bwho (?:is|are|must|should|shall|may|can|does|"
                        r"do|signs?|approves?|decides?|performs?|records?|checks?)\b|\bwhich "
                        r"(?:role|person|department|team|function|unit)\b|\bresponsib",
                        re.IGNORECASE)),
    ("date", re.compile(r"\bwhat date\b|\bwhich date\b|\bwhen (?:was|did|were|will)\b|"
                        r"\beffective date\b|\bsince when\b|(?<!-)\bdated\b|\bdue date\b|"
                        r"\bwhat year\b|\bdeadline\b|\bwhen\b.{0,60}\b(?:due|came|come|"
                        r"introduced|added|issued|started)\b|\bwhen(?:'s| is| was)? (?:the )?"
                        r"(?:next|last)\b", re.IGNORECASE)),
    ("classification", re.compile(r"\bclassif|\b(?:what|which) [\w-]+ (?:class|grade|category)\b|"
                                  r"\bwhat (?:class|grade|category|type of "
                                  r"(?:area|room|zone|deviation|change|risk))\b|\bwhich (?:class|"
                                  r"grade|category)\b|\bcritical or\b|\bmajor or minor\b|"
                                  rf"\b{_CLASS_WORD}\b[\w\s-]{{0,25}}\bor\b[\w\s-]{{0,20}}\b"
                                  rf"{_CLASS_WORD}\b",
                                  re.IGNORECASE)),
    # A measured quantity: only a number answers "what hole size", "how fast", "what setpoint".
    ("measure", re.compile(r"\bhow (?:high|low|fast|slow|big|small|far|close|heavy|thick|wide|"
                           r"deep|large)\b|\bwhat (?:[\w-]+ ){0,2}?(?:speed|concentration|dose|"
                           r"flow|rate|weight|volume|size|force|torque|conductivity|humidity|"
                           r"thickness|diameter|length|width|depth|velocity|setpoint|set point|"
                           r"reading|rating|capacity|wavelength|voltage|gap|distance|height|"
                           r"pore size|dimension|rpm|g-force|penalty|penalties|fine|fines)s?\b|"
                           r"\b(?:setpoint|set point)\b|\b(?:has|have|should|must|"
                           r"needs?|is supposed) (?:to )?read\b", re.IGNORECASE)),
    ("criterion", re.compile(r"\bacceptance (?:criteri|limit)|\bcriteri(?:on|a)\b|"
                             r"\bspecification\b|\blimits?\b|"
                             r"\bmaximum\b|\bminimum\b|\bmax\b|(?<!\d)(?<!\d )\bmin\b|"
                             r"\bthreshold\b|\btolerance\b|\bwhat (?:level|value)\b|"
                             r"\b(?:action|alert|detection|residue|acceptance) levels?\b|\bendpoints?\b|"
                             r"\bhow tight\b|\bplus(?:/| or )minus\b|±|"
                             r"\bpass(?:es|ing)? criteri|\brange\b|"
                             r"\b(?:humidity|conductivity|concentration|speed|flow rate|"
                             r"viscosity|ph)\b|\bacceptable\b|\bwhat (?:[\w-]+ ){1,2}(?:level|"
                             r"value|limit)s?\b|\b(?:what|which) readings?\b",
                             re.IGNORECASE)),
    ("yes_no", re.compile(r"^\s*(?:is|are|am|was|were|may|can|could|must|should|shall|do|does|"
                          r"did|will|would|has|have)\b", re.IGNORECASE)),
)
_HOLDS = {
    "duration": lambda t: bool(_QUANTITY["duration"].search(t)),
    "temperature": lambda t: bool(_QUANTITY["temperature"].search(t)),
    "pressure": lambda t: bool(_QUANTITY["pressure"].search(t)),
    "percentage": lambda t: bool(_QUANTITY["percentage"].search(t)),
    "frequency": lambda t: bool(_FREQUENCY.search(t)),
    "count": lambda t: bool(_counts(t)),
    "role": lambda t: bool(_ROLE.search(t)),
    # A date, or what a date is taken to be ("the date on which the firm first notified").
    "date": lambda t: bool(_DATE.search(t) or _DATE_RULE.search(t)),
    "classification": lambda t: bool(_CLASS.search(t)),
    "criterion": lambda t: bool(_CRITERION.search(t)),
    "measure": lambda t: bool(re.search(rf"{_NUM}|\b(?:twice|double|half|triple)\b", t,
                                        re.IGNORECASE)),
    "yes_no": lambda t: bool(_RULE.search(t)),
}
# Units of measure: a number followed by one is an amount, not a count ("used within 7 days"
# does not say how many times a pack may be re-sterilised).
_UNIT = (r"(?:%|‰|°|℃|µ|μ|(?:m|c|k|n|µ|μ)?(?:g|l|m)\b|mg|kg|ml|µl|ul|mm|cm|nm|µm|um|m²|m³|"
         r"cm²|mbar|bar\b|k?pa\b|psi|ppm|ppb|rpm|kn\b|n\b|n·m|nm\b|eu\b|µs|us/cm|lux|db\b|"
         r"mol|w\b|kw|v\b|a\b|hz|log\b|s\b|sec|secs|seconds?|min|mins|minutes?|h\b|hrs?|"
         r"hours?|days?|d\b|weeks?|wk|months?|years?|yrs?|per ?cent|percent|degrees?|x\b|"
         r"mm/|m/s|l/h|ml/min|inch(?:es)?|feet|ft\b|lb|oz|gallons?|liters?|litres?|meters?|"
         r"metres?|grams?|kilograms?|milligrams?|micro\w+|milli\w+)")
_AMOUNT = re.compile(rf"{_NUM}\s*(?:(?:-|to|–|or|and)\s*{_NUM}\s*)?{_UNIT}", re.IGNORECASE)
_COUNT_UNIT = re.compile(r"\bhow many\s+(\w+)|\bnumber of\s+(\w+)", re.IGNORECASE)


_COUNT_STOP = frozenset(
    "of in on at per for before after during from to by with is are was were do does did can "
    "could may might must should shall will would have has had get go we i you they it there "
    "allowed needed required max maximum min minimum a an the this that these those".split())


def _counted(words_after: str) -> frozenset[str]:
    """The noun phrase a count question counts: "wet packs in one load" -> {wet, pack}."""
    phrase = []
    for word in re.findall(r"[a-z][\w-]*", words_after.lower())[:4]:
        if word in _COUNT_STOP:
            break
        phrase.append(word)
    return frozenset(_focus_words(" ".join(phrase)))


def _counts_the(counted: frozenset[str], text: str, head: str = "") -> bool:
    """Whether a number in the text counts one of the counted words: it is followed within
    three words by one of them ("4 load probes", "more than 10 queries", "three times"), or
    by the head of the counted phrase when it has one ("glove changes": "10 glove ports"
    counts no changes)."""
    if not counted:
        return True
    if head:
        counted = frozenset({head})
    plain = _AMOUNT.sub(" ", text)
    for number in _NUMBER.finditer(plain):
        if number.group(0).lower() in ("once", "twice") and any(
                w.startswith("tim") for w in counted):
            return True
        after = _focus_words(" ".join(re.findall(r"[\w-]+", plain[number.end():])[
            :4 if head else 3]))
        after |= {_SAME_AS[w] for w in after if w in _SAME_AS}
        if any(_same_word(c, w) for c in counted for w in after):
            return True
    return False


# Words a count may be said in: "83 colony forming units" counts CFU.
_SAME_AS = {"colony": "cfu"}


def _counts(text: str) -> bool:
    """Whether the text has a number that counts (one not followed by a unit of measure)."""
    return bool(_NUMBER.search(_AMOUNT.sub(" ", text)))


# What each kind is called in "the documents do not state ...".
_KIND_NAMES = {"duration": "a time", "temperature": "a temperature", "pressure": "a pressure",
               "percentage": "a percentage", "frequency": "an interval or frequency",
               "count": "a number", "role": "who is responsible", "date": "a date",
               "classification": "a classification", "criterion": "a limit or criterion",
               "measure": "a value",
               "yes_no": "a rule", "code_meaning": "the meaning of the code"}
# Words of a question that say *how* it asks, not *what about*.
_GENERIC = content_words(
    "what which who whom when where why how many much often long does do did is are was were "
    "should must shall may can could would will the a an of for on in at to by with from "
    "value values limit limits maximum minimum max min number numbers required requirement "
    "allowed acceptable acceptance criterion criteria specification spec percentage percent "
    "interval frequency time period duration responsible person role date classification "
    "class category grade type kind level exactly please tell me know state stated give "
    "according document documents sop procedure manual mean meaning stand typical usual "
    "normal current effective latest need needed there any our plant site put stay run take "
    "get use used make have has keep go still someone something way right wrong thing one "
    "able ok okay now then yesterday today tomorrow morning afternoon evening "
    # how a request is put ("I'd like the ...", "remind me of ...", "tell me ...")
    "like need want wonder wondering remind tell give please pls thanks forget forgot sure "
    "idea whats hows again quick supposed fine apply applies under within times whether "
    # the unit a time question asks in is its kind, not its subject
    "second seconds minute minutes hour hours day days week weeks month months year years")


# Work done at an interval or within a time: "how often is X *replaced*" is not answered by how
# often X is *sampled*. A time or interval question naming one of these needs a line naming it.
_ACTIONS = ("replac", "chang", "calibrat", "requalif", "qualif", "revalid", "validat", "servic",
            "clean", "review", "retrain", "train", "repeat", "renew", "inspect", "audit", "sampl",
            "sanitis", "sanitiz", "sterilis", "steriliz", "test", "maintain", "maintenanc",
            "archiv", "retain", "retent", "stor", "hold", "expir", "approv", "clos", "report",
            "investigat", "monitor", "implement")
_TIMED_KINDS = ("frequency", "duration")
# A date is the date of an event: "when was the investigation closed" is not answered by the
# date it was opened, nor "when may they resume" by the date they suspended.
_DATED_ACTIONS = _ACTIONS + ("resum", "suspend", "finish", "complet", "receiv", "notif")
# A limit is a limit *of* something: "what humidity range" is not answered by the room's
# temperature range. A value question naming one of these needs a line naming it.
_PROPERTIES = ("humidit", "temperatur", "pressur", "conductiv", "weight", "mass", "speed",
               "force", "torque", "concentrat", "flow", "volume", "hardness", "thickness",
               "friabil", "viscos", "moisture", "density", "dose", "velocit", "airflow",
               "particle", "bioburden", "endotoxin", "potenc", "assay", "yield", "leak", "decay",
               "toc", "humid", "vacuum", "dew", "light", "lux", "noise", "vibrat", "ph", "rpm")
_PROPERTY_UNIT = {
    "temperatur": _QUANTITY["temperature"], "pressur": _QUANTITY["pressure"],
    "vacuum": _QUANTITY["pressure"], "humidit": re.compile(rf"{_NUM}\s*%\s*(?:rh|r\.h\.)",
                                                         re.IGNORECASE),
    "conductiv": re.compile(rf"{_NUM}\s*[µμu]s/cm", re.IGNORECASE),
    "speed": re.compile(rf"{_NUM}\s*(?:rpm|m/s)\b", re.IGNORECASE),
    "rpm": re.compile(rf"{_NUM}\s*rpm\b", re.IGNORECASE),
    "velocit": re.compile(rf"{_NUM}\s*m/s\b", re.IGNORECASE),
    "flow": re.compile(rf"{_NUM}\s*(?:m³/h|m3/h|l/h|l/min|ml/min)", re.IGNORECASE),
    "airflow": re.compile(rf"{_NUM}\s*(?:m³/h|m3/h|m/s)", re.IGNORECASE),
    "weight": re.compile(rf"{_NUM}\s*(?:mg|g|kg)\b", re.IGNORECASE),
    "mass": re.compile(rf"{_NUM}\s*(?:mg|g|kg)\b", re.IGNORECASE),
    "volume": re.compile(rf"{_NUM}\s*(?:ml|l|µl|ul)\b", re.IGNORECASE),
    "force": re.compile(rf"{_NUM}\s*k?n\b", re.IGNORECASE),
    "torque": re.compile(rf"{_NUM}\s*n·?m\b", re.IGNORECASE),
    "toc": re.compile(rf"{_NUM}\s*ppb\b", re.IGNORECASE),
    "endotoxin": re.compile(rf"{_NUM}\s*eu/ml", re.IGNORECASE),
    "bioburden": re.compile(rf"{_NUM}\s*cfu", re.IGNORECASE),
    "thickness": re.compile(rf"{_NUM}\s*(?:mm|µm|um)\b", re.IGNORECASE),
}
_VALUE_KINDS = ("criterion", "measure", "count", "percentage", "pressure", "temperature")
# Kinds answered by a stated value (a number): the card prefers a line that has one.
VALUE_KINDS = _VALUE_KINDS + ("duration", "frequency")


@dataclass(frozen=True)
class Asked:
    kind: str  # one of _KIND_NAMES, or "steps" / "any" (no kind to check)
    focus: frozenset[str]  # content words naming what the question is about
    codes: frozenset[str]  # alarm codes, tags and ids the question names
    label: str  # what was asked, for "the documents do not state <label>"
    # Stems a line must name: the timed work of a time question, the measured property of a
    # value question.
    required: frozenset[str] = frozenset()
    # A count asked in a unit ("how many litres"): any stated amount answers it.
    amount: bool = False
    # What a count counts ("how many wet packs": wet, pack): the number must count it.
    counted: frozenset[str] = frozenset()
    # The classes a question offers ("minor or major?"): the line must name one of them.
    options: frozenset[str] = frozenset()
    # "upper" or "lower" when the question asks for one bound ("the maximum ...").
    bound: str = ""
    # The thing a count counts, last word of its phrase ("glove changes": chang): "10 glove
    # ports" counts gloves, not changes.
    counted_head: str = ""
    # The words naming which limit is asked ("the nitrate limit"): a line stating another
    # limit of the same thing (its conductivity limit) does not answer.
    attribute: frozenset[str] = frozenset()
    # Sections of a text the question names ("820.22", "CPG 300.400"): a line from another
    # section does not answer it.
    references: frozenset[str] = frozenset()
    # A shelf life asked ("how long are poured plates good for"): a line must speak of keeping
    # or expiry, not of how long a step takes.
    shelf: bool = False
    # An amount that names the item asked about ("the 50 g check weight"): a line about
    # another weight (the 200 g one) does not answer.
    named_amounts: frozenset[str] = frozenset()
    # Whose property a value question asks ("what chopper speed": chopper): the impeller's
    # speed in the next step does not answer it.
    holders: frozenset[str] = frozenset()
    # The thing a yes/no or role question is about ("is a damp cloth allowed": damp, cloth;
    # "who approves the quantity of ...": quantity): a rule or a role for another thing does
    # not answer it.
    subject: frozenset[str] = frozenset()
    # The time unit a duration is asked in ("how many seconds"): a value in a unit far from it
    # ("5 min" is near, "2 years" is not) is another time.
    time_unit: str = ""
    # Numbers a bound question gives as context ("minimum's 350"): no answer to it.
    given: frozenset[str] = frozenset()
    # A limit asked ("what ... limit should have flagged the rise"): a measured value ("had
    # risen from 4.1 to 6.8 µS/cm") is no limit.
    limit: bool = False


# How a request is put before what it asks: "I'd like (to know) the ...", "Could you tell me
# how long ...", "Remind me what ...", "Please give me ...". The kind is in what follows.
_REQUEST = re.compile(r"^\s*(?:(?:hi|hello|ok|okay|so|quick question)[,:]?\s+)?(?:please\s+)?"
                      r"(?:(?:i(?:'d| would) like|i need|i want|i'm looking for|i am looking for)"
                      r"(?: to (?:know|find out|check|confirm))?|(?:could|can|would) you "
                      r"(?:please )?(?:tell|give|remind|show) me(?: of)?|(?:tell|give|remind|show)"
                      r" me(?: of)?|do you know|any idea)\b[,:]?\s*(?:please\s+)?",
                      re.IGNORECASE)
_WHETHER = re.compile(r"^\s*(?:whether|if|(?:is it |are we |am i )?(?:ok|okay|fine|allowed|alright|"
                      r"safe) to)\b|\b(?:y/n|yes or no)\b", re.IGNORECASE)
_ALTERNATIVES = re.compile(rf"\b({_CLASS_WORD})\b[\w\s-]{{0,25}}?\bor\b[\w\s-]{{0,20}}?\b"
                           rf"({_CLASS_WORD})\b", re.IGNORECASE)
# One bound asked: "the maximum pressure" is not answered by "6.0 bar(g) minimum".
_ASKS_UPPER = re.compile(r"\b(?:max(?:imum)?|upper|highest|longest|at most|ceiling|too (?:hot|high|"
                         r"much|many|long|warm|fast|big))\b", re.IGNORECASE)
_ASKS_LOWER = re.compile(r"(?<!\d )(?<!\d)\b(?:min(?:imum)?|lower|lowest|shortest|at least|too (?:cold|low|"
                         r"little|few|short|slow|small))\b", re.IGNORECASE)
# Words that state one bound only, and those that state the other or both (a range, a
# tolerance, "above"/"below", which serve either).
_LOWER_ONLY = re.compile(r"\b(?:at least|minimum|min|not less than|no less than|or more|or "
                         r"higher|or above|or greater)\b|≥", re.IGNORECASE)
_UPPER_ONLY = re.compile(r"\b(?:maximum|max|at most|up to|not more than|no more than|or less|"
                         r"or lower|or below|not (?:to )?exceed|within)\b|≤", re.IGNORECASE)
_EITHER = re.compile(rf"\b(?:above|below|over|under|more than|less than|between|range|higher "
                     rf"than|lower than)\b|±|[<>]\s*{_NUM}|{_NUM}\s*(?:-|–|to)\s*{_NUM}",
                     re.IGNORECASE)


_ALARM_ASKED = re.compile(r"\b(?:alarms?|limits?|warnings?|trips?|alerts?|interlocks?)\b",
                          re.IGNORECASE)
_BELOW = re.compile(r"\b(?:below|under|less than|lower than)\b", re.IGNORECASE)
_ABOVE = re.compile(r"\b(?:above|over|more than|higher than)\b", re.IGNORECASE)
_LOW = re.compile(r"\b(?:low|too low)\b", re.IGNORECASE)
_HIGH = re.compile(r"\b(?:high|too high)\b", re.IGNORECASE)


def _only_other_bound(bound: str, text: str, line: str = "") -> bool:
    """Whether the text states only the bound not asked for (a minimum for a maximum). An
    alarm "X low: below 5.0 bar" states a minimum, "X high: above 124 °C" a maximum (the
    alarm's name may be in another sentence of the line)."""
    below, above = bool(_BELOW.search(text)), bool(_ABOVE.search(text))
    low, high = bool(_LOW.search(line or text)), bool(_HIGH.search(line or text))
    lower = bool(_LOWER_ONLY.search(text)) or (below and low and not high)
    upper = bool(_UPPER_ONLY.search(text)) or (above and high and not low)
    unclear = (below and not lower) or (above and not upper) or bool(_EITHER.search(
        _BELOW.sub(" ", _ABOVE.sub(" ", text))))
    states_other, states_same = (lower, upper) if bound == "upper" else (upper, lower)
    return states_other and not states_same and not unclear


# Common spellings without the apostrophe: "whats the limit", "hows it done".
_TYPOS = ((re.compile(r"\bwhats\b", re.IGNORECASE), "what's"),
          (re.compile(r"\bhows\b", re.IGNORECASE), "how's"),
          (re.compile(r"\bwhos\b", re.IGNORECASE), "who's"),
          (re.compile(r"\bwheres\b", re.IGNORECASE), "where's"),
          (re.compile(r"\btemps?\b", re.IGNORECASE), "temperature"))
_AUX_START = re.compile(r"^\s*(?:is|are|am|was|were|may|can|could|must|should|shall|do|does|"
                        r"did|will|would|has|have)\b", re.IGNORECASE)
_WH_WORD = re.compile(r"\b(?:what|which|who|whom|when|how|where)\b", re.IGNORECASE)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


# Numbered items that work like codes: "Cycle 5", "key 2", "program 3", "mode 1".
_LABEL = re.compile(r"\b(cycle|key|program|programme|mode|setting|position|option|menu|channel|"
                    r"zone|station|port|error|fault|code|alarm|step|phase|level|stage)\s*#?\s*"
                    r"(\d{1,3}[a-z]?)\b(?![.,]\d)", re.IGNORECASE)
_WHAT_DOES = re.compile(r"\bwhat(?:'s| (?:does|do|is))\b.{0,60}\b(?:do|does|mean|means|for|stand|"
                        r"indicate|used)\b|\bmeaning\b|\bwhat(?:'s| is) \w+ \d", re.IGNORECASE)


def labels_in(text: str) -> set[str]:
    """Numbered items named in a text, as "CYCLE 5" (markdown emphasis ignored)."""
    return {f"{m.group(1).upper()} {m.group(2).upper()}"
            for m in _LABEL.finditer(text.replace("*", ""))}


def question_sentence(question: str) -> str:
    """The sentence that asks: "The SST failed on HPLC-05. Can I still report?" asks a yes/no
    rule; the situation told before it names the subject, not the kind of answer."""
    parts = [p for p in _SENTENCE_END.split(question.strip()) if p.strip()]
    asking = [p for p in parts if p.rstrip().endswith("?")]
    return (asking[-1] if asking else parts[-1]) if parts else question


def asked_for(question: str) -> Asked:
    for typo, spelling in _TYPOS:
        question = typo.sub(spelling, question)
    labels = frozenset(labels_in(question))
    codes = frozenset(codes_in(question)) | labels
    asking = _REQUEST.sub("", question_sentence(question), count=1)
    offered = _ALTERNATIVES.search(asking)
    options = frozenset(offered.group(i).split()[0].lower() for i in (1, 2)) if offered \
        else frozenset()
    if options:
        kind = "classification"  # "is it a minor or a major deviation?" asks which class
    elif (_AUX_START.match(asking) and not _WH_WORD.search(asking)) or _WHETHER.match(asking):
        kind = "yes_no"  # "Was an entry back-dated?" asks for a fact or rule, not a date
    else:
        kind = next((name for name, pattern in _KINDS if pattern.search(asking)), "any")
    if kind != "code_meaning" and labels and _WHAT_DOES.search(asking):
        kind = "code_meaning"  # "What does Cycle 5 do?": the numbered item is the code
    if kind == "code_meaning" and not codes:
        kind = "any"
    # A code's parts ("bal" of BAL-12) name the equipment, which every retrieved line is
    # about: they are no subject words.
    code_parts = _focus_words(" ".join(c.replace("-", " ") for c in codes))
    focus = frozenset(_focus_words(question, redone=False) - _GENERIC - code_parts
                      - {c.lower() for c in codes} - _focus_words(" ".join(options)))
    stems = _ACTIONS if kind in _TIMED_KINDS else _DATED_ACTIONS if kind == "date" \
        else _PROPERTIES if kind in _VALUE_KINDS else ()
    # (_names: "speed" is stemmed to "spe" among the focus words, and still names a speed.)
    required = frozenset(a for a in stems if any(_names(w, a) for w in focus)) | (
        frozenset({"ph"}) if kind in _VALUE_KINDS and re.search(r"\bph\b", asking, re.IGNORECASE)
        else frozenset())
    if kind == "date":
        # "when did FDA reinspect": a re-done act is dated by its own word, not the first one's
        required |= {w for w in focus if w.startswith("re") and len(w) > 5
                     and any(_names(w[2:], a) for a in _DATED_ACTIONS)}
    unit = _COUNT_UNIT.search(asking) if kind == "count" else None
    amount = bool(unit and re.fullmatch(_UNIT, unit.group(1) or unit.group(2), re.IGNORECASE)) \
        or (kind == "count" and not unit and bool(re.search(r"\bhow much\b", asking, re.I)))
    counted = _counted(asking[unit.start(1) if unit.group(1) else unit.start(2):]) \
        if kind == "count" and unit and not amount else frozenset()
    # A bound the question states itself ("minimum's 350 m3/h, whats the upper limit?",
    # "needs 60C or more, but how hot is too hot?") is context: the other one is asked, and a
    # line stating only the given number does not answer.
    given = frozenset(_number_key(n) for m in _STATED_BOUND.finditer(asking)
                      for n in re.findall(_NUM, m.group(0)))
    unbound = _STATED_BOUND.sub(" ", asking)
    upper, lower = bool(_ASKS_UPPER.search(unbound)), bool(_ASKS_LOWER.search(unbound))
    if _ALARM_ASKED.search(unbound):
        # "the low temperature alarm", "high pressure trip": an alarm on one side is a bound.
        # ("high-shear granulator" names a machine, not a bound.)
        upper = upper or bool(re.search(r"\bhigh\b(?!-)", unbound, re.IGNORECASE))
        lower = lower or bool(re.search(r"\blow\b(?!-)", unbound, re.IGNORECASE))
    bound = "upper" if upper and not lower else "lower" if lower and not upper else ""
    label = f"what {' or '.join(sorted(codes))} means" if kind == "code_meaning" \
        else _label(asking, kind)
    head = _counted_head(asking[unit.start(1) if unit.group(1) else unit.start(2):]) \
        if counted and unit else ""
    attribute = _attribute(asking, codes) if kind in _VALUE_KINDS else frozenset()
    references = frozenset(_SECTION_REF.findall(question))
    shelf = kind == "duration" and bool(_SHELF_ASKED.search(asking))
    named = frozenset(_amount_key(m.group(1)) for m in _NAMED_AMOUNT.finditer(asking))
    not_subject = _GENERIC | {c.lower() for c in codes} | code_parts
    holders = frozenset(_stems(property_holders(asking)) - not_subject - attribute) \
        if kind in _VALUE_KINDS else frozenset()
    said_of = yes_no_subject(asking) if kind == "yes_no" else role_object(asking) \
        if kind == "role" else limit_object(asking) if kind in ("criterion", "measure") else []
    per = _PER.search(asking) if kind == "count" else None
    if per:
        said_of = [*said_of, per.group(1)]  # "how many tubes per jar": per jar
    subject = frozenset(_stems(said_of) - not_subject)
    asked_unit = _ASKED_TIME_UNIT.search(asking) if kind == "duration" else None
    time_unit = _time_unit(asked_unit.group(1)) if asked_unit else ""
    return Asked(kind, focus, codes, label, required, amount, counted, options, bound, head,
                 attribute, references, shelf, named, holders, subject, time_unit,
                 given if bound else frozenset(),
                 kind in ("criterion", "measure") and bool(_LIMIT_ASKED.search(asking)))


_LIMIT_ASKED = re.compile(r"\b(?:limits?|criteri(?:on|a)|specifications?|tolerances?|"
                          r"acceptance)\b", re.IGNORECASE)
# What a line says to state a limit rather than a reading: a limit's name, a bound, a rule.
_LIMIT_LINE = re.compile(r"\b(?:limits?|criteri(?:on|a)|specifi\w*|spec|tolerances?|accept\w*|"
                         r"max(?:imum)?|min(?:imum)?|not (?:more|less) than|no (?:more|less) than|"
                         r"at (?:least|most)|up to|or (?:less|more|lower|higher|below|above)|below|"
                         r"above|within|between|range|alarms?|action|alert|must|shall|should|"
                         r"only|pass\w*|fail\w*|exceed\w*|target|set ?points?|nmt|nlt|complies|"
                         r"conform\w*|required?)\b|[≤≥<>±]|"
                         rf"(?<!from )(?<!between ){_NUM}\s*[^\s\d]*\s*(?:-|–|to)\s*{_NUM}",
                         re.IGNORECASE)  # a range, not a change ("from 4.1 to 6.8")


_STATED_BOUND = re.compile(
    rf"\b(?:min(?:imum)?|max(?:imum)?|at least|at most|lower|upper)(?:'s|’s|\s+is|\s+of)?\s*"
    rf"{_NUM}[^,;?]*|{_NUM}\s*\S*\s+or (?:more|less|higher|lower|above|below|greater)\b",
    re.IGNORECASE)


def _number_key(number: str) -> str:
    return f"{float(number.replace(',', '.')):g}"


def _without(given: frozenset[str], values: str) -> str:
    """The values without the numbers the question gave itself."""
    if not given:
        return values
    return re.sub(_NUM, lambda m: " " if _number_key(m.group(0)) in given else m.group(0), values)


_PER = re.compile(r"\bper\s+([a-z][\w-]*)", re.IGNORECASE)
_ASKED_TIME_UNIT = re.compile(r"\bhow many\s+(seconds|minutes|hours|days|weeks|months|years)\b",
                              re.IGNORECASE)
# Time units in order of size; a value one step away from the asked unit may answer it.
_TIME_UNITS = ("s", "min", "h", "d", "wk", "mo", "yr")
_TIME_UNIT_WORD = re.compile(rf"{_NUM}\s*(?:(?:-|to|–|and)\s*{_NUM}\s*)?(?:[a-z]+\s+)?"
                             rf"({_TIME_UNIT})\b", re.IGNORECASE)


def _time_unit(word: str) -> str:
    word = word.lower()
    for unit, prefixes in (("min", ("min",)), ("mo", ("month",)), ("s", ("s",)),
                           ("h", ("h",)), ("d", ("d",)), ("wk", ("w",)), ("yr", ("y",))):
        if word.startswith(prefixes):
            return unit
    return ""


def _near_time_unit(unit: str, values: str) -> bool:
    """Whether the text states a time within one unit of size of `unit`."""
    want = _TIME_UNITS.index(unit)
    return any(abs(_TIME_UNITS.index(u) - want) <= 1 for u in (
        _time_unit(m.group(1)) for m in _TIME_UNIT_WORD.finditer(values)) if u)


def _stems(words: Iterable[str]) -> set[str]:
    """Content words of a phrase, a hyphenated word by its parts ("clean-side": clean, side):
    a line may write it apart."""
    return content_words(" ".join(w.replace("-", " ") for w in words))


# "the 50 g check weight", "the E2 1 g weight", "a 5 mm test piece": an amount between an
# article (and perhaps a code) and a noun names the item.
_NAMED_AMOUNT = re.compile(r"\b(?:the|a|an)\s+(?:[A-Z]+\d\w*\s+)?(\d+(?:[.,]\d+)?\s*(?:mg|g|kg|"
                           r"ml|l|mm|cm|µm|um|µl|ul))\s+[a-z]", re.IGNORECASE)


def _amount_key(amount: str) -> str:
    """'50 g' and '50g' and '50.0 g' alike."""
    number, unit = re.match(r"([\d.,]+)\s*(\S+)", amount).groups()  # type: ignore[union-attr]
    return f"{float(number.replace(',', '.')):g} {unit.lower()}"


def _amounts_in(text: str) -> set[str]:
    return {_amount_key(m.group(0)) for m in re.finditer(
        r"(?<![\w.])\d+(?:[.,]\d+)?\s*(?:mg|g|kg|ml|l|mm|cm|µm|um|µl|ul)\b", text, re.IGNORECASE)}


_SHELF_ASKED = re.compile(r"\bgood for\b|\b(?:is|are) (?:it|they|these|those) good\b|\b(?:stays?|"
                          r"remains?|keeps?) (?:viable|good|usable|stable|valid)\b|\bviable\b|"
                          r"\bshelf|\bexpir|\buse-?by\b|\bbefore (?:re-?\w+|discard\w*)", re.IGNORECASE)
_SHELF_LINE = re.compile(r"\b(?:stor\w*|kept|keep\w*|expir\w*|shelf|use(?:d)? (?:within|by|for)|"
                         r"use-by|good for|viab\w*|discard\w*|hold time|valid\w*|"
                         r"stable (?:for|up to)|stability)\b",
                         re.IGNORECASE)


# "the nitrate limit", "Intas's action limit", "its detection limit": the words before the
# limit's name say which limit.
_LIMIT_NAME = re.compile(r"((?:[\w'’/-]+\s+){1,2})(?:limits?|criteri(?:on|a)|tolerances?|"
                         r"specifications?|ratings?|endpoints?|levels?|values?)\b", re.IGNORECASE)
_NOT_ATTRIBUTE = content_words(
    "upper lower allowable allowed applicable acceptable accepted specified required pass "
    "passing current new old its their our your this that these those which what whats the "
    "acceptance maximum minimum max min exact correct right usual typical in-process "
    "regulatory legal official set given stated defined validated")


def _attribute(asking: str, codes: frozenset[str]) -> frozenset[str]:
    found = _LIMIT_NAME.search(asking)
    if not found:
        return frozenset()
    # A possessor ("Intas's action limit", "the firm's") says whose limit, not which.
    named = re.sub(r"[\w-]+(?:'s|s')(?=\s)", " ", found.group(1).replace("’", "'"))
    words = _focus_words(named) - _GENERIC \
        - _NOT_ATTRIBUTE - {c.lower() for c in codes}
    return frozenset(w for w in words if not re.fullmatch(r"\d+\w*", w))


def _counted_head(words_after: str) -> str:
    phrase = []
    for word in re.findall(r"[a-z][\w-]*", words_after.lower())[:4]:
        if word in _COUNT_STOP:
            break
        phrase.append(word)
    heads = _focus_words(phrase[-1]) if len(phrase) > 1 else set()
    return next(iter(heads)) if len(heads) == 1 else ""


# A section number of a regulation or guidance: "820.22", "§ 820.180", "CPG Sec. 300.400",
# "21 CFR 211.68" (three digits, a point, digits; no unit after it: "121.0 °C" is none).
_SECTION_REF = re.compile(rf"(?<![\w.])(\d{{3}}\.\d{{1,4}})(?![\d.]|\s*{_UNIT})", re.IGNORECASE)


# A line must name at least this share of the question's subject words (and at least one):
# measured on the tuning sets, 0.5 declined 3 more answerable demo questions than 0.34 for
# one more near-miss caught.
MIN_FOCUS_SHARE = 0.34


def holds(asked: Asked, text: str) -> bool:
    """Whether `text` (a unit as read, with its column names and section) holds a value of the
    asked kind about the question's focus."""
    return not why_not(asked, text)


def why_not(asked: Asked, text: str) -> str:
    """Why `text` does not hold what was asked (the rule that rejects it), "" when it does."""
    if asked.kind == "code_meaning":
        return "" if asked.codes & (codes_in(text) | labels_in(text)) else "code"
    check = _HOLDS["measure"] if asked.kind == "count" and asked.amount \
        else _HOLDS.get(asked.kind)
    if asked.options:
        def check(t: str) -> bool:
            return any(re.search(rf"\b{re.escape(o)}", t, re.IGNORECASE) for o in asked.options)
    if check is None:
        return ""  # nothing specific asked: the best line is the answer
    # The value must be there, about the question's subject, and for the work asked about.
    values = _times(asked, _values_for(asked.kind, text))
    if not check(values):
        return "kind"
    words = _focus_words(text)
    # A property is named by its word or by the unit of a stated value ("50-60°C" is a
    # temperature even where the line does not say "temperature").
    if not all(any(_names(w, a) or any(_names(w, o) for o in _SAME_WORK.get(a, ()))
                   for w in words)
               or (a in _PROPERTY_UNIT and _PROPERTY_UNIT[a].search(values))
               for a in asked.required):
        return "required"
    if asked.counted and not _counts_the(asked.counted, values, asked.counted_head):
        return "counted"
    if asked.attribute and not all(any(_same_word(a, w) for w in words) for a in asked.attribute):
        return "attribute"  # "the nitrate limit" is not answered by the conductivity limit
    if asked.holders and not all(any(_same_word(h, w) for w in words) for h in asked.holders):
        return "holder"  # "what chopper speed" is not answered by the impeller's speed
    if asked.subject and not all(any(_same_word(h, w) for w in words) for h in asked.subject):
        return "subject_np"  # "is a damp cloth allowed" is not answered by the dry-cloth rule
    if asked.limit and not _LIMIT_LINE.search(values):
        return "no_limit"  # a reading is no limit
    if asked.time_unit and not _near_time_unit(asked.time_unit, values):
        return "time_unit"  # "how many years" is not answered by "2-3 days"
    if asked.kind == "classification" and asked.options and asked.codes and not _names_codes(
            asked.codes, codes_in(text) | labels_in(text)):
        return "code"  # "E-24: abort alarm or warning?" is not answered by what a warning is
    if _other_label(asked.codes, text):
        return "other_label"  # Cycle 3's time does not answer "how long is Cycle 4"
    if asked.references and not _in_sections(asked.references, text):
        return "references"
    if asked.named_amounts and not asked.named_amounts & _amounts_in(text):
        return "named_amount"  # the 200 g weight's tolerance is not the 50 g weight's
    if asked.shelf and not _SHELF_LINE.search(text):
        return "shelf"  # how long a step takes is no shelf life
    if asked.kind in _VALUE_KINDS and asked.required:
        # The property is checked above; the subject is the rest: "the compressed air pressure"
        # is not answered by the plant steam pressure.
        # (Nor is any word naming a property: "what shaker speed (rpm)" is about the shaker.)
        subject = [f for f in asked.focus if not any(_names(f, a) for a in _PROPERTIES)]
        if subject and not any(_same_word(f, w) or _contracted(f, w) for f in subject
                               for w in words):
            return "subject"
    if asked.kind == "frequency" and len(asked.required) == 1:
        # The work must be done to the thing asked about: "how often are the levelling feet
        # serviced" is not answered by when the balance goes back to its service provider.
        # (Two kinds of work named, "close the investigation", are work and thing at once.)
        things = [f for f in asked.focus if not any(_names(f, a) for a in asked.required)]
        if things and not any(_same_word(f, w) for f in things for w in words):
            return "thing"
    if asked.focus and focus_matches(asked, text) < max(1, round(
            MIN_FOCUS_SHARE * len(asked.focus))):
        return "focus_share"
    # The value must be said of the subject: "the analyst poured acid ... reported it on
    # November 22" dates the report, not the pouring. One sentence must hold a value of the
    # kind and a word of the subject.
    # One bound asked: that sentence must not state only the other ("at least 30 min" is no
    # longest time).
    bounded = asked.bound and asked.kind in VALUE_KINDS
    if not (asked.focus or bounded):
        return ""
    best = hidden = other = told = 0
    for sentence in split_sentences(text):
        if sentence.rstrip(" *_").endswith("?"):
            continue  # a question in the text ("Let's spin at 2000 RPM ... what is the g?") asks
        values = _times(asked, _without(asked.given, _values_for(asked.kind, sentence)))
        matched = focus_matches(asked, sentence) if asked.focus else 1
        if check(values):
            if matched >= 1 and not (bounded and _only_other_bound(asked.bound, values, text)):
                best = max(best, matched)
                if " > " not in sentence:  # (the section path, with the step's number after it)
                    told = max(told, matched)
        elif _REDACTED.search(sentence):
            hidden = max(hidden, matched)
        elif told and len(sentence.split()) > 6 and " > " not in sentence:
            # (Only after the value: a sentence before it sets the subject the value's sentence
            # goes on about, "Measure the working length of every punch. Each must be within
            # ±0.03 mm"; a heading or a fragment tells no subject.)
            other = max(other, matched)
    # A value redacted where the subject is named ("Your action level is (b)(4) or more CFU")
    # is not stated by a number in a sentence about the subject no better ("83 CFU were
    # recovered from an operator's neck").
    if best < 1:
        return "sentence"
    if asked.kind in VALUE_KINDS and hidden >= best:
        return "redacted"
    # The subject told in a sentence without the value, the value in another that names it
    # less: "Dry the bowl ... at 60 °C for 30 min. Dry the parts in the drying cabinet at
    # 60 °C." gives the bowl's drying time, not the parts'.
    if asked.kind in VALUE_KINDS and other > told + ELSEWHERE_MARGIN:
        return "elsewhere"
    return ""


# How many more subject words a sentence without the value must name than the value's best
# sentence for the value to be another thing's (tuned on the tuning sets: see round 5).
ELSEWHERE_MARGIN = 0


def _times(asked: Asked, values: str) -> str:
    """"rinse 3x" says three times, when times are counted ("10x magnifier" is no count)."""
    if asked.kind == "count" and any(c.startswith("tim") for c in asked.counted):
        return re.sub(r"(?<![\w.])(\d+)\s*x\b", r"\1 times", values)
    return values


# FDA's redaction marks hide a value: "(b)(4) batches" states no number.
_REDACTED = re.compile(r"\(b\)\s?\(\d\)(?:-\d+)?")


# A step's own number ("6. If the SST fails again ...") counts nothing.
_STEP_NUMBER = re.compile(r"^\s*(?:[-*•]\s*)?\d{1,2}[.)]\s+|(?<=[.;:]\s)\d{1,2}[.)]\s+",
                          re.MULTILINE)
# References to a text are no value either: "Sec. 300.400", "21 CFR 211.42", "§ 501(c)".
_REFERENCE = re.compile(r"\b\d+\s+(?:CFR|U\.?S\.?C)\.?\s+(?:part\s+)?\d+[\w.()-]*|(?:\b(?:"
                        r"sec(?:tion)?s?|parts?|cpg|chapter|article|annex|clause|paragraph|"
                        r"appendix)\.?|§{1,2})\s*\d+[\w.()-]*", re.IGNORECASE)


def values_of(text: str) -> str:
    """The text without the digits that are no value: those inside codes and ids ("ISO-03",
    "SOP-QA-009", "DEV-2026-019" hold no count, limit or year), references to sections and
    regulations, redacted values and the footnote or page numbers of text taken from a PDF
    ("15 See ..." at the start of a line or sentence)."""
    text = _FOOTNOTE.sub(" ", _STEP_NUMBER.sub(" ", text))
    return _REDACTED.sub(" ", _REFERENCE.sub(" ", CODE.sub(" ", text)))


# A footnote or page number where a line or sentence starts ("15 See the guidance ..."), glued
# to a sentence's end ("heparin production.4,5 This"), or between a heading and a sentence
# ("Reuse Life 20 The labeling"); an enumerator ("and 2) that"); an id of numbers only
# ("Warning Letter 320-26-81").
_FOOTNOTE = re.compile(r"(?:^|(?<=[.!?]\s))\d{1,3}\s+(?=[A-Z\u201c\"][a-z])|(?<=[a-z][.,;])\d{1,2}"
                       r"(?:,\d{1,2})*(?=\s|$)|(?<=[a-z] )\d{1,3} (?=(?:The|This|These|That|In|"
                       r"For|We|FDA|If|When|Your|You|It)\b)|(?<![(\w.])\d{1,2}\)(?=\s)|"
                       r"\b(?!\d{4}-\d{2}-\d{2}\b)\d{1,4}-\d{1,4}-\d{1,4}\b", re.MULTILINE)
# A year ("in 2018", "between 2019 and 2024", "FYs 2023-2027") is no count, limit or measure;
# "2000 RPM" is (a unit follows).
_YEAR = re.compile(rf"(?<![\d.,])(?:19|20)\d{{2}}(?!\d|[.,]\d|\s*{_UNIT})", re.IGNORECASE)
# A cleanroom or product class is no limit or count: "ISO 7 and ISO 8 areas", "Class II".
_CLASS_NAME = re.compile(r"\b(?:iso(?: class)?|class|grade)\s+(?:[ivx]+|\d|[a-d])\b(?:\s*(?:,|and|"
                         r"or|to)\s*(?:[ivx]+|\d|[a-d])\b)*", re.IGNORECASE)


# A span of dates ("between January and June 2025", "from 2019 to 2024") states when, not a
# limit: its "between" is no range of values, nor its month a measure.
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DATE_TOKEN = (rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}|(?:\d{{1,2}}\s+)?"
               rf"{_MONTH}(?:\s+\d{{1,2}}(?!\d))?(?:,?\s+(?:19|20)\d{{2}})?|(?:19|20)\d{{2}})")
_DATE_SPAN = re.compile(rf"\b(?:(?:between|from|since)\s+)?{_DATE_TOKEN}\s*(?:and|to|through|"
                        rf"until|-|–)\s*{_DATE_TOKEN}\b|\b{_MONTH}\s+(?:19|20)\d{{2}}\b",
                        re.IGNORECASE)


def _values_for(kind: str, text: str) -> str:
    text = values_of(text)
    if kind == "date":
        return text
    text = _YEAR.sub(" ", _FULL_DATE.sub(" ", _DATE_SPAN.sub(" ", text)))
    return text if kind == "classification" else _CLASS_NAME.sub(" ", text)


def states_value(text: str) -> bool:
    """Whether the text states a number that is a value (not a code's digits)."""
    return bool(re.search(r"\d", values_of(text)))


def focus_matches(asked: Asked, text: str) -> int:
    """How many focus words of the question the text has (prefix match: 'discover' finds
    'discovery', 'gown' finds 're-gowning')."""
    words = _focus_words(text)
    return sum(1 for f in asked.focus if any(_same_word(f, w) for w in words))


def _focus_words(text: str, redone: bool = True) -> set[str]:
    words = content_words(text)
    # A re-done act in a line names the act ("requalification" is a qualification); long
    # stems only ("report" is no port). (Not among a question's own words: "replacement" asks
    # a replacement, not a placement.)
    return words | {part for w in words if "-" in w for part in content_words(
        w.replace("-", " "))} | ({w[2:] for w in words if w.startswith("re") and len(w) >= 10}
                                 if redone else set())


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 4 and long_.startswith(short[: max(4, len(short) - 1)])


def _contracted(short: str, long_: str) -> bool:
    """Whether one word is a contraction of the other: 'microfuge' of 'microcentrifuge' (the
    same first five and last four letters)."""
    short, long_ = sorted((short, long_), key=len)
    return len(short) >= 7 and len(long_) > len(short) and short[:5] == long_[:5] \
        and short[-4:] == long_[-4:]


# Work named in other words: a glove "change" is its replacement.
_SAME_WORK = {"chang": ("replac", "swap", "exchang"), "replac": ("chang", "swap", "exchang")}


def _names(word: str, stem: str) -> bool:
    """Whether a word names a property or action stem: "calibrated" names calibrat, and
    "spe" (how the word "speed" is stemmed) names speed."""
    if len(stem) <= 3:
        return word == stem
    return word.startswith(stem) or (len(word) >= 3 and word == _STEMMED.get(stem))


_STEMMED = {a: next((a[:-len(x)] for x in ("ing", "ed", "es", "s") if a.endswith(x)
                     and len(a) - len(x) >= 3), a) for a in _PROPERTIES + _DATED_ACTIONS}


def _in_sections(references: frozenset[str], text: str) -> bool:
    """Whether a line may answer a question naming sections ("under 820.22"): a line whose
    heading or text names other sections and none of these ("§ 820.198 Complaint files")
    does not; a line naming no section (a guidance without numbered headings) may."""
    named = set(_SECTION_REF.findall(text))
    return not named or bool(named & references)


def _other_label(codes: frozenset[str], text: str) -> bool:
    """Whether the line names another item of a kind the question names, and not the one
    asked: "Cycle 3" for "Cycle 4", alarm I-07 for I-02, room S1-112 for S1-101. (Document ids
    such as SOP-QA-009 or CAPA-2025-022-01 have two dashes and are left out: a line may cite
    another document.)"""
    asked: dict[str, set[str]] = {}
    for c in codes:
        if _family(c):
            asked.setdefault(_family(c), set()).add(c)
    if not asked:
        return False
    named: dict[str, set[str]] = {}
    for c in codes_in(text) | labels_in(text):
        if _family(c) in asked:
            named.setdefault(_family(c), set()).add(c)
    return any(not (found & asked[family]) for family, found in named.items())


def _names_codes(asked: frozenset[str], named: set[str]) -> bool:
    """Whether a line names the codes a question asks about: every alarm code (one letter,
    a dash, digits: "I-13"; the equipment tag beside it, "ISO-03", names the manual, which
    every line of it is about), or else one of them."""
    alarms = {c for c in asked if re.fullmatch(r"[A-Z]-\d+", c)}
    return alarms <= named if alarms else bool(asked & named)


def _family(code: str) -> str:
    """'CYCLE 4' -> 'CYCLE', 'E-24' -> 'E-', 'S1-101' -> 'S1-'; '' for document ids."""
    if " " in code:
        return code.split()[0]
    return re.sub(r"\d+$", "", code) if code.count("-") == 1 else ""


def kind_name(kind: str) -> str:
    return _KIND_NAMES.get(kind, "an answer to this question")


_LEAD = re.compile(r"^\s*(?:(?:so|and|ok|okay|hi|hello|quick question)[,:]?\s+)?(?:what|which|"
                   r"who|whom|when|how(?: \w+)?)\s+(?:is|are|was|were|does|do|did|should|must|"
                   r"shall|can|may|'s)?\s*(?:the\s+)?", re.IGNORECASE)


def _label(question: str, kind: str) -> str:
    """'What is the replacement interval of the HEPA filter?' -> 'the replacement interval of
    the HEPA filter'; other shapes get the kind's name."""
    text = " ".join(question.split()).rstrip(" ?.!")
    lead = _LEAD.match(text)
    if lead and kind not in ("yes_no", "any", "role", "steps") and lead.end() < len(text):
        rest = text[lead.end():]
        if len(rest) <= 120:
            return f"the {rest}" if not rest.lower().startswith(("the ", "a ", "an ")) else rest
    return kind_name(kind)
