"""`loopwright learn`: the self-learning plane: curate feedback into a dataset, spot-check it, train an adapter on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.prompt import Prompt
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, console, emit, open_workspace, training_progress
from loopwright.errors import InvalidInput
from loopwright.learning.curate import TARGETS, curate
from loopwright.learning.examples import read_examples
from loopwright.learning.review import Decision, parse_decisions, record_decisions, review_sample, review_status
from loopwright.policy.loader import deployed_policy
from loopwright.registry.artifacts import resolve

app = typer.Typer(help="Self-learning: curate consented feedback into datasets, spot-check them, and train adapters on them "
                  "within the policy's caps, released like any change.", no_args_is_help=True)


@app.command("curate", epilog="Example: loopwright learn curate --target triage --since 2026-11-22T00:00:00Z")
def curate_(
    target: Annotated[str, typer.Option(help=f"What the dataset trains: {' or '.join(TARGETS)}.")],
    since: Annotated[str | None, typer.Option(help="ISO-8601 UTC: only traces from this time.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO-8601 UTC: only traces before this time.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Build dataset/curated-TARGET from traces, feedback and corrections: consented, verified, deduplicated,
    PII-free, with a replay set of earlier examples; print its data card."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    ws = open_workspace(workspace)
    with Progress(TextColumn("curating"), BarColumn(), MofNCompleteColumn(), console=console, transient=True, disable=json) as bar:
        task = bar.add_task("curate", total=None)
        result = curate(ws, target, since=since, until=until, progress=lambda done, total: bar.update(task, completed=done, total=total))

    def render(c):
        card = result.card
        c.print(f"{result.artifact.short}: {card['out']['examples']} examples from {card['in']['traces']} traces with feedback")
        table = Table("kept", "n", "dropped", "n")
        kept = sorted(card["out"]["by_source"].items())
        dropped = sorted(card["dropped"].items())
        for i in range(max(len(kept), len(dropped))):
            k = kept[i] if i < len(kept) else ("", "")
            d = dropped[i] if i < len(dropped) else ("", "")
            table.add_row(k[0], str(k[1]), d[0], str(d[1]))
        c.print(table)
        c.print(f"next: `loopwright learn review {result.artifact.ref}`")

    emit(result.to_dict(), json, render)


def _ask(items: list[dict], intents: list[str]) -> list[Decision]:
    """Decisions from a person at the terminal; `q` stops early and keeps what was decided."""
    decisions = []
    for n, item in enumerate(items, 1):
        shown = item.get("text") or f"{item.get('prompt')}\n  -> {item.get('completion')}"
        label = item.get("intent") or ("good" if item.get("label") else "bad")
        console.print(f"[bold]{n}/{len(items)}[/bold] [{item.get('language', '-')}] {shown}\n  label: [bold]{label}[/bold]")
        choice = Prompt.ask("approve, reject, relabel or quit", choices=["a", "r", "l", "q"], default="a", console=console)
        if choice == "q":
            break
        if choice == "l":
            if not intents:
                raise InvalidInput("generator items cannot be relabelled; approve or reject them")
            decisions.append(Decision(item["item"], "relabel", Prompt.ask("intent", choices=intents, console=console)))
        else:
            decisions.append(Decision(item["item"], "approve" if choice == "a" else "reject"))
    return decisions


@app.command("review", epilog="Example: loopwright learn review dataset/curated-triage@1 --decisions decisions.jsonl --reviewer qa-bot")
def review(
    dataset: Annotated[str, typer.Argument(help="The curated dataset (dataset/curated-triage@N).")],
    decisions: Annotated[Path | None, typer.Option(help="Decisions to record, JSON lines of {item, decision, label?}: a scripted reviewer.")] = None,
    reviewer: Annotated[str | None, typer.Option(help="Who reviews, for the receipt; default: you ($LOOPWRIGHT_ACTOR or login).")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Spot-check a stratified sample of a curated dataset (approve, reject or relabel), at a prompt or from
    --decisions; with --json and no --decisions, print the sample and the tally instead."""
    ws = open_workspace(workspace)
    policy = deployed_policy(ws)
    who = reviewer or ws.actor
    if decisions is not None:
        if not decisions.is_file():
            raise InvalidInput(f"no decisions file {decisions}")
        status = record_decisions(ws, dataset, parse_decisions(decisions.read_text("utf-8")), reviewer=who, scripted=True, policy=policy)
    else:
        sample = review_sample(ws, dataset, policy=policy)
        if json:
            emit({"sample": sample, "status": review_status(ws, dataset, policy=policy).to_dict()}, True, lambda c: None)
            return
        rows = read_examples(ws, resolve(ws, dataset, kind="dataset"))
        intents = sorted({r["intent"] for r in rows if "intent" in r})
        chosen = _ask(sample, intents) if sample else []
        status = (
            record_decisions(ws, dataset, chosen, reviewer=who, scripted=False, policy=policy)
            if chosen else review_status(ws, dataset, policy=policy)
        )

    def render(c):
        c.print(
            f"{status.ref}: {status.reviewed} of {status.quota} required reviewed; {status.approved} approved, "
            f"{status.rejected} rejected, {status.relabelled} relabelled (rejection rate {status.rejection_rate:.1%})"
        )
        c.print("ready for training" if status.ready else "not ready for training yet")

    emit(status.to_dict(), json, render)


@app.command(epilog="Example: loopwright learn adapter --target triage dataset/bank-grace --rank 8 --release")
def adapter(
    dataset: Annotated[str, typer.Argument(help="Dataset artifact with examples.jsonl (text, intent, language, source).")],
    target: Annotated[str, typer.Option(help="What to adapt: triage (the intent classifier).")] = "triage",
    rank: Annotated[int, typer.Option(help="LoRA rank r (policy cap [adapters.triage] max_rank).")] = 8,
    alpha: Annotated[int, typer.Option(help="LoRA alpha: the update is scaled by alpha / r (cap max_alpha).")] = 16,
    lr: Annotated[float, typer.Option(help="Peak learning rate, decayed linearly (cap max_lr).")] = 1e-3,
    epochs: Annotated[int, typer.Option(help="Passes over the training split (cap max_epochs).")] = 2,
    batch_size: Annotated[int, typer.Option(help="Examples per optimiser step.")] = 16,
    target_modules: Annotated[str, typer.Option(help="Comma-separated MiniLM modules to adapt (cap target_modules).")] = "query,key,value,dense",
    layers: Annotated[str, typer.Option(help="Comma-separated MiniLM encoder layers (0-5) to adapt: the top one serves at one layer's extra cost.")] = "5",
    balanced: Annotated[bool, typer.Option("--balanced/--unbalanced", help="Weigh each intent equally in the loss.")] = True,
    distill: Annotated[float, typer.Option(help="Weight of the KL toward the base's distribution on its own training texts (cap max_distill); 0: off.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Seeds the split, the LoRA initialisation, the batch order and dropout.")] = 0,
    base: Annotated[str | None, typer.Option(help="The triage model to adapt; default: the one live on model:triage.")] = None,
    name: Annotated[str, typer.Option(help="Artifact name: it becomes adapter/NAME@N.")] = "triage",
    intent: Annotated[str | None, typer.Option(help="The intent whose defect rate is reported; default: the most missed before.")] = None,
    forgetting: Annotated[str | None, typer.Option(help="A held-out set (heldout.jsonl) to measure forgetting on; default: the base dataset's test split.")] = None,
    release: Annotated[bool, typer.Option("--release/--no-release", help="Release it on adapter:triage: golden gate, then a canary.")] = False,
    canary: Annotated[float, typer.Option(help="Canary share in percent with --release.")] = 10.0,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Train a LoRA adapter (and head) on the triage model from a dataset, within the policy's caps; print held-out accuracy
    before and after, the target intent's defect rate and forgetting. The adapter is bound to its base head's digest."""
    from loopwright.errors import InvalidInput
    from loopwright.learning.adapters import learn_triage_adapter
    from loopwright.training.triage_adapter import TriageAdapterConfig

    if target != "triage":
        raise InvalidInput(f"--target {target!r} is not one this command trains", hint="--target triage")
    modules = tuple(m.strip() for m in target_modules.split(",") if m.strip())
    try:
        layer_numbers = tuple(int(n) for n in layers.split(",") if n.strip())
    except ValueError:
        raise InvalidInput(f"--layers {layers!r} is not a comma-separated list of layer numbers") from None
    config = TriageAdapterConfig(rank=rank, alpha=alpha, lr=lr, epochs=epochs, batch_size=batch_size, target_modules=modules,
                                 layers=layer_numbers, balanced=balanced, distill=distill, seed=seed)
    ws = open_workspace(workspace)
    with training_progress("training adapter", json) as progress:
        job = learn_triage_adapter(ws, dataset, config, base=base, name=name, intent=intent, forgetting=forgetting, progress=progress)
    outcome = None
    if release:
        from loopwright.release.releases import release_new_artifact

        reason = f"learn adapter {job.job_id}: {job.metrics['target']['intent']} defect rate " \
                 f"{job.metrics['target']['before']['defect_rate']} -> {job.metrics['target']['after']['defect_rate']}"
        outcome = release_new_artifact(ws, "adapter:triage", job.artifact.ref, reason=reason, canary=canary / 100)
    emit({**job.to_dict(), "release": outcome}, json, lambda c: _render(c, job, outcome))
    if outcome is not None and outcome["state"] == "rejected":
        raise typer.Exit(1)


def _render(c, job, outcome) -> None:
    m = job.metrics
    table = Table("held-out", "n", "before", "after", title=m["split_rule"])
    before, after = m["held_out"]["before"], m["held_out"]["after"]
    for group in ("by_intent", "by_language"):
        for key, b in before[group].items():
            table.add_row(key, str(b["n"]), f"{b['accuracy']:.3f}", f"{after[group][key]['accuracy']:.3f}")
    table.add_row("all", str(before["overall"]["n"]), f"{before['overall']['accuracy']:.3f}", f"{after['overall']['accuracy']:.3f}")
    c.print(table)
    t = m["target"]
    c.print(f"{t['intent']} defect rate {t['before']['defect_rate']:.3f} {t['before']['ci95']} -> {t['after']['defect_rate']:.3f} "
            f"{t['after']['ci95']} (n = {t['n']}); before it went to {t['before']['confused_as'] or '-'}")
    f = m["forgetting"]
    worst = max(f["drop_points"], key=f["drop_points"].get, default=None)
    c.print(f"forgetting on {f['rows']}: worst drop {f['worst_drop_points']:.1f} points ({worst}, paired 95% {f['drop_ci95'].get(worst)}; "
            f"{'within' if f['within_1_point'] else 'NOT within'} 1 point); every other intent together "
            f"{f['other_intents']['drop_points']} {f['other_intents']['ci95']}")
    how = "from the cache" if job.cache_hit else f"trained at {job.examples_per_s:.1f} examples/s"
    c.print(f"{job.artifact.short}  job {job.job_id}  {how} in {job.seconds:.1f} s"
            + ("" if job.registered else "  (already registered)"))
    if outcome is not None:
        from loopwright.cli.release import print_release_outcome

        print_release_outcome(c, "adapter:triage", outcome)


@app.command(epilog="Example: loopwright learn prefs --method dpo dataset/curated-generator --release")
def prefs(
    dataset: Annotated[str, typer.Argument(help="A curated generator dataset (`learn curate --target generator`), spot-checked.")],
    method: Annotated[str, typer.Option(help="dpo (chosen/rejected pairs) or kto (thumbs up and down).")] = "dpo",
    heldout: Annotated[str, typer.Option(help="The frozen held-out preference set (pairs.jsonl), never trained on.")] = "dataset/bank-prefs-heldout",
    rank: Annotated[int, typer.Option(help="LoRA rank r (policy cap [adapters] max_rank).")] = 8,
    alpha: Annotated[int, typer.Option(help="LoRA alpha: the update is scaled by alpha / r (cap max_alpha).")] = 16,
    lr: Annotated[float, typer.Option(help="Peak learning rate, decayed linearly (cap max_lr).")] = 2e-3,
    epochs: Annotated[int, typer.Option(help="Passes over the training rows (cap max_epochs).")] = 2,
    batch_size: Annotated[int, typer.Option(help="Rows (pairs for DPO) per optimiser step.")] = 8,
    beta: Annotated[float, typer.Option(help="DPO's and KTO's beta: how far from the base the adapter may move.")] = 0.1,
    target_modules: Annotated[str, typer.Option(help="Comma-separated modules to adapt (cap target_modules).")] = "q_proj,k_proj,v_proj,o_proj",
    seed: Annotated[int, typer.Option(help="Seeds the LoRA initialisation and the batch order.")] = 0,
    base: Annotated[str | None, typer.Option(help="The causal-LM checkpoint to adapt; default: the one live on model:small.")] = None,
    name: Annotated[str, typer.Option(help="Artifact name: it becomes adapter/NAME@N.")] = "prefs",
    release: Annotated[bool, typer.Option("--release/--no-release", help="Propose it on adapter:small: golden gate, then a canary.")] = False,
    canary: Annotated[float, typer.Option(help="Canary share in percent with --release.")] = 10.0,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Preference optimisation of the generator (TRL's DPO or KTO as a LoRA adapter, float32) from a reviewed curated
    dataset, within the policy's [adapters] caps; print held-out preference accuracy before and after, per language."""
    from loopwright.learning.preferences import learn_preferences, propose
    from loopwright.training.preferences import PreferenceConfig

    modules = tuple(m.strip() for m in target_modules.split(",") if m.strip())
    config = PreferenceConfig(method=method, rank=rank, alpha=alpha, lr=lr, epochs=epochs, batch_size=batch_size, beta=beta,
                              target_modules=modules, seed=seed)
    ws = open_workspace(workspace)
    with training_progress(f"{method} adapter", json) as progress:
        job = learn_preferences(ws, dataset, config, heldout=heldout, base=base, name=name, progress=progress)
    outcome = propose(ws, job, canary=canary / 100) if release else None
    emit({**job.to_dict(), "release": outcome}, json, lambda c: _render_prefs(c, job, outcome))
    if outcome is not None and outcome["state"] == "rejected":
        raise typer.Exit(1)


def _render_prefs(c, job, outcome) -> None:
    held = job.metrics["heldout"]
    table = Table("held-out pairs", "n", "before", "after", title=f"{job.metrics['method'].upper()} on {job.metrics['rows']} rows; "
                  f"chosen answer preferred, on {held['dataset']}")
    for key, b in held["before"]["by_language"].items():
        table.add_row(key, str(b["n"]), f"{b['accuracy']:.3f}", f"{held['after']['by_language'][key]['accuracy']:.3f}")
    b, a = held["before"]["overall"], held["after"]["overall"]
    table.add_row("all", str(b["n"]), f"{b['accuracy']:.3f}", f"{a['accuracy']:.3f}")
    c.print(table)
    c.print(f"mean log-prob margin {b['mean_margin']:+.2f} -> {a['mean_margin']:+.2f}; "
            + ("validated: it may be proposed" if job.validated else "NOT validated: held-out accuracy fell, it will not be proposed"))
    how = "from the cache" if job.cache_hit else "trained"
    c.print(f"{job.artifact.short}  job {job.job_id}  {how} in {job.seconds:.1f} s" + ("" if job.registered else "  (already registered)"))
    if outcome is not None:
        from loopwright.cli.release import print_release_outcome

        print_release_outcome(c, "adapter:small", outcome)
