"""Checks on a question before retrieval or the model see it: prompt injection and the site's
GMP policy. A question that fails either is answered with a refusal that says why and whom to
ask; the verdicts of both checks go on every Answer (and so into the audit trail)."""

from __future__ import annotations

from typing import NamedTuple

from guardrails import InjectionDetector, PolicyChecker, refusal_message

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


__all__ = ["GateVerdict", "INJECTION_REFUSAL", "QuestionGate"]
