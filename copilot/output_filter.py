"""The answer as it may be shown and recorded: one stage after the pipeline.

The model's own words (its streamed sentences, its draft, the verdicts' reasons and the summary)
are scrubbed of personal data with the conversation's scrub session, so `<PERSON_1>` stays the
same person within one conversation. Lines of the evidence card and quoted passages stay
verbatim: they come from controlled documents the role may see (deviation passages were
already redacted before the model saw them, `sources.deviation_redactor`). The gate's verdicts
are attached, and notes on policy and revision status added to the text.
"""

from __future__ import annotations

from guardrails import Scrubber, ScrubSession

from .answer import Answer, GuardVerdicts
from .pipeline import Event, SentenceEvent


class OutputFilter:
    """One question's output stage: `question` before the gate and the pipeline see it, then
    `event` on each event the pipeline yields (with the gate's verdicts)."""

    def __init__(self, scrubber: Scrubber | None, session: ScrubSession | None = None) -> None:
        self.scrubber = scrubber
        self.session = session if session is not None or scrubber is None else ScrubSession()

    def scrub(self, text: str) -> str:
        """Free text with personal data replaced by the session's placeholders."""
        if self.scrubber is None:
            return text
        return self.scrubber.scrub(text, session=self.session).text

    def question(self, question: str) -> str:
        """The question as retrieval, the guards, the model and the audit trail see it."""
        return self.scrub(question)

    def event(self, event: Event, guards: GuardVerdicts) -> Event:
        """The pipeline's event as it may be shown and recorded."""
        if isinstance(event, SentenceEvent):
            return SentenceEvent(self.scrub(event.text))
        return type(event)(self.answer(event.answer, guards))

    def answer(self, answer: Answer, guards: GuardVerdicts) -> Answer:
        """The model's words scrubbed, the guards' verdicts attached, and notes on policy and
        revision status added."""
        if self.scrubber is not None:
            summary = [self.scrub(s) for s in answer.summary]
            updates: dict = {
                "draft": self.scrub(answer.draft),
                # A verdict's reason may quote the sentence's words (names).
                "sentences": [c.model_copy(update={"text": self.scrub(c.text),
                                                   "reason": self.scrub(c.reason)})
                              for c in answer.sentences],
                "summary": summary}
            if answer.summary:
                updates["text"] = answer.text.replace(" ".join(answer.summary),
                                                      " ".join(summary), 1)
            answer = answer.model_copy(update=updates)
        return answer.model_copy(update={"guards": guards, **_policy_note(answer, guards),
                                         **_status_note(answer)})


def _status_note(answer: Answer) -> dict:
    """An answer that cites a revision other than the effective one says so in its text, not
    only on the citation card: a draft is not approved, a superseded revision no longer
    applies."""
    others = [c for c in answer.citations if c.status != "effective"]
    if not others:
        return {}
    named = ", ".join(dict.fromkeys(f"{c.doc_id} rev {c.revision} ({c.status.upper()})"
                                    for c in others))
    return {"text": f"Not the effective revision: this answer cites {named}.\n\n{answer.text}"}


def _policy_note(answer: Answer, guards: GuardVerdicts) -> dict:
    """A question the site policy allows for this role (a trainer asking about a colleague's
    training status) that the documents cannot answer: add the policy's note on where the
    answer is kept to the decline."""
    note = guards.policy_note
    if answer.status != "declined" or not note:
        return {}
    return {"text": f"{answer.text}\n\n{note}"}


__all__ = ["OutputFilter"]
