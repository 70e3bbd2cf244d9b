"""Checks on a question before retrieval or the model see it: prompt injection and the site's
GMP policy. A question that fails either is answered with a refusal that says why and whom to
ask; the verdicts of both checks go on every Answer (and so into the audit trail)."""

from __future__ import annotations

import json
from typing import NamedTuple

from guardrails import ROLES, InjectionDetector, PolicyChecker, Scrubber, refusal_message

from .answer import Answer, GuardVerdicts

INJECTION_REFUSAL = ("I can't follow instructions that try to change how the copilot works. Ask "
                     "your question about the plant's documents in your own words; if you think "
                     "this is a mistake, tell your supervisor.")


class GateVerdict(NamedTuple):
    """What the gate decided: the checks' verdicts, and the refusal to give instead of an
    answer (None: the question goes on to retrieval)."""

    guards: GuardVerdicts
    refusal: Answer | None = None


class QuestionGate:
    def __init__(self, injection: InjectionDetector | None, policy: PolicyChecker | None,
                 model_name: str = "", prompt_version: str = "") -> None:
        self.injection = injection
        self.policy = policy
        self.model_name = model_name
        self.prompt_version = prompt_version

    def screen(self, question: str, role: str | None = None) -> GateVerdict:
        """The verdicts, and the refusal to give instead of an answer (None: go on).

        `role` is the asking user's: the site policy allows some requests to some roles (a
        trainer asking whether a colleague is current on an SOP). None: the strictest reading."""
        guards = GuardVerdicts()
        if self.injection is not None:
            injection = self.injection.check(question)
            guards = GuardVerdicts(injection=injection)
            if injection.flagged:
                why = ", ".join(injection.reasons) or "similar to known attacks"
                return GateVerdict(guards, self._refused(
                    question, INJECTION_REFUSAL, f"prompt injection suspected ({why})", guards))
        if self.policy is not None:
            verdict = self.policy.check(question, role=role)
            guards = guards.model_copy(update={"policy": verdict})
            if verdict.action != "answer":
                return GateVerdict(guards, self._refused(
                    question, refusal_message(verdict),
                    f"site policy {verdict.rule}: {verdict.action.replace('_', ' ')}", guards))
        return GateVerdict(guards)

    def _refused(self, question: str, text: str, reason: str, guards: GuardVerdicts) -> Answer:
        return Answer(question=question, text=text, status="refused", decline_reason=reason,
                      guards=guards, model=self.model_name, prompt_version=self.prompt_version)


class GuardScanner:
    """The three guards, loaded once and run on many texts (`copilot guard scan`; built by
    `copilot.build.build_guard_scanner`): PII spans, the redacted text, and the injection
    and policy verdicts on the redacted text, as JSON-ready dicts."""

    def __init__(self, scrubber: Scrubber, injection: InjectionDetector,
                 policy: PolicyChecker) -> None:
        self.scrubber, self.injection, self.policy = scrubber, injection, policy

    def scan(self, text: str, role: str | None = None) -> dict:
        scrubbed = self.scrubber.scrub(text)
        # Injection and policy see the scrubbed text, as in the answer pipeline.
        injection = self.injection.check(scrubbed.text)
        policy = self.policy.check(scrubbed.text, role=role)
        return {
            "pii": [{"start": s.start, "end": s.end, "type": s.type, "score": round(s.score, 4)}
                    for s in scrubbed.spans],
            "redacted": scrubbed.text,
            "injection": {"flagged": injection.flagged, "score": injection.score},
            "policy": {"action": policy.action, "rule": policy.rule, "role": policy.role},
        }

    def scan_line(self, line: str, number: int, role: str | None = None) -> dict:
        """One JSONL line in, one result out; problems with the line become an error object.
        The line's own "role" overrides `role`."""
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            return {"id": None, "line": number, "error": f"invalid JSON: {exc.msg}"}
        if not isinstance(item, dict):
            return {"id": None, "line": number, "error": "expected a JSON object"}
        text = item.get("text")
        if not isinstance(text, str):
            return {"id": item.get("id"), "line": number,
                    "error": "missing 'text'" if text is None else "'text' must be a string"}
        if item.get("role") is not None:  # null or absent: the --role option's
            role = item["role"]
        if role is not None and role not in ROLES:
            return {"id": item.get("id"), "line": number,
                    "error": f"unknown role {role!r}; roles: {', '.join(ROLES)}"}
        try:
            return {"id": item.get("id"), **self.scan(text, role)}
        except Exception as exc:  # one failing text must not end the batch
            return {"id": item.get("id"), "line": number,
                    "error": f"{type(exc).__name__}: {exc}"}


__all__ = ["GateVerdict", "GuardScanner", "INJECTION_REFUSAL", "QuestionGate"]
