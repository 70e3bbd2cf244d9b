"""`TrainingService`: the Python API of the training assistant (used by the CLI and the UI).

Access: a quiz item quotes its document and carries the answer, so everything that lists,
shows, grades or schedules items (and the gaps and matrix built from them) is filtered by the
asking user's role with the catalog's access rule (see `access.py`). Asking for a restricted
module or document by name raises `RestrictedDocumentError` and is audited as access_denied.

Change control: generated items are drafts until a trainer, QA or admin user approves them;
`reconcile()` (call it after every ingest) retires items whose cited text changed in a newer
effective revision, carries the others forward, and flags their modules for review. Every
approval, retirement and quiz submission also goes to the audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn, cast

from pydantic import BaseModel, Field

from guardrails import AuditSink, User, can, demo_user, roles_with
from knowledge import Document, KnowledgeBase, section_spans
from storage import Database, Row

from .access import DocumentAccess, admits
from .errors import (
    NoApprovedItemsError,
    NotAuthorisedError,
    NotTrainableError,
    RestrictedDocumentError,
    TrainingError,
    UnknownDocumentError,
    UnknownItemError,
    UnknownModuleError,
    UnknownSectionError,
)
from .gaps import Gap, knowledge_gaps
from .generator import DeterministicGenerator, ItemGenerator
from .grading import grade, option_text
from .items import (
    DEFAULT_PASS_MARK,
    TRAINING_TYPES,
    Attempt,
    BuildResult,
    GradedAnswer,
    ModuleInfo,
    ModuleResult,
    QuizItem,
    TrainingType,
    item_id_for,
)
from .matrix import MatrixConfig, MatrixRow, load_matrix, matrix_rows
from .scheduling import ReviewScheduler
from .store import TrainingStore, now_iso
from .validation import problem, validate

APPROVER_ROLES = roles_with("approve_modules")
# Deviation reports record what happened once; they are not instructions to train on.
UNTRAINABLE_TYPES = {"deviation": "it is a deviation report (a record of one event, not an "
                                  "instruction); build modules from SOPs or manuals"}
SYSTEM = User("training-reconcile", "admin")


class ReconcileReport(BaseModel):
    retired: list[dict] = Field(default_factory=list)  # item_id, doc_id, from, to, reason
    carried_forward: list[dict] = Field(default_factory=list)  # old_item_id, new_item_id, ...
    flagged_modules: list[str] = Field(default_factory=list)


class TrainingService:
    def __init__(self, kb: KnowledgeBase, audit: AuditSink, db_path: Path | Database,
                 matrix_path: Path | None = None,
                 generator: ItemGenerator | None = None) -> None:
        self.kb = kb
        self.audit = audit
        self.store = TrainingStore(db_path if isinstance(db_path, Database) else Path(db_path))
        self.matrix_path = matrix_path
        # The hook for an LLM-assisted generator: anything with generate(doc) -> items. Its
        # items pass the same validation and approval as the deterministic ones.
        self.generator = generator or DeterministicGenerator()
        self.scheduler = ReviewScheduler(self.store)

    # -- building and change control ------------------------------------------------------

    def build_module(self, doc_id: str, section: str | None = None,
                     user: User | None = None) -> BuildResult:
        """Generate and validate items for a document (or one section) and store them as
        drafts in a module. Rebuilding is safe: known items keep their status."""
        user = user or demo_user("trainer")
        self._require(user, "build_modules", "build quiz modules")
        doc = self._trainable_document(doc_id, user, "build a quiz from")
        items = self.generator.generate(doc)
        module_id = doc.doc_id
        if section:
            wanted = self._matching_sections(doc, section)
            items = [i for i in items if i.section in wanted]
            module_id = f"{doc.doc_id}:{section.strip()}"
        if not items:
            where = f" in section {section!r}" if section else ""
            raise NotTrainableError(doc.doc_id, f"rev {doc.revision} has no numbered steps, "
                                                f"values with units or tables{where} to ask about")
        accepted, rejected = validate(items, doc)
        for item in accepted + [r.item for r in rejected]:
            item.module_id = module_id
            item.item_id = item_id_for(item)
        ids = {i.item_id for i in accepted}
        known = {i.item_id for i in self.store.items(item_ids=ids)}
        # The audit record first: if the trail cannot be written, the build fails with nothing
        # stored, instead of leaving drafts that no record accounts for.
        self.audit.append(user.name, user.role, "config_change", {
            "kind": "quiz_build", "module_id": module_id, "doc_id": doc.doc_id,
            "revision": doc.revision, "items": len(accepted), "new_items": len(ids - known),
            "rejected": [{"stem": r.item.stem, "reason": r.reason} for r in rejected]})
        self.store.add_module(module_id, doc.doc_id, section, doc.title)
        added = self.store.add_items(accepted, user.name, user.role)
        self.store.add_module_event(module_id, "built", f"rev {doc.revision}: {len(added)} new "
                                    f"items, {len(rejected)} rejected", user.name, user.role)
        stored = {i.item_id: i for i in self.store.items(item_ids=[i.item_id for i in accepted])}
        return BuildResult(module_id=module_id, doc_id=doc.doc_id, revision=doc.revision,
                           section=section, items=[stored.get(i.item_id, i) for i in accepted],
                           rejected=rejected)

    def approve(self, module_id: str, user: User, item_ids: Iterable[str] | None = None) -> int:
        """Approve the module's drafts (or the given ones); also clears a review flag."""
        self._require_approver(user, "approve quiz items")
        self._require_module(module_id, user, "approve")
        drafts = self._visible(user, self._module_items(module_id, status="draft"))
        if item_ids is not None:
            wanted = set(item_ids)
            unknown = wanted - {i.item_id for i in self._visible(user,
                                                                  self._module_items(module_id))}
            if unknown:
                raise UnknownItemError(sorted(unknown)[0])
            drafts = [i for i in drafts if i.item_id in wanted]
        ids = [i.item_id for i in drafts]
        # Audited before anything changes: no approval takes effect without its record.
        self.audit.append(user.name, user.role, "config_change", {
            "kind": "quiz_approve", "module_id": module_id, "item_ids": ids})
        if ids:
            self.store.set_status(ids, "approved", "approved", user.name, user.role)
        if self.store.review_state(module_id)[0]:
            self.store.add_module_event(module_id, "review_cleared", f"reviewed by {user.name}",
                                        user.name, user.role)
        return len(ids)

    def retire(self, item_ids: Iterable[str], user: User, reason: str) -> int:
        self._require_approver(user, "retire quiz items")
        ids = list(item_ids)
        found = self.store.items(item_ids=ids)
        missing = set(ids) - {i.item_id for i in found}
        if missing:
            raise UnknownItemError(sorted(missing)[0])
        self._require_items(found, user, "retire quiz items")
        live = {i.item_id for i in found if i.status != "retired"}
        if live:
            # Audited first, as approvals are: a retirement never takes effect unrecorded.
            self.audit.append(user.name, user.role, "config_change", {
                "kind": "quiz_retire", "item_ids": sorted(live), "reason": reason})
            self.store.set_status(sorted(live), "retired", reason, user.name, user.role)
        return len(live)

    def reconcile(self, user: User | None = None) -> ReconcileReport:
        """After an ingest: items citing an older revision than the effective one are carried
        forward when their quote is unchanged in the same section of the new revision (and
        still validates), otherwise retired; their modules are flagged for review."""
        user = user or SYSTEM
        report = ReconcileReport()
        live = [i for i in self.store.items() if i.status != "retired"]
        current: dict[str, Document | None] = {}
        for item in live:
            if item.doc_id not in current:
                doc = self.kb.document(item.doc_id)
                current[item.doc_id] = doc if doc and doc.status == "effective" else None
            doc = current[item.doc_id]
            if doc is None or doc.revision == item.revision:
                continue
            moved, why = _carried_forward(item, doc)
            if moved is not None:
                self.store.add_items([moved], user.name, user.role,
                                     reason=f"carried forward from rev {item.revision}: "
                                            f"quote unchanged in rev {doc.revision}")
                self.store.set_status([item.item_id], "retired",
                                      f"superseded: carried forward to rev {doc.revision} as "
                                      f"{moved.item_id}", user.name, user.role)
                report.carried_forward.append({"old_item_id": item.item_id,
                                               "new_item_id": moved.item_id,
                                               "doc_id": doc.doc_id, "to": doc.revision})
            else:
                reason = f"rev {doc.revision}: {why} (item cites rev {item.revision}, " \
                         f"section {item.section!r})"
                self.store.set_status([item.item_id], "retired", reason, user.name, user.role)
                report.retired.append({"item_id": item.item_id, "doc_id": doc.doc_id,
                                       "from": item.revision, "to": doc.revision,
                                       "reason": reason, "stem": item.stem})
            if item.module_id not in report.flagged_modules:
                report.flagged_modules.append(item.module_id)
        for module_id in report.flagged_modules:
            retired = sum(1 for r in report.retired
                          if self._module_of(r["item_id"]) == module_id)
            self.store.add_module_event(
                module_id, "flagged", f"document revised: {retired} items retired because their "
                f"cited text changed; review the module and rebuild it for new content",
                user.name, user.role)
        if report.flagged_modules:
            self.audit.append(user.name, user.role, "config_change", {
                "kind": "quiz_reconcile", "flagged_modules": report.flagged_modules,
                "retired": [r["item_id"] for r in report.retired],
                "carried_forward": report.carried_forward})
        return report

    # -- reading modules and items --------------------------------------------------------

    def modules(self, user: User) -> list[ModuleInfo]:
        """The modules of documents the user's role may see (others are left out silently:
        even a title or module id would say what a restricted document is about)."""
        access = DocumentAccess(self.kb, user.role)
        return [self._module_info(row) for row in self.store.modules()
                if access.may_see(row["doc_id"])]

    def module(self, module_id: str, user: User) -> ModuleInfo:
        return self._module_info(self._require_module(module_id, user, "open"))

    def _module_info(self, row: Row) -> ModuleInfo:
        module_id = row["module_id"]
        items = self.store.items(module_id=module_id)
        counts = {s: sum(1 for i in items if i.status == s) for s in ("draft", "approved",
                                                                       "retired")}
        live = [i for i in items if i.status != "retired"]
        flagged, reason = self.store.review_state(module_id)
        return ModuleInfo(module_id=module_id, doc_id=row["doc_id"], section=row["section"],
                          title=row["title"], revision=live[-1].revision if live else "",
                          counts=counts, needs_review=flagged, review_reason=reason)

    def items(self, module_id: str, user: User, status: str | None = None) -> list[QuizItem]:
        """A module's items with keys and quotes (for review), for a role that may see them."""
        self._require_module(module_id, user, "see the items of")
        return self._visible(user, self._module_items(module_id, status))

    def item(self, item_id: str, user: User) -> QuizItem:
        item = self._item(item_id)
        self._require_items([item], user, f"see quiz item {item_id}")
        return item

    def questions(self, module_id: str, user: User, limit: int | None = None) -> list[QuizItem]:
        """The approved items a learner answers, in document order (a quiz)."""
        self._require_module(module_id, user, "take")
        items = self._visible(user, self._module_items(module_id))
        approved = [i for i in items if i.status == "approved"]
        if not approved:
            raise NoApprovedItemsError(module_id, sum(1 for i in items if i.status == "draft"))
        return approved[:limit] if limit else approved

    # -- learners -------------------------------------------------------------------------

    def submit(self, user: User, module_id: str, answers: Mapping[str, str],
               response_seconds: Mapping[str, float] | None = None,
               training_type: str = "quiz", pass_mark: float = DEFAULT_PASS_MARK) -> ModuleResult:
        """Grade a quiz, record the result and every attempt, update FSRS cards, audit it."""
        if training_type not in ("quiz", "review"):
            raise TrainingError(f"unknown training type {training_type!r} for a quiz; "
                                f"types: quiz, review")
        if not 0 < pass_mark <= 1:
            raise TrainingError(f"pass mark must be in (0, 1], got {pass_mark}")
        approved = {i.item_id: i for i in self.questions(module_id, user)}
        if not answers:
            raise TrainingError(f"no answers submitted for module {module_id}")
        unknown = [i for i in answers if i not in approved]
        if unknown:
            raise TrainingError(f"item {unknown[0]} is not an approved item of module "
                                f"{module_id}")
        times = response_seconds or {}
        graded = [GradedAnswer(item_id=item_id, answer=_recorded(approved[item_id], answer),
                               correct=grade(approved[item_id], answer),
                               key=approved[item_id].key, response_seconds=times.get(item_id))
                  for item_id, answer in answers.items()]
        n_correct = sum(g.correct for g in graded)
        score = n_correct / len(graded)
        revision = approved[graded[0].item_id].revision
        result = self.store.add_result(ModuleResult(
            user=user.name, role=user.role, module_id=module_id,
            doc_id=approved[graded[0].item_id].doc_id, revision=revision,
            training_type=cast(TrainingType, training_type),  # one of the two, checked above
            score=score, pass_mark=pass_mark, passed=score >= pass_mark, n_items=len(graded),
            n_correct=n_correct, at=now_iso(),
            answers=graded))
        for g in graded:
            self.scheduler.review(user.name, g.item_id, approved[g.item_id].type, g.correct,
                                  g.response_seconds)
        self.audit.append(user.name, user.role, "quiz_submit", {
            "module_id": module_id, "doc_id": result.doc_id, "revision": revision,
            "training_type": training_type, "score": score, "pass_mark": pass_mark,
            "passed": result.passed, "result_id": result.result_id,
            "answers": [{"item_id": g.item_id, "answer": g.answer, "correct": g.correct}
                        for g in graded]})
        return result

    def record_read_and_understand(self, user: User, doc_id: str) -> ModuleResult:
        """A read-and-understand sign-off on the effective revision (no score)."""
        doc = self._trainable_document(doc_id, user, "sign off as read and understood")
        result = self.store.add_result(ModuleResult(
            user=user.name, role=user.role, module_id=doc.doc_id, doc_id=doc.doc_id,
            revision=doc.revision, training_type="read-and-understand", score=None,
            pass_mark=DEFAULT_PASS_MARK, passed=True, n_items=0, n_correct=0, at=now_iso()))
        self.audit.append(user.name, user.role, "quiz_submit", {
            "module_id": doc.doc_id, "doc_id": doc.doc_id, "revision": doc.revision,
            "training_type": "read-and-understand", "result_id": result.result_id})
        return result

    def review_queue(self, user: User, now: datetime | None = None) -> list[QuizItem]:
        """Approved items whose FSRS card is due by the end of today."""
        due = self.scheduler.due_today(user.name, now)
        by_id = {i.item_id: i for i in self._visible(
            user, self.store.items(item_ids=due, status="approved"))}
        return [by_id[i] for i in due if i in by_id]

    def submit_review(self, user: User, item_id: str, answer: str,
                      response_seconds: float | None = None,
                      at: datetime | None = None) -> GradedAnswer:
        item = self.item(item_id, user)
        if item.status != "approved":
            raise TrainingError(f"item {item_id} is {item.status}, not approved")
        correct = grade(item, answer)
        attempt = self.store.add_attempt(_attempt(user, item, _recorded(item, answer), correct,
                                                  response_seconds))
        self.scheduler.review(user.name, item_id, item.type, correct, response_seconds, at)
        self.audit.append(user.name, user.role, "quiz_submit", {
            "module_id": item.module_id, "doc_id": item.doc_id, "revision": item.revision,
            "training_type": "review", "attempt_id": attempt.attempt_id,
            "answers": [{"item_id": item_id, "answer": attempt.answer, "correct": correct}]})
        return GradedAnswer(item_id=item_id, answer=attempt.answer, correct=correct,
                            key=item.key, response_seconds=response_seconds)

    def history(self, user: User) -> list[ModuleResult]:
        """The user's own results, on documents their role may see now (a record on a
        document restricted since stays in the store and in an authorised viewer's matrix)."""
        access = DocumentAccess(self.kb, user.role)
        return [r for r in self.store.results(user=user.name)
                if access.may_see(r.doc_id, r.revision)]

    # -- matrix and gaps ------------------------------------------------------------------

    @property
    def matrix_config(self) -> MatrixConfig:
        return load_matrix(self.matrix_path)

    def matrix(self, users: Iterable[User], viewer: User,
               today: date | None = None) -> list[MatrixRow]:
        """Rows for `users`, as `viewer` may see them: titles of documents the viewer's role
        may not see are left blank (the document ids come from the site's matrix file).
        Anyone may see their own row; other people's rows need `view_training_matrix`."""
        users = list(users)
        if any(u.name != viewer.name for u in users):
            self._require(viewer, "view_training_matrix", "see other people's training status")
        return matrix_rows(self.matrix_config, self.kb, users, self.store.results(), today,
                           DocumentAccess(self.kb, viewer.role))

    def known_users(self) -> list[User]:
        """Everyone with a learner record plus one demo user per role in the matrix."""
        users = {name: User(name, role) for name, role in self.store.learners()}
        for role in self.matrix_config.roles:
            users.setdefault(f"demo-{role}", demo_user(role))
        return sorted(users.values(), key=lambda u: (u.role, u.name))

    def gaps(self, user: User, limit: int = 10) -> list[Gap]:
        """Knowledge gaps over every user's questions and attempts, limited to the documents
        `user`'s role may see (see `knowledge_gaps` for what that hides)."""
        self._require(user, "view_gaps", "see knowledge gaps")
        asks = self.audit.records(action="ask")
        attempts = self.store.attempts()
        items = {i.item_id: i for i in self.store.items(item_ids={a.item_id for a in attempts})}
        documents = [d for d, _ in self.kb.documents()]  # one catalog read for every role
        seen_by = {role: {d.doc_id for d in documents if admits(d, role)}
                   for role in {r.role for r in asks} | {user.role}}
        return knowledge_gaps(self.kb, asks, attempts, items, limit,
                              may_see=DocumentAccess(self.kb, user.role).may_see,
                              may_quote_role=lambda role: seen_by.get(role, set())
                              <= seen_by[user.role])

    def trainable_documents(self, user: User, doc_types: Iterable[str] = ("sop",)) -> list[str]:
        """Ids of effective documents of these types the user's role may build modules from."""
        wanted = set(doc_types) - set(UNTRAINABLE_TYPES)
        return sorted({d.doc_id for d, _ in self.kb.documents()
                       if d.doc_type in wanted and d.status == "effective"
                       and admits(d, user.role)})

    # -- helpers --------------------------------------------------------------------------

    def _trainable_document(self, doc_id: str, user: User, action: str) -> Document:
        doc = self.kb.document(doc_id)
        if doc is None:
            # The hint lists only what the user may see: it must not name restricted documents.
            access = DocumentAccess(self.kb, user.role)
            known = sorted({d.doc_id for d, _ in self.kb.documents() if access.may_see(d.doc_id)})
            raise UnknownDocumentError(doc_id, known)
        if not admits(doc, user.role):  # before type and status: a reason would be content too
            self._deny(user, doc.doc_id, f"{action} {doc.doc_id}")
        if doc.doc_type in UNTRAINABLE_TYPES:
            raise NotTrainableError(doc.doc_id, UNTRAINABLE_TYPES[doc.doc_type])
        if doc.status != "effective":
            raise NotTrainableError(doc.doc_id, f"it has no effective revision (newest is rev "
                                                f"{doc.revision}, {doc.status})")
        return doc

    @staticmethod
    def _matching_sections(doc: Document, wanted: str) -> set[str]:
        """"6.4", "Loading" or a full section path -> the sections it names."""
        names = [name for name, _, _ in section_spans(doc.text)]
        key = wanted.strip().lower()
        exact = {n for n in names if n.lower() == key
                 or any(part.lower() == key or re.match(re.escape(key) + r"[\s.]", part.lower())
                        for part in n.split(" > "))}
        found = exact or {n for n in names if key in n.lower()}
        if not found:
            raise UnknownSectionError(doc.doc_id, wanted, names)
        return found

    def _require_module(self, module_id: str, user: User, verb: str) -> Row:
        """The module's row, when the user's role may see its document."""
        row = self.store.module(module_id)
        if row is None:
            raise UnknownModuleError(module_id)
        if not DocumentAccess(self.kb, user.role).may_see(row["doc_id"]):
            self._deny(user, row["doc_id"], f"{verb} module {module_id}")
        return row

    def _require_items(self, items: Iterable[QuizItem], user: User, action: str) -> None:
        access = DocumentAccess(self.kb, user.role)
        for item in items:
            if not access.may_see(item.doc_id, item.revision):
                self._deny(user, item.doc_id, action)

    def _visible(self, user: User, items: list[QuizItem]) -> list[QuizItem]:
        """Items whose document, and the revision they quote, the user's role may see."""
        access = DocumentAccess(self.kb, user.role)
        return [i for i in items if access.may_see(i.doc_id, i.revision)]

    def _deny(self, user: User, doc_id: str, action: str) -> NoReturn:
        """Refuse, and leave evidence: asking for a restricted module by name is either a
        mistake or probing, and QA should be able to tell which from the trail."""
        self.audit.append(user.name, user.role, "access_denied", {
            "kind": "training", "doc_id": doc_id, "action": action})
        raise RestrictedDocumentError(user.name, user.role, doc_id, action)

    def _item(self, item_id: str) -> QuizItem:
        found = self.store.items(item_ids=[item_id])
        if not found:
            raise UnknownItemError(item_id)
        return found[0]

    def _module_items(self, module_id: str, status: str | None = None) -> list[QuizItem]:
        if self.store.module(module_id) is None:
            raise UnknownModuleError(module_id)
        return self.store.items(module_id=module_id, status=status)

    def _module_of(self, item_id: str) -> str:
        found = self.store.items(item_ids=[item_id])
        return found[0].module_id if found else ""

    @classmethod
    def _require_approver(cls, user: User, action: str) -> None:
        cls._require(user, "approve_modules", action)

    @staticmethod
    def _require(user: User, capability: str, action: str) -> None:
        """The permissions table (guardrails.permissions) decides; the service re-checks on
        every call, whatever the UI or CLI showed."""
        if not can(user.role, capability):
            raise NotAuthorisedError(user.name, user.role, action, roles_with(capability))


def _recorded(item: QuizItem, answer: str) -> str:
    """What the record keeps: the option's text for a letter, so the record reads on its own."""
    if item.type in ("multiple_choice", "scenario"):
        return option_text(item, answer)
    return answer.strip()


def _attempt(user: User, item: QuizItem, answer: str, correct: bool,
             response_seconds: float | None) -> Attempt:
    return Attempt(user=user.name, role=user.role, item_id=item.item_id,
                   module_id=item.module_id, doc_id=item.doc_id, revision=item.revision,
                   answer=answer, correct=correct, response_seconds=response_seconds,
                   training_type="review", at=now_iso())


def _carried_forward(item: QuizItem, doc: Document) -> tuple[QuizItem | None, str]:
    """The item on the new revision when its quote is unchanged in the same section and it
    still validates there (a distractor may have become right); else None and why not."""
    for name, start, end in section_spans(doc.text):
        if name != item.section:
            continue
        offset = doc.text.find(item.quote, start, end)
        if offset < 0:
            return None, "the cited text changed"
        moved = QuizItem(**item.model_dump(exclude={"item_id", "revision", "quote_start"}),
                         revision=doc.revision, quote_start=offset)
        failure = problem(moved, doc)
        return (moved, "") if failure is None else (None, f"no longer valid: {failure}")
    return None, "the cited section is gone"


__all__ = ["APPROVER_ROLES", "ReconcileReport", "TRAINING_TYPES", "TrainingService"]
