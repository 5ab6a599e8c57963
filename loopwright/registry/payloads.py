"""Receipt payloads: one documented class per action, naming what changed (`before`, `after`) and why (`details`).

A payload's fields are exactly the keys stored under the receipt's `before`,
`after` and `details` columns, so receipts written before these classes
existed read back into them (`audit verify` works on the stored text alone).
`details` are free-form and hashed separately: a data-subject erasure drops
them, so every payload reads back with `details=None` once erased.

Core actions are the members of `Action`. Adding one is a new member and a
`Payload` subclass naming it in `action`; the subclass registers itself, and
`parse_payload` then reads it back. A plugin's own receipts (the sample bank's
book load, say) subclass `Payload` with an action string under the plugin's
prefix instead of a member here. Tool receipts are one family: the action is
`tool.<name>`, read back as `ToolAction` whatever the tool.

    Payload
    +-- DeploySet                     deploy.set
    +-- Rollback                      rollback
    +-- Detach                        deploy.detach (an adapter slot emptied)
    +-- ReleaseGateSkipped, ReleaseGate, ReleaseCanary, ReleaseStep
    +-- ReleaseEnd
    |   +-- ReleasePromote, ReleaseAbort, ReleaseRollback
    +-- FlagSet, FlagDelete
    +-- KeyCreate, KeyRevoke
    +-- SubjectErase
    +-- SubjectRequestOpen, SubjectRequestApprove, SubjectRequestFulfil   subject.request.*
    +-- ArtifactRegister              artifact.register
    |   +-- ModelRegister, AdapterRegister
    |   +-- CorpusCommit, CorpusRevert
    |   +-- TriageFit                 triage.fit (a training job)
    |   +-- DataPrepare               data.prepare (a dataset made from a recipe)

    |   +-- DatasetCurate             dataset.curate (feedback curated into a dataset)
    +-- DatasetReview                 dataset.review (spot checks on a curated dataset)

    |   +-- AdapterTrain              adapter.train (a training job: an adapter on the triage model)
    |   +-- EvalRun                   eval.run (a model scored on the held-out set and the goldens)
    |   +-- NoteRegister              note.register (a signed release note)
    +-- ModelPromote                  model.promote (a promotion decision on evidence, linked to its note)
    |   +-- TrainJob                  train.job (a training job from a train recipe: `loopwright train`)
    +-- AdvisorCall                   advisor.call (the lever advisor's call that a change was decided on)
    +-- ToolAction                    tool.<name>
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loopwright.errors import IntegrityError


class Action(StrEnum):
    """The action name every core receipt is stored under."""

    DEPLOY_SET = "deploy.set"
    ROLLBACK = "rollback"
    DEPLOY_DETACH = "deploy.detach"
    RELEASE_GATE = "release.gate"
    RELEASE_GATE_SKIPPED = "release.gate_skipped"
    RELEASE_CANARY = "release.canary"
    RELEASE_STEP = "release.step"
    RELEASE_PROMOTE = "release.promote"
    RELEASE_ABORT = "release.abort"
    RELEASE_ROLLBACK = "release.rollback"
    FLAG_SET = "flag.set"
    FLAG_DELETE = "flag.delete"
    KEY_CREATE = "key.create"
    KEY_REVOKE = "key.revoke"
    SUBJECT_ERASE = "subject.erase"
    SUBJECT_REQUEST_OPEN = "subject.request.open"
    SUBJECT_REQUEST_APPROVE = "subject.request.approve"
    SUBJECT_REQUEST_FULFIL = "subject.request.fulfil"
    ARTIFACT_REGISTER = "artifact.register"
    MODEL_REGISTER = "model.register"
    ADAPTER_REGISTER = "adapter.register"
    CORPUS_COMMIT = "corpus.commit"
    CORPUS_REVERT = "corpus.revert"
    TRIAGE_FIT = "triage.fit"
    DATA_PREPARE = "data.prepare"

    DATASET_CURATE = "dataset.curate"
    DATASET_REVIEW = "dataset.review"

    ADAPTER_TRAIN = "adapter.train"
    EVAL_RUN = "eval.run"
    NOTE_REGISTER = "note.register"
    MODEL_PROMOTE = "model.promote"
    TRAIN_JOB = "train.job"
    ADVISOR_CALL = "advisor.call"
    TOOL = "tool"  # stored as tool.<name>


class Part(BaseModel):
    """One of a payload's three stored objects; its fields are the stored keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Payload(BaseModel):
    """What a receipt records. Subclasses narrow `before`, `after` and `details` and name their `action`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: ClassVar[str]
    before: Any = None
    after: Any = None
    details: Any = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "action" not in cls.__dict__:
            return  # a shape that subclasses name actions for (`ReleaseEnd`)
        action = str(cls.action)
        if _TYPES.get(action, cls) is not cls:
            raise TypeError(f"receipt action {action!r} already has a payload: {_TYPES[action].__name__}")
        _TYPES[action] = cls

    @property
    def action_name(self) -> str:
        """The action stored on the receipt."""
        return str(self.action)

    def parts(self) -> dict[str, Any]:
        """`before`, `after` and `details` as the plain values stored (nested parts become dicts)."""
        return self.model_dump(include={"before", "after", "details"})

    @classmethod
    def from_parts(cls, action: str, before: Any, after: Any, details: Any) -> Payload:
        """The payload of a stored receipt of this type."""
        return cls.model_validate({"before": before, "after": after, "details": details})


_TYPES: dict[str, type[Payload]] = {}


def payload_type(action: str) -> type[Payload] | None:
    """The payload class an action is read back as; None for an action no loaded module declares."""
    found = _TYPES.get(action)
    if found is None and action.startswith(f"{Action.TOOL}."):
        found = ToolAction
    return found


def parse_payload(action: str, before: Any, after: Any, details: Any) -> Payload | None:
    """A stored receipt's typed payload (None for an unknown action); `IntegrityError` if it does not fit its type."""
    kind = payload_type(action)
    if kind is None:
        return None
    try:
        return kind.from_parts(action, before, after, details)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise IntegrityError(
            f"a {action} receipt does not fit {kind.__name__}: {where}: {err['msg']}",
            hint="`loopwright audit verify` checks the chain; `audit show` prints the stored receipt",
        ) from None


# ---- deployment --------------------------------------------------------------------------------


class Pointer(Part):
    """What a slot's stable channel points at."""

    stable: str | None = Field(description="The artifact's ref, kind/name@N.")
    digest: str | None = Field(description="The artifact's sha256 digest.")


class DeployNote(Part):
    """Why a deployment (or flag) changed, and the deployment version the change produced."""

    reason: str
    deployment_version: int = Field(description="The counter running servers watch, after the change.")


class Placed(Pointer):
    """What a slot's stable channel was pointed at without the release plane."""

    ungated: bool = Field(True, description="Always true: no golden gate and no canary were passed (`deploy show` marks it).")


class DeploySet(Payload):
    """An artifact put live on a slot's stable channel by hand (`deploy set --force`) or by an install or fit."""

    action = Action.DEPLOY_SET
    before: Pointer | None = Field(description="What the slot served; None on its first deployment.")
    after: Placed
    details: DeployNote | None = None


class RolledBackFrom(Pointer):
    """A slot's stable artifact before a rollback, and the canary the rollback ended (if any)."""

    canary: str | None


class RollbackNote(Part):
    """Why a slot was rolled back."""

    reason: str
    ended_release: int | None = Field(description="The release in its canary phase that the rollback ended.")
    deployment_version: int


class Rollback(Payload):
    """A slot returned to its previous (or a named) artifact, alone, ending any canary on it."""

    action = Action.ROLLBACK
    before: RolledBackFrom
    after: Pointer
    details: RollbackNote | None = None


class DetachNote(Part):
    """Why an adapter was detached, and the evidence that its base no longer needs it."""

    reason: str
    ended_release: int | None = Field(description="The release in its canary phase that the detach ended.")
    evidence: dict[str, Any] | None = Field(None, description="What was measured before detaching (e.g. the adapter's gain kept by the new base).")
    deployment_version: int


class Detach(Payload):
    """An adapter slot emptied: its base serves alone, and a release can attach an adapter again."""

    action = Action.DEPLOY_DETACH
    before: RolledBackFrom
    after: Pointer = Field(description="Always empty: stable and digest None.")
    details: DetachNote | None = None


# ---- releases ----------------------------------------------------------------------------------


class Candidate(Part):
    """The release's slot, candidate and the stable artifact it is measured against."""

    slot: str
    candidate: str = Field(description="The candidate's ref.")
    digest: str = Field(description="The candidate's digest.")
    baseline: str | None = Field(description="The stable artifact's ref when the release started.")


class Reason(Part):
    """Why, in the actor's words."""

    reason: str


class ReleaseGateSkipped(Payload):
    """A release that skipped the golden gate (`--skip-gate`), with who chose to and why."""

    action = Action.RELEASE_GATE_SKIPPED
    after: Candidate
    details: Reason | None = None


class GateVerdict(Candidate):
    """The candidate and whether it passed the gate."""

    passed: bool


class GateSummary(Part):
    """The golden gate's report, as `release.goldens.gate` gives it (absent keys are None)."""

    mode: str | None = Field(description="all_pass, or no_regression against stable.")
    suite: str | None
    total: int | None
    passed: int | None
    failed: int | None
    critical_failed: int | None
    regressions: list[dict[str, Any]] | None
    known_failures: list[str] | None = Field(description="Critical goldens that fail on stable too.")
    fixed: list[str] | None
    failures: list[dict[str, Any]] | None


class ReleaseGate(Payload):
    """The golden gate's verdict on a candidate; a failed gate ends the release as rejected."""

    action = Action.RELEASE_GATE
    after: GateVerdict
    details: GateSummary | None = None


class Share(Part):
    """A canary's share of traffic."""

    share: float = Field(description="The canary's share of callers, 0 to 1.")


class CanaryStart(Candidate):
    """The candidate and the share of callers its canary starts on."""

    share: float
    flag: str | None = Field(None, description="The feature flag that picks the canary's callers, when it is behind one.")


class ReleaseCanary(Payload):
    """A candidate put on the canary channel for a share of callers."""

    action = Action.RELEASE_CANARY
    before: Share
    after: CanaryStart
    details: DeployNote | None = None


class CanaryStep(Part):
    """The share of callers a canary moves to."""

    slot: str
    candidate: str
    share: float


class StepNote(Part):
    """The analysis behind a canary step."""

    evidence: dict[str, Any] = Field(description="The canary analysis that justified the step.")
    deployment_version: int


class ReleaseStep(Payload):
    """A canary moved to its next share by the release controller."""

    action = Action.RELEASE_STEP
    before: Share
    after: CanaryStep
    details: StepNote | None = None


class EndFrom(Part):
    """The release as it stood when it ended."""

    slot: str
    share: float = Field(description="The canary's share when the release ended.")
    candidate: str


class EndState(Part):
    """How a release ended and what its slot serves after."""

    slot: str
    state: Literal["promoted", "aborted", "rolled_back"]
    stable: str | None = Field(description="What the slot's stable channel serves after the release.")


class EndNote(Part):
    """Why a release ended."""

    reason: str
    evidence: dict[str, Any] | None = Field(description="The canary analysis, when the controller decided.")
    deployment_version: int


class ReleaseEnd(Payload):
    """A release ended: promoted, aborted by hand, or rolled back by the analysis (one subclass each)."""

    before: EndFrom
    after: EndState
    details: EndNote | None = None


class ReleasePromote(ReleaseEnd):
    """The canary became the slot's stable artifact, by hand or by the analysis."""

    action = Action.RELEASE_PROMOTE


class ReleaseAbort(ReleaseEnd):
    """All traffic sent back to stable by hand; stable never changed."""

    action = Action.RELEASE_ABORT


class ReleaseRollback(ReleaseEnd):
    """The analysis found a significant regression and sent all traffic back to stable."""

    action = Action.RELEASE_ROLLBACK


# ---- flags and keys ----------------------------------------------------------------------------


class FlagState(Part):
    """A feature flag as `registry.flags.Flag.to_dict` gives it."""

    name: str
    kind: Literal["boolean", "percentage"]
    enabled: bool
    percentage: float
    description: str


class FlagSet(Payload):
    """A flag created or changed."""

    action = Action.FLAG_SET
    before: FlagState | None = Field(description="None when the flag is new.")
    after: FlagState
    details: DeployNote | None = None


class FlagDelete(Payload):
    """A flag deleted."""

    action = Action.FLAG_DELETE
    before: FlagState
    details: DeployNote | None = None


class KeyGrant(Part):
    """Whom an API key speaks for."""

    tenant: str
    role: str
    scopes: list[str]
    subject: str | None = Field(description="The customer the key acts as, if any.")


class KeyCreate(Payload):
    """An API key made for a principal (the key itself is never recorded)."""

    action = Action.KEY_CREATE
    after: KeyGrant


class KeyOwner(Part):
    """Whom a revoked key spoke for."""

    tenant: str
    role: str


class KeyRevoke(Payload):
    """An API key revoked."""

    action = Action.KEY_REVOKE
    before: KeyOwner
    after: Reason | None = None  # why, when the system revoked it (a subject's erasure)


class Erased(Part):
    erased: dict[str, int] = Field(description="Items erased, per registered subject store.")


class SubjectErase(Payload):
    """A data subject's payloads erased; the receipt's subject is a keyed digest, never the subject itself."""

    action = Action.SUBJECT_ERASE
    after: Erased


class RequestOpened(Part):
    """A data-subject request as opened: what it asks and by when it is due (no subject id: the receipt's
    subject is the request, and the request row names the subject until an erasure pseudonymises it)."""

    kind: Literal["access", "erasure"]
    status: str
    due_at: str
    needs_approval: bool


class RequestStatus(Part):
    status: str


class RequestApproval(Part):
    approved_by: str


class RequestFulfilled(Part):
    status: Literal["completed"]
    export_digest: str | None = Field(None, description="access: the sha256 of the masked export in the blob store.")
    erase_receipt: int | None = Field(None, description="erasure: the seq of the `subject.erase` receipt.")


class SubjectRequestOpen(Payload):
    """A data-subject request opened: after the subject confirmed it in chat, or by an operator."""

    action = Action.SUBJECT_REQUEST_OPEN
    after: RequestOpened


class SubjectRequestApprove(Payload):
    """A staff member approved a request the policy holds for approval."""

    action = Action.SUBJECT_REQUEST_APPROVE
    before: RequestStatus
    after: RequestApproval


class SubjectRequestFulfil(Payload):
    """A request fulfilled: the export made (access) or the erase done (erasure)."""

    action = Action.SUBJECT_REQUEST_FULFIL
    before: RequestStatus
    after: RequestFulfilled


# ---- artifacts ---------------------------------------------------------------------------------


class ArtifactRef(Part):
    """The artifact registered."""

    ref: str
    digest: str


class Registration(Part):
    """Where a registered artifact comes from."""

    parents: list[str] = Field(description="Digests of the artifacts this one derives from.")
    provenance: dict[str, Any]
    compute_s: float | None = Field(
        None,
        description="Compute seconds the job that made the artifact spent (training time; on a cache hit, the run that "
        "filled the cache, where it recorded its time). None: not a compute job, or a receipt from before this was kept. "
        "`loopwright.observe.costs` prices it by the policy's [costs].",
    )


class ArtifactRegister(Payload):
    """A new artifact version registered (identical content registers nothing and writes no receipt)."""

    action = Action.ARTIFACT_REGISTER
    after: ArtifactRef
    details: Registration | None = None


class ModelRegister(ArtifactRegister):
    """A model checkpoint registered (`model register`, a trainer's output)."""

    action = Action.MODEL_REGISTER


class AdapterRegister(ArtifactRegister):
    """A LoRA adapter registered after its checks against its base model and the caps."""

    action = Action.ADAPTER_REGISTER


class CommitRegistration(Registration):
    """A corpus commit's message and changes, with its parents and provenance."""

    message: str
    tree: str = Field(description="The digest of the commit's document tree.")
    changes: dict[str, list[str]] = Field(description="Document ids added, changed, removed, certified, retired...")


class CorpusCommit(ArtifactRegister):
    """A corpus commit: the staged changes registered as the next corpus version."""

    action = Action.CORPUS_COMMIT
    details: CommitRegistration | None = None


class CorpusRevert(CorpusCommit):
    """A corpus commit undoing an earlier one's changes."""

    action = Action.CORPUS_REVERT


class FitRegistration(Registration):
    """A triage fit's cache use, time and headline test metrics, with its parents and provenance."""

    cache_hit: bool = Field(description="The fit's files came from the fit cache.")
    cache_key: str
    seconds: float
    accuracy: float = Field(description="Test-split accuracy.")
    ece: float = Field(description="Test-split expected calibration error.")
    temperature: float


class TriageFit(ArtifactRegister):
    """A training job: the triage head fitted on a dataset and registered as a model."""

    action = Action.TRIAGE_FIT
    details: FitRegistration | None = None


class PrepareRegistration(Registration):
    """A data-prepare job: its recipe, rows in and out, why rows went, split sizes, with its parents and provenance."""

    recipe_digest: str = Field(description="sha256 of the recipe file's bytes (stored as recipe.toml in the artifact).")
    rows_in: int = Field(description="Rows read from all sources.")
    rows_out: int = Field(description="Rows in the three splits, oversampled copies included.")
    removed: dict[str, int] = Field(description="Rows dropped per reason (pii, toxic_classifier, near_duplicate...).")
    splits: dict[str, int] = Field(description="Rows per split.")
    cache_hit: bool = Field(description="The prepared files came from the cache (same recipe, sources and model).")
    cache_key: str
    seconds: float


class DataPrepare(ArtifactRegister):
    """A dataset prepared from a recipe (`loopwright data prepare`) and registered with its manifest and data card."""

    action = Action.DATA_PREPARE
    details: PrepareRegistration | None = None

class CurationRegistration(Registration):
    """A curation's inputs and what it kept and dropped, with its parents (the replayed dataset) and provenance."""

    target: str = Field(description="triage or generator.")
    since: str | None = Field(description="The earliest trace considered; None for all.")
    considered: int = Field(description="Traces with feedback in the window.")
    kept: dict[str, int] = Field(description="Examples written, per source (correction, replay, feedback).")
    dropped: dict[str, int] = Field(description="Items left out, per reason.")
    card: str = Field(description="The sha256 of the data card (card.json).")


class DatasetCurate(ArtifactRegister):
    """Traces, feedback and corrections curated into a `dataset` artifact (`loopwright learn curate`)."""

    action = Action.DATASET_CURATE
    details: CurationRegistration | None = None


class ReviewTally(Part):
    """Where a dataset's spot checks stand after a review session."""

    ref: str
    digest: str
    reviewed: int = Field(description="Items with a decision (the latest per item counts).")
    approved: int
    rejected: int
    relabelled: int
    quota: int = Field(description="Items the policy requires reviewed.")
    rejection_rate: float


class ReviewSession(Part):
    """Who reviewed, how, and the decisions of this session."""

    reviewer: str = Field(description="The reviewer's identity.")
    scripted: bool = Field(description="Decisions came from a file (a scripted reviewer), not a person at a prompt.")
    decisions: int = Field(description="Decisions recorded in this session.")
    decisions_digest: str = Field(description="sha256 of the session's decisions, canonical JSON.")


class DatasetReview(Payload):
    """Spot-check decisions recorded on a curated dataset (`loopwright learn review`)."""

    action = Action.DATASET_REVIEW
    after: ReviewTally
    details: ReviewSession | None = None

class AdapterTraining(Registration):
    """An adapter training job: what it trained on and from, under which caps, and what it measured."""

    job_id: str = Field(description="The training job's id.")
    target: str = Field(description="What the adapter adapts: `triage`, or `generator` (preference optimisation).")
    dataset: str = Field(description="The dataset artifact's ref.")
    data_digest: str = Field(description="The dataset artifact's digest.")
    base: str = Field(description="The base model's ref: the adapter serves only beside it.")
    base_digest: str
    caps: dict[str, Any] = Field(description="The policy caps the job ran under.")
    config: dict[str, Any] = Field(description="The training config (rank, alpha, learning rate, epochs, modules, seed).")
    metrics: dict[str, Any] = Field(description="Held-out figures before and after: triage accuracy, the target intent's defect "
                                    "rate and forgetting; or a generator's held-out preference accuracy.")
    cache_hit: bool = Field(description="The trained files came from the training cache.")
    seconds: float = Field(description="Training time (or the cache lookup).")
    examples_per_s: float = Field(description="Training throughput when it trained (0 on a cache hit).")


class AdapterTrain(ArtifactRegister):
    """A training job: a LoRA adapter trained on a dataset and registered, bound to its base's digest."""

    action = Action.ADAPTER_TRAIN
    details: AdapterTraining | None = None


class EvalRegistration(Registration):
    """An evaluation: the model, the held-out set and golden suite it was scored on, and its headline figures."""

    model: str = Field(description="The model evaluated (ref).")
    model_digest: str
    heldout: str = Field(description="The held-out dataset (ref).")
    heldout_digest: str
    suite: str = Field(description="The golden suite (ref).")
    items: int = Field(description="Held-out items scored (those seen in training left out).")
    contaminated: int = Field(description="Held-out items left out: found in the model's training data.")
    composite: float
    accuracy: float
    by_language: dict[str, float] = Field(description="Held-out accuracy per language.")
    seconds: float


class EvalRun(ArtifactRegister):
    """A model evaluated (`loopwright eval`): the `eval` artifact holds every item's outcome, so a paired test can reuse it."""

    action = Action.EVAL_RUN
    details: EvalRegistration | None = None


class NoteRegister(ArtifactRegister):
    """A release note registered: signed with the workspace key (`signature.json` in the artifact)."""

    action = Action.NOTE_REGISTER


class PromoteFrom(Part):
    """What the slot served when the promotion was decided."""

    slot: str
    incumbent: str | None = Field(description="The incumbent's ref; None on an empty slot.")
    digest: str | None


class PromoteDecision(Part):
    """The decision, on which candidate, and the signed release note that explains it."""

    slot: str
    candidate: str
    digest: str
    decision: Literal["promote", "refuse"]
    note: str = Field(description="The release note's ref (`note/...`).")
    note_digest: str


class PromoteEvidence(Part):
    """The paired comparison behind the decision."""

    reason: str = Field(description="The decision in one line.")
    composite: dict[str, Any] = Field(description="Candidate and incumbent composite, the delta, its interval and p-value.")
    blockers: list[str] = Field(description="Critical metrics that regressed beyond their threshold.")
    evals: dict[str, str] = Field(description="The eval artifacts compared (candidate, incumbent).")


class ModelPromote(Payload):
    """A candidate model judged against the incumbent on the same items (`loopwright promote`)."""

    action = Action.MODEL_PROMOTE
    before: PromoteFrom
    after: PromoteDecision
    details: PromoteEvidence | None = None


class TrainingRun(Registration):
    """A `loopwright train` job: its recipe and inputs, how it ran, its throughput, loss curve and held-out metrics."""

    job_id: str = Field(description="The job's id: the same across --resume, as it is the digest of the job's inputs.")
    recipe_digest: str = Field(description="sha256 of the recipe file's bytes (stored as recipe.toml in the artifact).")
    objective: str = Field(description="classification, mlm or contrastive.")
    dataset: str = Field(description="The dataset artifact's ref.")
    data_digest: str
    base: str | None = Field(description="The base checkpoint (None when trained from a config).")
    launcher: str = Field(description="local, torchrun or ray.")
    world_size: int = Field(description="Processes that trained.")
    precision: str = Field(description="fp32 or bf16 (autocast).")
    activation_checkpointing: bool
    steps: int
    resumed_from: int | None = Field(description="The checkpoint step the job resumed from; None for a run from the start.")
    examples_per_s: float = Field(description="Training examples per wall second (0 on a cache hit).")
    tokens_per_s: float = Field(description="Unpadded tokens per wall second (0 on a cache hit).")
    compute_seconds: float = Field(description="Wall seconds every process spent in steps, summed (0 on a cache hit).")
    cpu_seconds: float = Field(0.0, description="CPU seconds of every process's loop, summed: unlike wall time, not inflated by "
                                                "other work on a shared machine (0 on a cache hit).")
    loss_curve: list[float] = Field(description="The training loss after each step, all steps, resumed ones included.")
    added_tokens: int = Field(description="Words added to the tokenizer.")
    metrics: dict[str, Any] = Field(description="Held-out metrics: test accuracy and ECE per language (classification), val loss.")
    cache_hit: bool = Field(description="The trained files came from the training cache.")
    cache_key: str
    seconds: float = Field(description="Wall time of the job (or of the cache lookup).")


class TrainJob(ArtifactRegister):
    """A training job: a model trained from a train recipe and registered with its receipt."""

    action = Action.TRAIN_JOB
    details: TrainingRun | None = None


# ---- the advisor -------------------------------------------------------------------------------


class AdvisedWindow(Part):
    """The served calls the advisor read: how many, when, and a digest of their trace ids."""

    calls: int
    first: str | None = Field(description="The earliest call's time (ISO-8601 UTC); None for no call.")
    last: str | None = Field(description="The latest call's time.")
    ids_digest: str = Field(description="sha256 over the sorted trace ids, one a line.")


class AdvisedLever(Part):
    """The lever the advisor put first (None: no finding), and whether the change that asked follows it."""

    lever: str | None
    stage: str | None
    title: str | None
    command: str | None
    asked_by: str = Field(description="Who asked and for what (the demo's phase, an operator).")
    planned: list[str] = Field(description="The levers the asker meant to pull; empty when it asked with no plan.")
    followed: bool | None = Field(description="Whether the planned lever is the advisor's first; None with no plan.")


class AdvisorCall(Payload):
    """The lever advisor's call over a window of live traffic, recorded when a change is decided on it."""

    action = Action.ADVISOR_CALL
    before: AdvisedWindow
    after: AdvisedLever
    details: dict[str, Any] | None = Field(None, description="The full advice: calls, defect rate and every finding with its evidence.")


# ---- tools -------------------------------------------------------------------------------------


class ToolCall(Part):
    """One executed tool call (inputs masked)."""

    ticket: str
    tool: str
    caller: dict[str, Any] = Field(description="The principal that called it.")
    customer: str | None = Field(description="The customer it acted for.")
    inputs: dict[str, Any]
    result: dict[str, Any]
    origin: str
    verdicts: list[dict[str, Any]] = Field(description="Every validator's verdict, in order.")


class ToolAction(Payload):
    """A tool's action; `before` and `after` are the state the tool changed, as the tool reports it."""

    action = Action.TOOL
    tool: str = Field(description="The tool's name: the action is tool.<name>.")
    details: ToolCall | None = None

    @property
    def action_name(self) -> str:
        return f"{Action.TOOL}.{self.tool}"

    @classmethod
    def from_parts(cls, action: str, before: Any, after: Any, details: Any) -> Payload:
        return cls.model_validate({"tool": action.removeprefix(f"{Action.TOOL}."), "before": before, "after": after, "details": details})
