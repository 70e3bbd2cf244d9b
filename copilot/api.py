"""The public Python API: `Copilot.from_settings().ask(question, user=...)`.

`Copilot` holds the use cases (ask, chat, search, ingest, check a text, similar deviations,
feedback); its parts are chosen and built by the composition root, `copilot.build`. One
question runs as stages: validate -> scrub (`OutputFilter.question`) -> gate
(`QuestionGate.screen`) -> pipeline (`AnswerPipeline.stream`: card, sentences, answer) ->
output filter (`OutputFilter.event`) -> audit record (`_AnswerRecord`) -> shown."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from importlib import resources
from pathlib import Path

from guardrails import (
    AuditSink,
    GuardrailError,
    PermissionDeniedError,
    Scrubber,
    ScrubSession,
    ScrubVault,
    User,
    demo_user,
    require,
)
from knowledge import FileResult, Hit, IngestReport, KnowledgeBase, SearchFilter

from .answer import Answer
from .conversation import Conversations, standalone
from .deviations import DeviationMatch, similar_deviations
from .errors import AccessDeniedError, BadQuestionError, CopilotError
from .grounding import GroundingVerifier
from .guarding import QuestionGate
from .lazy import Lazy, part
from .llm import ChatBackend
from .output_filter import OutputFilter
from .pipeline import (
    MAX_COMMENT_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_QUESTION_CHARS,
    AnswerEvent,
    AnswerPipeline,
    Event,
    SentenceEvent,
    final_answer,
    validate_question,
    validate_text,
)
from .settings import Settings
from .sources import SourceView, needs_redaction, open_source, redacted_hits
from .text_check import MAX_DOC_ID_CHARS, ClaimChecker, DocumentNotVisibleError, TextCheck
from .training import TrainingService
from .user_admin import Accounts


def demo_plant_path() -> Path:
    """The bundled demo plant (package data), usable from an installed package."""
    return Path(str(resources.files("copilot").joinpath("demo_plant")))


class Copilot:
    """The copilot's use cases over parts it is given: `copilot.build.build_copilot(settings)`
    (or `Copilot.from_settings`) picks and builds them. Parts that are slow to load (the chat
    model, the PII models, the guards) come as `Lazy` parts and load on first use: ingest and
    search never pay for the chat model."""

    def __init__(self, settings: Settings, kb: KnowledgeBase, *, audit: AuditSink,
                 scrubber: Scrubber | None | Lazy[Scrubber | None],
                 backend: ChatBackend | Lazy[ChatBackend],
                 pipeline: AnswerPipeline | Lazy[AnswerPipeline],
                 gate: QuestionGate | Lazy[QuestionGate],
                 accounts: Accounts | Lazy[Accounts],
                 training: TrainingService | Lazy[TrainingService],
                 verifier: GroundingVerifier) -> None:
        self.settings = settings
        self.kb = kb
        # Every ask, search and ingest leaves a hash-chained record before its result is shown.
        self.audit = audit
        self.verifier = verifier  # the answers' grounding verifier, also for check_text
        self._scrubber = part(scrubber)
        self._backend = part(backend)
        self._pipeline = part(pipeline)
        self._gate = part(gate)
        self._accounts = part(accounts)
        self._training = part(training)
        # Placeholders stay stable within one conversation (<PERSON_1> is the same person).
        self.vault = ScrubVault()
        self.conversations = Conversations()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Copilot:
        """Every part as `settings` choose (`copilot.build.build_copilot`)."""
        from .build import build_copilot  # the composition root imports this module

        return build_copilot(settings or Settings())

    @property
    def pipeline(self) -> AnswerPipeline:
        """Retrieval, the evidence card and the model's verified summary (the chat model
        loads on first use)."""
        return self._pipeline.get()

    @property
    def training(self) -> TrainingService:
        """Quiz modules, learner records, spaced repetition and the training matrix."""
        return self._training.get()

    def training_users(self) -> list[User]:
        """Whom the training matrix lists: the plant's active accounts, or in a home without
        accounts (demo, CLI) the learners on record plus one demo user per role."""
        accounts = [a for a in self.accounts.store.list() if not a.disabled]
        if accounts:
            return [User(a.name, a.role) for a in accounts]
        return self.training.known_users()

    @property
    def gate(self) -> QuestionGate:
        """Injection and policy checks on questions (embedding models load on first use)."""
        return self._gate.get()

    @property
    def accounts(self) -> Accounts:
        return self._accounts.get()

    def account_user(self, name: str) -> User:
        """The stored account as a `User`, read afresh (role changes apply at once);
        a disabled account is refused."""
        try:
            account = self.accounts.store.get(name)
        except GuardrailError as exc:
            raise AccessDeniedError(f"unknown user {name!r}") from exc
        if account.disabled:
            raise AccessDeniedError(f"account {name!r} is disabled")
        return User(account.name, account.role)

    def backend_name(self) -> str:
        """The chat model's name, without loading it."""
        if self._backend.loaded:
            return self._backend.get().name
        return f"{self.settings.llm} (loads on first use)"

    @property
    def scrubber(self) -> Scrubber | None:
        """The PII scrubber (its models load on first use); None when scrubbing is off."""
        return self._scrubber.get()

    def ask(self, question: str, user: User | None = None,
            conversation_id: str | None = None) -> Answer:
        """Answer from the effective documents the user may see, or decline."""
        return final_answer(self.ask_stream(question, user, conversation_id))

    def ask_stream(self, question: str, user: User | None = None,
                   conversation_id: str | None = None) -> Iterator[Event]:
        """The evidence card first (`CardEvent`), then any verified summary sentences
        (`SentenceEvent`), then the final `AnswerEvent`; each is written to the audit trail
        before it is handed out. A decline or refusal is a single `AnswerEvent`.

        Personal data is scrubbed from the question before retrieval, the model and the audit
        trail see it, and from the model's own words before they are shown or recorded.
        Quoted passages stay verbatim: they come from controlled documents the role may see.
        """
        question = validate_question(question)  # bounded before anything else sees it; once
        user = user or demo_user()
        output = self._output_filter(conversation_id or user.name)
        question = output.question(question)
        guards, refusal = self.gate.screen(question, role=user.role)
        if refusal is not None:
            self.audit.append(user.name, user.role, "ask", _ask_record(refusal))
            yield AnswerEvent(refusal)
            return
        record = _AnswerRecord(self.audit, user, question)
        for event in self.pipeline.stream(question, role=user.role):
            shown = output.event(event, guards)
            record.before_shown(shown)
            yield shown

    def _output_filter(self, conversation_id: str) -> OutputFilter:
        """The output stage of one question, with its conversation's scrub session
        (placeholders stay stable within one conversation: <PERSON_1> is the same person)."""
        scrubber = self.scrubber
        return OutputFilter(scrubber, self.vault.session(conversation_id) if scrubber else None)

    def chat(self, session_id: str, message: str, user: User | None = None) -> Answer:
        """One turn of a conversation; follow-ups ("and if it happens again?") are made
        standalone from the conversation's previous question before retrieval."""
        return final_answer(self.chat_stream(session_id, message, user))

    def chat_stream(self, session_id: str, message: str,
                    user: User | None = None) -> Iterator[Event]:
        previous = self.conversations.get(session_id).last_question
        # Bounded before the follow-up rules' regexes see it (a 40 KB message froze them).
        question = standalone(validate_question(message), previous)
        for event in self.ask_stream(question, user, conversation_id=session_id):
            if isinstance(event, AnswerEvent):
                self.conversations.record(session_id, event.answer.question, event.answer.text)
            yield event

    def end_conversation(self, session_id: str) -> None:
        """Forget a conversation's turns and its scrub session ("New conversation", or a
        closed tab): the session maps placeholders to what they replaced, so it is released
        as soon as the conversation ends instead of when the bounded store drops it."""
        self.conversations.reset(session_id)
        self.vault.forget(session_id)

    async def ask_astream(self, question: str, user: User | None = None,
                          conversation_id: str | None = None) -> AsyncIterator[Event]:
        """The async face of `ask_stream`: the work runs in a thread, events arrive in order."""
        iterator = self.ask_stream(question, user, conversation_id)
        while (event := await asyncio.to_thread(next, iterator, None)) is not None:
            yield event

    def similar_deviations(self, description: str, user: User | None = None,
                           k: int = 5) -> list[DeviationMatch]:
        """Past deviation reports like this one, with root cause and CAPA, for roles that may
        hold `use_similar_deviations` (others are refused, and the refusal is audited)."""
        user = user or demo_user("qa")
        self._require(user, "use_similar_deviations", "search past deviation reports")
        description = validate_text(description, "deviation description",
                                    MAX_DESCRIPTION_CHARS)
        matches = similar_deviations(self.kb, description, user.role, k)
        if needs_redaction("deviation", user.role) and matches:
            matches = [self._redacted_match(m) for m in matches]
        self.audit.append(user.name, user.role, "search", {
            "query": self._scrubbed(description), "kind": "similar_deviations",
            "hits": [{"doc_id": m.doc_id, "revision": m.revision} for m in matches]})
        return matches

    def _require(self, user: User, capability: str, action: str) -> None:
        """The permissions table decides (guardrails.permissions); a refusal is audited."""
        try:
            require(user, capability, action)
        except PermissionDeniedError as exc:
            self.audit.append(user.name, user.role, "access_denied",
                              {"action": action, "capability": capability})
            raise AccessDeniedError(str(exc)) from exc

    def check_text(self, text: str, user: User, doc: str | None = None) -> TextCheck:
        """Check a drafted text (a work instruction, a deviation narrative) sentence by
        sentence against the effective documents the user's role may see, with the answers'
        verifier (`copilot.text_check`): against `doc`, the `[DOC_ID]`s cited in the text, or
        else each sentence's best matching passages. QA and admin only; a refusal, a document
        the role may not see and every check are audited."""
        self._require(user, "check_text", "check a drafted text against the documents")
        text = validate_text(text, "text", MAX_DESCRIPTION_CHARS)
        doc = validate_text(doc, "document id", MAX_DOC_ID_CHARS).strip() if doc else None
        checker = ClaimChecker(self.kb, self.verifier, user.role, search=True)
        try:
            result = checker.check_text(text, doc_id=doc)
        except DocumentNotVisibleError as exc:
            self.audit.append(user.name, user.role, "access_denied", {
                "kind": "check_text", "doc_id": exc.doc_id[:MAX_DOC_ID_CHARS],
                "indexed": exc.indexed})
            raise
        if not result.sentences:
            raise BadQuestionError("the text has no sentences to check")
        reasons = self._scrubbed("\n".join(s.reason for s in result.sentences)).split("\n")
        self.audit.append(user.name, user.role, "search", {
            "kind": "check_text", "text": self._scrubbed(text), "doc": doc,
            "supported": result.supported,
            "sentences": [{"supported": s.supported, "reason": reason, "doc_id": s.doc,
                           "revision": s.revision, "chunk_id": s.chunk_id}
                          for s, reason in zip(result.sentences, reasons, strict=False)]})
        return result

    def _redacted_match(self, match: DeviationMatch) -> DeviationMatch:
        scrubber = self._required_scrubber()
        session = ScrubSession()
        scrub = lambda text: scrubber.scrub(text, session=session).text  # noqa: E731
        return match.model_copy(update={
            "root_cause": scrub(match.root_cause), "capa": scrub(match.capa),
            "citation": match.citation.model_copy(update={"quote": scrub(match.citation.quote)})})

    def _required_scrubber(self) -> Scrubber:
        if self.scrubber is None:
            raise CopilotError("deviation reports cannot be shown to this role: personal data "
                               "cannot be redacted with the PII scrubber switched off")
        return self.scrubber

    def source_view(self, chunk_id: str, user: User | None = None) -> SourceView:
        """A cited passage in its section, for the UI's source viewer; access is checked
        again here, and personal data in deviation reports is redacted for roles without a
        need to know."""
        user = user or demo_user()
        try:
            view = open_source(self.kb, chunk_id, user.role, self.scrubber)
        except AccessDeniedError as exc:
            self.audit.append(user.name, user.role, "access_denied", {
                "kind": "source_view", "chunk_id": str(chunk_id)[:200], "reason": str(exc)})
            raise
        self.audit.append(user.name, user.role, "search", {
            "kind": "source_view", "chunk_id": chunk_id, "doc_id": view.doc_id,
            "revision": view.revision})
        return view

    def feedback(self, user: User, question: str, answer_status: str, helpful: bool,
                 comment: str = "") -> None:
        """Thumbs up or down on an answer, with an optional comment, into the audit trail."""
        comment = validate_text(comment, "comment", MAX_COMMENT_CHARS, allow_empty=True)
        # The question as recorded: scrubbed, so placeholders may make it a little longer.
        question = validate_text(question, "question", 2 * MAX_QUESTION_CHARS)
        self.audit.append(user.name, user.role, "feedback", {
            "question": self._scrubbed(question), "status": answer_status,
            "helpful": helpful, "comment": self._scrubbed(comment)})

    def _scrubbed(self, text: str) -> str:
        """Free text as it may be recorded: personal data scrubbed (the trail is append-only
        and cannot be erased later)."""
        return self.scrubber.scrub(text).text if self.scrubber and text.strip() else text

    def search(self, query: str, k: int = 5, user: User | None = None,
               doc_types: Iterable[str] = (), mode: str = "hybrid") -> list[Hit]:
        user = user or demo_user()
        query = validate_text(query, "query", MAX_QUESTION_CHARS)
        hits = self.kb.search(query, k=k, mode=mode,
                              filters=SearchFilter(role=user.role, doc_types=tuple(doc_types)))
        if any(needs_redaction(h.doc_type, user.role) for h in hits):
            hits = redacted_hits(hits, self._required_scrubber(),
                                 lambda h: needs_redaction(h.doc_type, user.role))
        self.audit.append(user.name, user.role, "search", {
            "query": self._scrubbed(query), "mode": mode, "hits": [_hit_ref(h) for h in hits]})
        return hits

    def ingest(self, paths: Iterable[Path | str] | Path | str, sync: bool = False,
               on_file: Callable[[FileResult], None] | None = None,
               user: User | None = None) -> IngestReport:
        user = user or demo_user("admin")
        self._require(user, "ingest", "ingest documents")
        # One list, read once: a generator would be used up by the ingest before the audit
        # record lists it, and a bare str or Path is one path, not its characters.
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        report = self.kb.ingest(paths, sync=sync, on_file=on_file)
        changed = [f for f in report.files if f.status in ("added", "updated", "removed")]
        self.audit.append(user.name, user.role, "ingest", {
            "paths": [str(p) for p in paths],
            "sync": sync,
            "files": [{"path": f.path, "status": f.status, "doc_id": f.doc_id,
                       "revision": f.revision, "chunks": f.chunks, "reason": f.reason}
                      for f in report.files if f.status != "unchanged"],
            "unchanged": report.count("unchanged")})
        if changed and self._scrubber.loaded:
            learn_document_organisations(self._scrubber.get(), self.kb)
        # Change control: a new revision retires the quiz items whose cited text changed and
        # flags their modules for review; learners trained on the old revision must retrain.
        if changed and self.training.store.modules():
            self.training.reconcile(user)
        return report

    def rescreen(self, user: User | None = None) -> int:
        """Screen every stored passage again for hidden instructions (after an upgrade or new
        injection rules; ingest skips unchanged files). Returns how many are quarantined."""
        user = user or demo_user("admin")
        self._require(user, "ingest", "re-screen the index")
        count = self.kb.rescreen()
        self.audit.append(user.name, user.role, "config_change",
                          {"kind": "rescreen", "quarantined": count})
        return count

    def ensure_demo_plant(self) -> IngestReport | None:
        """Ingest the bundled demo plant when the index is empty."""
        if self.kb.is_empty():
            return self.ingest([demo_plant_path()])
        return None


def _hit_ref(hit: Hit) -> dict:
    return {"chunk_id": hit.chunk_id, "doc_id": hit.doc_id, "revision": hit.revision}


def _ask_record(answer: Answer) -> dict:
    """What an inspector needs: the question as scrubbed, sources with revisions, model and
    prompt version, what was shown, and the verdict on every sentence the model wrote."""
    return {
        "question": answer.question,
        "status": answer.status,
        "answer": answer.text,
        "evidence": [{"n": line.n, "kind": line.kind, "text": line.text}
                     for line in answer.evidence],
        "draft": answer.draft,
        "decline_reason": answer.decline_reason,
        "citations": [{"n": c.n, "chunk_id": c.chunk_id, "doc_id": c.doc_id,
                       "revision": c.revision} for c in answer.citations],
        "closest": [{"chunk_id": c.chunk_id, "doc_id": c.doc_id, "revision": c.revision}
                    for c in answer.closest],
        "model": answer.model,
        "prompt_version": answer.prompt_version,
        "sentences": [{"text": s.text, "supported": s.supported, "reason": s.reason}
                      for s in answer.sentences],
        "guards": answer.guards.to_dict(),
    }


class _AnswerRecord:
    """The audit stage of one answered question. Nothing is shown before its record is
    committed: the evidence card (or a decline) is the question's `ask` record, committed
    before its first byte is shown; each summary sentence the model adds afterwards gets an
    `answer_part` record first, and the finished summary (draft and verdicts) one more. A
    crash or a full disk mid-answer then never leaves shown text without a record."""

    def __init__(self, audit: AuditSink, user: User, question: str) -> None:
        self.audit, self.user, self.question = audit, user, question
        self.answer_id = uuid.uuid4().hex
        self.parts = 0
        self.asked = False

    def before_shown(self, event: Event) -> None:
        if isinstance(event, SentenceEvent):
            self.parts += 1
            self._append("answer_part", {"answer_id": self.answer_id, "part": self.parts,
                                         "question": self.question, "text": event.text})
            return
        answer = event.answer
        if not self.asked:
            self._append("ask", {**_ask_record(answer), "answer_id": self.answer_id})
            self.asked = True
        elif isinstance(event, AnswerEvent) and (answer.draft or answer.sentences):
            self._append("answer_part", {
                "answer_id": self.answer_id, "part": self.parts + 1, "final": True,
                "status": answer.status, "summary": answer.summary, "draft": answer.draft,
                "model": answer.model, "parts_shown": self.parts,
                "sentences": [{"text": s.text, "supported": s.supported,
                               "reason": s.reason} for s in answer.sentences]})

    def _append(self, action: str, details: dict) -> None:
        self.audit.append(self.user.name, self.user.role, action, details)


def learn_document_organisations(scrubber: Scrubber | None,
                                 kb: KnowledgeBase) -> Scrubber | None:
    """The scrubber, taught the organisation names the indexed documents write with a company
    suffix (titles and passages): a question naming the firm a warning letter is addressed
    to keeps the name for retrieval instead of losing it as a <PERSON_n>."""
    if scrubber is not None:
        texts = [document.title for document, _ in kb.documents()]
        texts += [row["text"] for row in kb.catalog.all_chunks()]
        scrubber.learn_organisations(texts)
    return scrubber
