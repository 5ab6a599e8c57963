"""`loopwright train`: recipes that do not validate, missing data, unknown architectures, tokenizers that do not fit,
corrupt checkpoints; a job killed with SIGKILL resumed to the uninterrupted run's losses; the trained triage model
served by `TriageModel.load`; the objectives and the tokenizer extension; torchrun's two processes against one.

Real workspaces (SQLite), real Hugging Face models built from tiny configs (no weights downloaded), real
processes killed for real.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopwright.errors import ConfigError, IntegrityError, NotFound, UnknownRef
from loopwright.registry.artifacts import list_artifacts, read_file, register
from loopwright.registry.payloads import TrainJob
from loopwright.registry.receipts import list_receipts
from loopwright.serving.triage import EncodedTriage, TriageModel
from loopwright.training import checkpoints
from loopwright.training.jobs import job_dir, train_model
from loopwright.training.tasks import build_task
from loopwright.training.train_recipe import parse_train_recipe

INTENTS = {
    "card_lost": ["I lost my card {n}", "my card {n} was stolen", "perdí mi tarjeta {n}", "tôi bị mất thẻ {n}"],
    "balance": ["what is my balance {n}", "how much money do I have {n}", "cuál es mi saldo {n}", "số dư tài khoản {n} là bao nhiêu"],
    "fees": ["what does the wire fee cost {n}", "is there a monthly fee {n}", "cuánto cuesta la comisión {n}", "phí chuyển khoản {n} là bao nhiêu"],
}
LANGS = ("en", "en", "es", "vi")

# Dropout off: a torchrun step then equals the one-process step up to summation order.
TINY = ('config = { model_type = "bert", hidden_size = 32, num_hidden_layers = 2, num_attention_heads = 2, '
        'intermediate_size = 64, hidden_dropout_prob = 0.0, attention_probs_dropout_prob = 0.0 }')


def _rows(split: str, count: int) -> list[dict]:
    out = []
    for n in range(count):
        for intent, patterns in INTENTS.items():
            for pattern, lang in zip(patterns, LANGS, strict=True):
                out.append({"id": f"{split}-{intent}-{n}-{lang}", "text": pattern.format(n=f"{split}{n}"), "intent": intent, "language": lang})
    return out


def add_dataset(ws, name: str = "dataset/toy") -> str:
    """A dataset artifact shaped like `data prepare`'s output (train, val, test JSON lines)."""
    files = {f"{split}.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _rows(split, n)).encode()
             for split, n in (("train", 12), ("val", 3), ("test", 3))}
    return register(ws, "dataset", name.split("/")[1], files).ref


def write_recipe(tmp_path: Path, body: str, name: str = "recipe.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, "utf-8")
    return path


def tiny_recipe(steps: int = 12, every: int = 4, extra: str = "", objective: str = "classification", model: str = TINY) -> str:
    return (f'name = "toy"\nseed = 3\n[data]\ndataset = "dataset/toy"\norder = "shuffle"\n[model]\n{model}\n'
            f'[objective]\nkind = "{objective}"\n[optimizer]\nlr = 3e-3\n'
            f'[training]\nbatch_size = 8\nepochs = 100\nmax_steps = {steps}\ncheckpoint_every = {every}\nmax_length = 16\n{extra}')


@pytest.fixture
def ws(lite_workspace):
    add_dataset(lite_workspace)
    return lite_workspace


def _cli(ws, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen([sys.executable, "-m", "loopwright", *args, "--workspace", str(ws.root)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_recipe_errors_name_the_line_and_field():
    with pytest.raises(ConfigError, match=r"r.toml:\d+: data.dataset: required field is missing"):
        parse_train_recipe('name = "x"\n[data]\ndatset = "dataset/a"\n', "r.toml")
    with pytest.raises(ConfigError, match=r"r.toml:4: data.datset: unknown field"):
        parse_train_recipe('name = "x"\n[data]\ndataset = "dataset/a"\ndatset = "dataset/a"\n', "r.toml")
    with pytest.raises(ConfigError, match="base` or `config`, not both"):
        parse_train_recipe('name = "x"\n[data]\ndataset = "d"\n[model]\nbase = "b"\nconfig = { model_type = "bert" }\n')
    with pytest.raises(ConfigError, match="training.checkpoint_every"):
        parse_train_recipe('name = "x"\n[data]\ndataset = "d"\n[training]\ncheckpoint_every = 0\n')


def test_missing_data_unknown_architecture_and_a_tokenizer_that_does_not_fit(ws, tmp_path):
    with pytest.raises(UnknownRef, match=r"\[data\] dataset"):
        train_model(ws, write_recipe(tmp_path, tiny_recipe().replace("dataset/toy", "dataset/none")))
    register(ws, "dataset", "raw", {"utterances.jsonl": b'{"text": "a"}\n'})
    with pytest.raises(NotFound, match="not a prepared dataset: it has no train.jsonl"):
        train_model(ws, write_recipe(tmp_path, tiny_recipe().replace("dataset/toy", "dataset/raw")))
    with pytest.raises(ConfigError, match="model_type 'bort' is not a known Hugging Face architecture"):
        train_model(ws, write_recipe(tmp_path, tiny_recipe(model='config = { model_type = "bort" }')))
    with pytest.raises(ConfigError, match="tokenizer does not fit: it has 30522 tokens but .* vocab_size is 1000"):
        train_model(ws, write_recipe(tmp_path, tiny_recipe(model='config = { model_type = "bert", vocab_size = 1000 }')))
    with pytest.raises(ConfigError, match="unknown launcher 'slurm'"):
        train_model(ws, write_recipe(tmp_path, tiny_recipe()), launcher="slurm")  # type: ignore[arg-type]
    # the CLI says it in one line and exits non-zero
    proc = _cli(ws, "train", str(write_recipe(tmp_path, tiny_recipe(model='config = { model_type = "bort" }'))))
    out, err = proc.communicate(timeout=600)
    assert proc.returncode != 0 and len(err.strip().splitlines()) == 1 and "bort" in err
    assert not list_artifacts(ws, kind="model")


def test_ray_absent_is_one_line_with_the_install_hint(ws, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray imports: ImportError
    with pytest.raises(ConfigError, match="Ray is not installed") as caught:
        train_model(ws, write_recipe(tmp_path, tiny_recipe()), launcher="ray")
    assert "pip install 'loopwright[ray]'" in caught.value.one_line()
    assert not list_artifacts(ws, kind="model")


def _progress_step(folder: Path) -> int:
    lines = [ln for ln in (folder / "progress.jsonl").read_text("utf-8").splitlines() if ln.endswith("}")] \
        if (folder / "progress.jsonl").exists() else []
    return json.loads(lines[-1])["step"] if lines else 0


def test_a_job_killed_with_sigkill_resumes_to_the_uninterrupted_runs_losses(ws, tmp_path, monkeypatch):
    """The proof of resume: a real SIGKILL mid-run, nothing registered, then --resume matches the uninterrupted run."""
    import torch

    steps, every = 240, 20
    recipe = write_recipe(tmp_path, tiny_recipe(steps, every))
    proc = _cli(ws, "train", str(recipe), "--json")
    jobs, deadline = ws.state_dir / "jobs", time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        folders = list(jobs.glob("*")) if jobs.is_dir() else []
        if folders and _progress_step(folders[0]) >= 70:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the job finished before it could be killed: make it longer"
    folder = next(jobs.glob("*"))
    killed_at = _progress_step(folder)
    last = checkpoints.latest(folder)
    assert last is not None and last.step % every == 0 and 0 < last.step <= killed_at < steps
    assert not list_artifacts(ws, kind="model")  # nothing half-registered
    with ws.session() as s:
        assert not [r for r in list_receipts(s) if r.action == "train.job"]

    resumed = _cli(ws, "train", str(recipe), "--resume", "--json")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    doc = json.loads(out)
    assert doc["resumed_from"] == last.step
    artifact = list_artifacts(ws, kind="model")[0]
    losses = json.loads(read_file(ws, artifact, "training.json"))["losses"]

    # the uninterrupted run, in another workspace with its own cache, on one thread as the CLI ran
    monkeypatch.setenv("LOOPWRIGHT_CACHE_DIR", str(tmp_path / "other-cache"))
    from loopwright.workspace import init_workspace

    other = init_workspace(tmp_path / "other")
    add_dataset(other)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        reference = train_model(other, recipe).result["losses"]
    finally:
        torch.set_num_threads(threads)
        other.close()
    assert len(losses) == len(reference) == steps
    assert abs(losses[last.step] - reference[last.step]) < 1e-6  # the next step after the checkpoint
    assert max(abs(a - b) for a, b in zip(losses, reference, strict=True)) < 1e-6
    assert not folder.exists()  # a finished job's checkpoints are removed


def test_a_corrupt_checkpoint_is_one_line_error(ws, tmp_path):
    recipe = write_recipe(tmp_path, tiny_recipe(8, 4))
    result = train_model(ws, recipe, use_cache=False)
    key = result.artifact.config["job_key"]
    folder = job_dir(ws, key)
    # a checkpoint left by a killed job, then damaged on disk
    checkpoints.save(folder, key, 4, {"step": 4, "losses": [1.0] * 4}, keep=2)
    state = folder / "checkpoints" / "step-000004" / "state.pt"
    state.write_bytes(state.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IntegrityError, match="step-000004 is corrupt: state.pt does not match its recorded sha256"):
        train_model(ws, recipe, resume=True, use_cache=False)
    checkpoints.save(folder, "another-job", 8, {"step": 8}, keep=2)
    with pytest.raises(IntegrityError, match="belongs to another job"):
        train_model(ws, recipe, resume=True, use_cache=False)


def test_trained_triage_model_is_served_by_triage_model_load_with_a_receipt(ws, tmp_path):
    recipe = write_recipe(tmp_path, tiny_recipe(60, 30))
    first = train_model(ws, recipe)
    model = TriageModel.load(ws, first.artifact.ref)
    assert isinstance(model, EncodedTriage) and model.classes == sorted(INTENTS)
    texts = ["I lost my card train3", "cuál es mi saldo train3", "phí chuyển khoản train3 là bao nhiêu"]
    assert [r.intent for r in model.predict(texts)] == ["card_lost", "balance", "fees"]
    assert 0 < model.predict(texts)[0].confidence <= 1
    with ws.session() as s:
        receipt = [r for r in list_receipts(s) if r.action == "train.job"][-1]
    payload = receipt.payload
    assert isinstance(payload, TrainJob) and payload.details.steps == 60 and len(payload.details.loss_curve) == 60
    assert payload.details.examples_per_s > 0 and payload.details.tokens_per_s > 0 and payload.details.compute_seconds > 0
    assert set(payload.details.metrics["by_language"]) == {"en", "es", "vi"}
    again = train_model(ws, recipe)  # the same inputs: the cached bytes, the same artifact
    assert again.cache_hit and again.artifact.digest == first.artifact.digest
    assert first.artifact.files.keys() >= {"encoder/model.safetensors", "encoder/tokenizer.json", "head.json", "recipe.toml"}
    assert not any(p.endswith((".bin", ".pt", ".pkl")) for p in first.artifact.files)


@pytest.mark.parametrize("objective", ["mlm", "contrastive"])
def test_mlm_and_contrastive_objectives_learn(ws, tmp_path, objective):
    recipe = write_recipe(tmp_path, tiny_recipe(40, 100, objective=objective))
    result = train_model(ws, recipe, use_cache=False)
    losses = result.result["losses"]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5
    assert result.artifact.config["format"] == "loopwright.encoder/1" and "encoder/model.safetensors" in result.artifact.files
    assert result.result["metrics"]["loss"] is not None


def test_extended_tokenizer_adds_words_with_embeddings_from_their_pieces(ws, tmp_path):
    import torch
    from transformers import AutoModel

    from loopwright.embedding import model_path

    extra = '[tokenizer]\nkind = "extend"\nlanguages = ["es", "vi"]\nmin_count = 2\nmin_pieces = 2\n'
    recipe = parse_train_recipe(tiny_recipe(model='base = "all-MiniLM-L6-v2"') + "\n" + extra)
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _rows("train", 4)), "utf-8")
    task = build_task(recipe, data, None)
    assert task.added_tokens and all(len(pieces) >= 2 for pieces in task.added_tokens.values())
    base = AutoModel.from_pretrained(model_path()).get_input_embeddings().weight
    grown = task.model.encoder.get_input_embeddings().weight
    word, pieces = next(iter(task.added_tokens.items()))
    assert grown.shape[0] == base.shape[0] + len(task.added_tokens)
    assert torch.allclose(grown[task.tokenizer.convert_tokens_to_ids(word)], base[pieces].mean(0))
    assert task.tokenizer.tokenize(f"la {word} nueva") == ["la", word, "nueva"]


@pytest.mark.slow
def test_torchrun_two_processes_take_the_one_process_steps(ws, tmp_path):
    recipe = write_recipe(tmp_path, tiny_recipe(10, 100))
    one = train_model(ws, recipe, use_cache=False).result["losses"]
    two = train_model(ws, recipe, launcher="torchrun", nproc=2, use_cache=False).result
    assert two["world_size"] == 2
    assert max(abs(a - b) for a, b in zip(one, two["losses"], strict=True)) < 1e-4


@pytest.mark.slow
def test_ray_train_two_workers(ws, tmp_path):
    pytest.importorskip("ray.train")
    recipe = write_recipe(tmp_path, tiny_recipe(6, 100))
    one = train_model(ws, recipe, use_cache=False).result["losses"]
    two = train_model(ws, recipe, launcher="ray", nproc=2, use_cache=False).result
    assert two["world_size"] == 2
    assert max(abs(a - b) for a, b in zip(one, two["losses"], strict=True)) < 1e-4


def test_freeze_layers_leaves_the_embeddings_and_bottom_layers_as_they_were(ws, tmp_path):
    import torch
    from safetensors.torch import load as load_safetensors

    text = tiny_recipe(12, 100, extra="freeze_layers = 1\n")
    result = train_model(ws, write_recipe(tmp_path, text), use_cache=False)
    trained = load_safetensors(read_file(ws, result.artifact, "encoder/model.safetensors"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _rows("train", 12)), "utf-8")
    start = build_task(parse_train_recipe(text), data, None).model.encoder.state_dict()  # the same seed: the same initial weights
    frozen = [k for k in trained if k.startswith(("embeddings.", "encoder.layer.0."))]
    moved = [k for k in trained if k.startswith("encoder.layer.1.")]
    assert frozen and moved
    assert all(torch.equal(trained[k], start[k]) for k in frozen)
    assert not all(torch.equal(trained[k], start[k]) for k in moved)
    with pytest.raises(ConfigError, match="freeze_layers = 2 leaves nothing to train: the encoder has 2 layers"):
        train_model(ws, write_recipe(tmp_path, tiny_recipe(extra="freeze_layers = 2\n")))


def test_max_steps_caps_the_recipe_and_the_stored_recipe_says_so(ws, tmp_path):
    result = train_model(ws, write_recipe(tmp_path, tiny_recipe(12, 100)), max_steps=3, use_cache=False)
    assert result.result["steps"] == 3 and result.artifact.config["recipe"]["training"]["max_steps"] == 3
    assert read_file(ws, result.artifact, "recipe.toml").decode().endswith("# run with training.max_steps = 3 (train_model's max_steps)\n")


@pytest.mark.parametrize("dtype, chosen", [("float32", "fp32"), ("bfloat16", "bf16")])
def test_auto_precision_is_what_the_machine_measures_and_the_job_names_it(ws, tmp_path, monkeypatch, dtype, chosen):
    monkeypatch.setenv("LOOPWRIGHT_DTYPE", dtype)  # what fast_dtype's measurement would have chosen on such a machine
    result = train_model(ws, write_recipe(tmp_path, tiny_recipe(2, 100, extra='precision = "auto"\n')), use_cache=False)
    assert result.artifact.config["recipe"]["training"]["precision"] == chosen
    with ws.session() as s:
        receipt = list_receipts(s, action="train.job")[-1]
    assert receipt.details["precision"] == chosen
