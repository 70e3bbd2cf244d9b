"""Before/after check of the answer flow refactor (see README.md):
    python SCRIPT HOME OUT.json TRAIL.sqlite
"""
import json
import sys
from pathlib import Path

from copilot import Copilot, Settings
from copilot.llm import ScriptedBackend
from guardrails import AuditTrail, RegexScrubber, User

home, out, trail_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
settings = Settings(home=home, synthesis="on")
kb = Copilot.from_settings(Settings(home=home)).kb
replies = ["On E-22, do not open the door on the clean side [1]. "
           "Operator Maria Kowalski must inform the supervisor [1]. NOT FOUND",
           "On E-22, do not open the door to the clean side [1]. Tell Operator Maria Kowalski [2].",
           "The WFI TOC limit is 500 ppb [1]. It is checked daily [3]."]
backend = ScriptedBackend(replies * 3)
trail = AuditTrail(trail_path)
try:
    from copilot.build import build_copilot
    c = build_copilot(settings, kb=kb, backend=backend, audit=trail, scrubber=RegexScrubber())
except ImportError:
    c = Copilot(settings, kb, backend=backend, audit=trail, scrubber=RegexScrubber())
qs = ["Autoclave AC-02 stopped with alarm E-22, what now? Operator Maria Kowalski asks.",
      "What must the operator do when AC-02 shows alarm E-22?",
      "What is the TOC limit for WFI?"]
res = []
for q in qs:
    events = list(c.ask_stream(q, user=User("olga", "operator"), conversation_id="t1"))
    a = events[-1].answer
    d = json.loads(a.model_dump_json())
    d.pop("timings")
    res.append({"events": [(e.kind, getattr(e, "text", "")) for e in events], "answer": d})
recs = [(r.action, dict(r.details)) for r in trail.records()]
for _, r in recs:
    r.pop("answer_id", None)
out.write_text(json.dumps({"res": res, "audit": recs}, indent=1))
