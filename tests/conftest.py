"""Real parts for every test: a workspace on SQLite in tmp_path and the same on PostgreSQL.

PostgreSQL tests get a schema of their own (search_path in the URL) and drop it
afterwards. When the server does not answer they skip on a developer's machine
and fail under CI (CI=true), so a green CI always counts them.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PG_URL = os.environ.get("LOOPWRIGHT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # the reason is shown in the skip or failure
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_server() -> str:
    problem = _pg_available()
    if problem:
        message = f"PostgreSQL at {PG_URL} does not answer: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the PostgreSQL tests)")
        pytest.skip(message)
    return PG_URL


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path: Path) -> str:
    """A fresh, empty database: SQLite in tmp_path, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = request.getfixturevalue("pg_server")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{base}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def workspace(tmp_path: Path, database_url: str, monkeypatch):
    """An empty workspace on each database engine."""
    from loopwright.workspace import init_workspace

    monkeypatch.setenv("LOOPWRIGHT_DATABASE_URL", database_url)
    monkeypatch.setenv("LOOPWRIGHT_ACTOR", "tester")
    ws = init_workspace(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """A cache folder for the session (fitted triage heads), so tests exercise the fit once."""
    path = tmp_path_factory.mktemp("lw-cache")
    os.environ["LOOPWRIGHT_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def bank_embeddings(tmp_path_factory, cache_dir) -> Path:
    """The sample corpus's chunk embeddings, computed once per session and copied into each bank workspace."""
    from loopwright.samples.bank import REFERENCE_DATE
    from loopwright.samples.bank.install import install_sample
    from loopwright.workspace import init_workspace

    root = tmp_path_factory.mktemp("bank-template") / "ws"
    saved = os.environ.pop("LOOPWRIGHT_DATABASE_URL", None)
    try:
        ws = init_workspace(root, as_of=REFERENCE_DATE)
        install_sample(ws)
        ws.close()
    finally:
        if saved is not None:
            os.environ["LOOPWRIGHT_DATABASE_URL"] = saved
    return root / ".loopwright" / "embeddings"


@pytest.fixture
def bank(tmp_path: Path, database_url: str, monkeypatch, bank_embeddings):
    """A workspace with the Larkspur Bank sample loaded (corpus committed, config deployed), on each engine."""
    import shutil

    from loopwright.samples.bank import REFERENCE_DATE
    from loopwright.samples.bank.install import install_sample
    from loopwright.workspace import init_workspace

    monkeypatch.setenv("LOOPWRIGHT_DATABASE_URL", database_url)
    monkeypatch.setenv("LOOPWRIGHT_ACTOR", "tester")
    ws = init_workspace(tmp_path / "bank", sample="bank", as_of=REFERENCE_DATE)
    shutil.copytree(bank_embeddings, ws.state_dir / "embeddings")
    install_sample(ws)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def triage_fit(request, bank_embeddings, cache_dir, tmp_path_factory):
    """The triage model fitted once per session on the sample's utterances (cached under LOOPWRIGHT_CACHE_DIR).

    Fitted in the SQLite template workspace that `bank_embeddings` built; every
    `triaged_bank` then registers the same head from the cache, without embedding again.
    Under xdist the workers of one run share the fit: one fits (under a file lock), the
    others take its cached files.
    """
    import fcntl
    import shutil

    from loopwright.training.triage import fit_triage
    from loopwright.workspace import Workspace

    worker = hasattr(request.config, "workerinput")
    run_dir = tmp_path_factory.getbasetemp().parent if worker else tmp_path_factory.getbasetemp()
    shared = run_dir / "triage-fit-cache"
    saved = os.environ.pop("LOOPWRIGHT_DATABASE_URL", None)
    try:
        with open(run_dir / "triage-fit.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            os.environ["LOOPWRIGHT_CACHE_DIR"] = str(shared)
            ws = Workspace.open(bank_embeddings.parent.parent)
            result = fit_triage(ws)
            ws.close()
    finally:
        os.environ["LOOPWRIGHT_CACHE_DIR"] = str(cache_dir)
        if saved is not None:
            os.environ["LOOPWRIGHT_DATABASE_URL"] = saved
    shutil.copytree(shared, cache_dir, dirs_exist_ok=True)
    return result


@pytest.fixture
def triaged_bank(bank, triage_fit):
    """`bank` with the session's triage model registered and live on slot `model:triage`."""
    from loopwright.training.triage import fit_triage

    result = fit_triage(bank, deploy=True)
    assert result.artifact.digest == triage_fit.artifact.digest, "the triage fit should come from the session cache"
    return bank


# --- tiny real models for the hf backend --------------------------------------------------------
# Tiny real models for the Hugging Face backend's tests, trained once per test run.
#
# - `sample_lm`: the small sample LM (`SampleLMConfig.small()`: ~0.2M parameters, a
#   Llama with its own BPE tokenizer and chat template, trained ~10-40 s). A
#   `TrainedFolder`: `.folder` is the checkpoint folder, `.report()` its training.json.
# - `sample_adapter`: the chargeback-grace LoRA (rank 8 on q, k, v and o_proj) trained on
#   it in seconds; `.folder` is the PEFT folder.
# - `lite_workspace`: an empty workspace on SQLite only, for tests whose subject is
#   the model, not the database engine.
# - `register_sample`: `register_sample(ws) -> (model, adapter)` registers both as
#   `model/bank-lm` and `adapter/bank-grace` in a workspace (same digests every time).
#
# Under xdist the workers of one run share each training, as `triage_fit` does: one
# trains under a file lock into a run-wide cache, the others take its folder.


def _shared(request, tmp_path_factory, name: str, build):
    """`build()` run once per test run, with LOOPWRIGHT_CACHE_DIR pointing at a run-wide cache under a lock."""
    worker = hasattr(request.config, "workerinput")
    run_dir = tmp_path_factory.getbasetemp().parent if worker else tmp_path_factory.getbasetemp()
    saved = os.environ.get("LOOPWRIGHT_CACHE_DIR")
    try:
        with open(run_dir / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            os.environ["LOOPWRIGHT_CACHE_DIR"] = str(run_dir / "hf-cache")
            return build()
    finally:
        if saved is None:
            os.environ.pop("LOOPWRIGHT_CACHE_DIR", None)
        else:
            os.environ["LOOPWRIGHT_CACHE_DIR"] = saved


@pytest.fixture(scope="session")
def sample_lm(request, tmp_path_factory, cache_dir):
    """The small sample LM, trained once per run (see the module notes)."""
    from loopwright.samples.bank.lm import train_sample_lm
    from loopwright.training.lm import SampleLMConfig

    return _shared(request, tmp_path_factory, "sample-lm", lambda: train_sample_lm(SampleLMConfig.small()))


@pytest.fixture(scope="session")
def sample_adapter(request, tmp_path_factory, sample_lm):
    """The chargeback-grace LoRA adapter on `sample_lm`, trained once per run."""
    from loopwright.samples.bank.lm import train_sample_adapter

    return _shared(request, tmp_path_factory, "sample-adapter", lambda: train_sample_adapter(sample_lm.folder))


@pytest.fixture
def lite_workspace(tmp_path: Path, monkeypatch, cache_dir):
    """An empty workspace on SQLite."""
    from loopwright.workspace import init_workspace

    monkeypatch.setenv("LOOPWRIGHT_DATABASE_URL", f"sqlite:///{tmp_path / 'test.db'}")
    monkeypatch.setenv("LOOPWRIGHT_ACTOR", "tester")
    ws = init_workspace(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def register_sample(sample_lm, sample_adapter):
    """`register_sample(ws) -> (model artifact, adapter artifact)`: the session's LM and adapter, registered."""
    from loopwright.hf.adapters import register_adapter
    from loopwright.hf.checkpoint import register_checkpoint
    from loopwright.samples.bank.lm import ADAPTER_NAME, NAME

    def register(ws):
        model = register_checkpoint(ws, sample_lm.folder, NAME, task="causal-lm")
        adapter = register_adapter(ws, sample_adapter.folder, ADAPTER_NAME, base_ref=model)
        return model, adapter

    return register


# --- the reader ----------------------------------------------------------------------------------
# `sample_reader`: a reader (`ReaderConfig.tiny()`: two frozen MiniLM layers, a 32-wide span head) trained
# once per run on the bank's reading examples of a few document families, so it trains in seconds to a
# minute and reads those documents' passages well. A `TrainedFolder`. Tests check the backend's
# behaviour on those passages; the held-out figures are the full reader's (bench and metrics.json).

from tiny_reader import READER_GROUPS  # noqa: E402  trained: the first four; validation: flexpay-1-0; held out: lost-stolen-cards


@pytest.fixture(scope="session")
def sample_reader(request, tmp_path_factory, cache_dir):
    """The tiny sample reader, trained once per run (see above)."""
    from loopwright.samples.bank.reading import bank_examples
    from loopwright.training.reader import ReaderConfig, train_reader

    examples = [e for e in bank_examples(rewordings=0) if e.group in READER_GROUPS]
    return _shared(request, tmp_path_factory, "sample-reader", lambda: train_reader(examples, ReaderConfig.tiny()))


@pytest.fixture
def reader_bank(triaged_bank, sample_reader):
    """`triaged_bank` with the session's reader live on `model:reader`: the economics router's small tier."""
    from loopwright.training.reader import register_reader

    register_reader(triaged_bank, sample_reader, "reader", provenance={"source": "test"}, deploy=True)
    return triaged_bank
