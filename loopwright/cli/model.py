"""`loopwright model`: register local Hugging Face checkpoints and LoRA adapters; build the sample's own LM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace, training_progress

app = typer.Typer(help="Local models: checkpoints (safetensors), LoRA adapters within the policy's caps, the sample LM.", no_args_is_help=True)

TaskOpt = Annotated[str, typer.Option(help="causal-lm (generation) or encoder (e.g. a triage embedder).")]


@app.command(epilog="Example: loopwright model register ./my-checkpoint --name support-lm")
def register(
    path: Annotated[Path, typer.Argument(help="Checkpoint folder: config.json, *.safetensors and the tokenizer files.")],
    name: Annotated[str, typer.Option(help="Artifact name: it becomes model/NAME@N.")],
    task: TaskOpt = "causal-lm",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Check a local checkpoint folder (no pickles, a tokenizer, an architecture) and register it as a model artifact."""
    from loopwright.hf.checkpoint import register_checkpoint

    ws = open_workspace(workspace)
    artifact = register_checkpoint(ws, path, name, task=task)

    def render(console):
        c = artifact.config
        console.print(f"{artifact.short}  {c['architecture']}  {c['parameters']:,} parameters  context {c['context_length']}")

    emit(artifact.to_dict(), json, render)


@app.command(epilog="Example: loopwright model sample --deploy")
def sample(
    deploy: Annotated[bool, typer.Option("--deploy/--no-deploy", help="Release it on slot model:small: golden gate, then canary (`release start`).")] = False,
    small: Annotated[bool, typer.Option(help="A ~0.2M-parameter model that trains in seconds (for tests).")] = False,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse a model trained before on the same inputs (see LOOPWRIGHT_CACHE_DIR).")] = True,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Train the sample's tiny Llama on the bank's text (a few minutes on 2 cores, then cached); register it as model/bank-lm."""
    from loopwright.samples.bank.lm import SLOT, register_sample_lm
    from loopwright.training.lm import SampleLMConfig

    ws = open_workspace(workspace)
    config = SampleLMConfig.small() if small else SampleLMConfig()
    with training_progress("training model/bank-lm", json) as progress:
        result = register_sample_lm(ws, config, progress=progress, use_cache=cache)
    release = None
    if deploy:
        from loopwright.release.releases import release_new_artifact

        ppl = result.to_dict()["heldout_perplexity"]["trained"]
        release = release_new_artifact(ws, SLOT, result.artifact.ref, reason=f"sample LM: held-out perplexity {ppl:.1f}")

    def render(console):
        d = result.to_dict()
        how = "from the cache" if d["cache_hit"] else "trained"
        console.print(f"{result.artifact.short}  {how} in {d['seconds']:.1f} s")
        console.print(f"held-out perplexity {d['heldout_perplexity']['trained']:.1f} (untrained {d['heldout_perplexity']['untrained']:.0f})")
        if deploy:
            from loopwright.cli.release import print_release_outcome

            print_release_outcome(console, SLOT, release)

    emit({**result.to_dict(), "release": release}, json, render)
    if release is not None and release["state"] == "rejected":
        raise typer.Exit(1)


@app.command(epilog="Example: loopwright model reader --deploy")
def reader(
    deploy: Annotated[bool, typer.Option("--deploy/--no-deploy", help="Release it on slot model:reader: golden gate, then canary (`release start`).")] = False,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse a reader trained before on the same inputs (see LOOPWRIGHT_CACHE_DIR).")] = True,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Train the sample's reader (the small tier's span reader) on the bank's documents; register it as model/reader."""
    from loopwright.samples.bank.reading import register_sample_reader
    from loopwright.serving.backends.reader import SLOT

    ws = open_workspace(workspace)
    with training_progress("training model/reader", json) as progress:
        result = register_sample_reader(ws, progress=progress, use_cache=cache)
    release = None
    if deploy:
        from loopwright.release.releases import release_new_artifact

        auc = result.metrics["overall"]["answerability_auc"]
        release = release_new_artifact(ws, SLOT, result.artifact.ref, reason=f"reader: held-out answerability AUC {auc:.3f}")

    def render(console):
        d, overall = result.to_dict(), result.metrics["overall"]
        console.print(f"{result.artifact.short}  {'from the cache' if d['cache_hit'] else 'trained'} in {d['seconds']:.1f} s")
        console.print(f"held-out documents: exact match {overall['exact_match']:.3f}, F1 {overall['f1']:.3f}, "
                      f"answerability AUC {overall['answerability_auc']:.3f}, ECE {overall['ece']:.3f}")
        if deploy:
            from loopwright.cli.release import print_release_outcome

            print_release_outcome(console, SLOT, release)

    emit({**result.to_dict(), "release": release}, json, render)
    if release is not None and release["state"] == "rejected":
        raise typer.Exit(1)


@app.command("adapter-register", epilog="Example: loopwright model adapter-register ./lora --name grace --base model/bank-lm")
def adapter_register(
    path: Annotated[Path, typer.Argument(help="PEFT LoRA folder: adapter_config.json and adapter_model.safetensors.")],
    name: Annotated[str, typer.Option(help="Artifact name: it becomes adapter/NAME@N.")],
    base: Annotated[str, typer.Option(help="The model artifact it adapts (kind/name@N, kind/name or a digest prefix).")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Check a LoRA adapter against its base model and the policy's [adapters] caps, and register it."""
    from loopwright.hf.adapters import register_adapter

    ws = open_workspace(workspace)
    artifact = register_adapter(ws, path, name, base_ref=base)

    def render(console):
        c = artifact.config
        console.print(f"{artifact.short}  rank {c['rank']} on {', '.join(c['target_modules'])}  {c['bytes']:,} bytes  base {c['base']}")

    emit(artifact.to_dict(), json, render)


@app.command("sample-adapter", epilog="Example: loopwright model sample-adapter")
def sample_adapter(
    base: Annotated[str, typer.Option(help="The causal-LM model artifact to adapt.")] = "model/bank-lm",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Train the sample's chargeback-grace LoRA adapter on a base model (seconds) and register it as adapter/bank-grace."""
    from loopwright.samples.bank.lm import register_sample_adapter

    ws = open_workspace(workspace)
    with training_progress("training adapter/bank-grace", json) as progress:
        result = register_sample_adapter(ws, base, progress=progress)

    def render(console):
        d = result.to_dict()
        how = "from the cache" if d["cache_hit"] else "trained"
        console.print(f"{result.artifact.short}  {how} in {d['seconds']:.1f} s  loss {d['loss']['first']:.2f} -> {d['loss']['last']:.2f}")

    emit(result.to_dict(), json, render)


@app.command("sample-generator", epilog="Example: loopwright model sample-generator --deploy")
def sample_generator(
    deploy: Annotated[bool, typer.Option("--deploy/--no-deploy", help="Release it on slot model:large: golden gate, then canary (`release start`).")] = False,
    small: Annotated[bool, typer.Option(help="A tiny model that trains in seconds (for tests: it learns the format only).")] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Train the sample's generator (copy the span that answers, cite it as [n]) on evidence this workspace's
    retriever returns; cached by its examples' digest; register it as model/bank-generator."""
    from loopwright.samples.bank.generator import SLOT, register_sample_generator
    from loopwright.training.generator import GeneratorConfig

    ws = open_workspace(workspace)
    config = GeneratorConfig.small() if small else GeneratorConfig()
    with training_progress("training model/bank-generator", json) as progress:
        artifact, trained = register_sample_generator(ws, config, progress=progress)
    release = None
    if deploy:
        from loopwright.release.releases import release_new_artifact

        release = release_new_artifact(ws, SLOT, artifact.ref, reason="the sample's generator")
    report = trained.report()
    data = {"artifact": artifact.ref, "digest": artifact.digest, "cache_hit": trained.cache_hit,
            "seconds": round(trained.seconds, 3), "config": report["config"], "examples": report["examples"],
            "loss": report["loss"], "release": release}

    def render(console):
        how = "from the cache" if trained.cache_hit else "trained"
        console.print(f"{artifact.short}  {how} in {trained.seconds:.1f} s on {report['examples']['trained']} examples  "
                      f"loss {report['loss']['first']:.2f} -> {report['loss']['last']:.2f}")
        if deploy:
            from loopwright.cli.release import print_release_outcome

            print_release_outcome(console, SLOT, release)

    emit(data, json, render)
    if release is not None and release["state"] == "rejected":
        raise typer.Exit(1)
