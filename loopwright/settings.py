"""Workspace configuration: typed and layered (defaults < loopwright.toml < environment).

Flags are applied by the CLI on top, by passing overrides to `load_settings`.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loopwright.errors import ConfigError

CONFIG_FILE = "loopwright.toml"
STATE_DIR = ".loopwright"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceSection(_Section):
    name: str = Field("loopwright", description="A name for this workspace, shown in reports.")
    sample: str | None = Field(None, description="The sample this workspace was made from, if any.")


class StoreSection(_Section):
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the database; empty means SQLite in .loopwright/. "
        "LOOPWRIGHT_DATABASE_URL overrides it.",
    )


class ServeSection(_Section):
    host: str = Field("127.0.0.1", description="Interface the gateway listens on.")
    port: int = Field(8700, ge=1, le=65535, description="Port the gateway listens on.")
    as_of: date | None = Field(
        None,
        description="The date freshness is judged against; empty means today. A sample pins its own "
        "'today' so its results do not drift with the calendar.",
    )
    release_interval_s: float = Field(
        30.0, ge=0, description="Seconds between canary analyses by the replica holding the release-controller "
        "lease (automatic promotion and rollback); 0 turns the controller off in this process.",
    )


class CacheSection(_Section):
    redis_url: str = Field(
        "", description="Redis URL for the shared cache; empty means in-process. LOOPWRIGHT_REDIS_URL overrides it."
    )


class ObserveSection(_Section):
    otlp_endpoint: str = Field(
        "", description="OTLP/HTTP receiver for every call's span tree (Arize Phoenix, an OpenTelemetry collector), "
        "as a base URL (http://host:4318) or the traces URL; empty turns export off. LOOPWRIGHT_OTLP_ENDPOINT overrides it.",
    )
    otlp_queue: int = Field(
        2048, ge=1, description="Traces waiting for export at most; beyond it a trace's spans are dropped and counted "
        "(loopwright_otel_dropped_spans in /metrics), so a slow receiver never slows a request.",
    )
    service_name: str = Field("loopwright", description="The exported spans' service.name (and Phoenix project).")


class EmbeddingSection(_Section):
    query_encoder: Literal["exact", "onnx-int8"] = Field(
        "exact",
        description="How retrieval embeds a query: 'exact' (the embedder the chunks were embedded with) or "
        "'onnx-int8' (the same model in ONNX Runtime with int8 weights: ~4x faster per query, cosine >= 0.98 "
        "to the exact vector; see loopwright.query_encoder). LOOPWRIGHT_QUERY_ENCODER overrides it.",
    )


class IndexSection(_Section):
    ann_min_chunks: int = Field(
        50_000, ge=0,
        description="From this many chunks up, a corpus index serves its dense list from an HNSW graph (faiss; "
        "built beside the index when it is committed, reranked exactly) instead of the exact product over every "
        "chunk; 0: always exact. 50,000 is where the graph measured clearly cheaper: dense ranking 2.2 -> 1.2 ms of "
        "CPU a query at 50k chunks and 5.1 -> 1.8 ms at 100k, with 97.9% and 96% of the exact dense top 50 found "
        "and recall@5 unchanged (loopwright.corpus.ann, bench/README.md). LOOPWRIGHT_ANN_MIN_CHUNKS overrides it.",
    )


class Settings(_Section):
    """Everything `loopwright.toml` may hold."""

    workspace: WorkspaceSection = WorkspaceSection()
    store: StoreSection = StoreSection()
    serve: ServeSection = ServeSection()
    cache: CacheSection = CacheSection()
    observe: ObserveSection = ObserveSection()
    embedding: EmbeddingSection = EmbeddingSection()
    index: IndexSection = IndexSection()


_ENV_OVERRIDES = {
    "LOOPWRIGHT_DATABASE_URL": ("store", "database_url"),
    "LOOPWRIGHT_REDIS_URL": ("cache", "redis_url"),
    "LOOPWRIGHT_OTLP_ENDPOINT": ("observe", "otlp_endpoint"),
    "LOOPWRIGHT_QUERY_ENCODER": ("embedding", "query_encoder"),
    "LOOPWRIGHT_ANN_MIN_CHUNKS": ("index", "ann_min_chunks"),
}


def load_settings(root: Path, overrides: dict[str, dict] | None = None) -> Settings:
    """Read `root/loopwright.toml`, then apply environment and explicit overrides."""
    path = root / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing", hint="run `loopwright init DIR` to make a workspace") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    for var, (section, key) in _ENV_OVERRIDES.items():
        if os.environ.get(var):
            data.setdefault(section, {})[key] = os.environ[var]
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None


def render_default_config(name: str, sample: str | None, as_of: date | None = None) -> str:
    """The commented `loopwright.toml` that `loopwright init` writes."""
    sample_line = f'sample = "{sample}"\n' if sample else ""
    as_of_line = (
        f"# Freshness is judged as of this date (the sample's 'today'); remove it to use the real date.\nas_of = {as_of.isoformat()}\n"
        if as_of
        else ""
    )
    return (
        "# loopwright workspace configuration.\n"
        "[workspace]\n"
        f'name = "{name}"\n'
        f"{sample_line}"
        "\n[store]\n"
        "# Empty: SQLite (WAL) in .loopwright/loopwright.db. LOOPWRIGHT_DATABASE_URL overrides.\n"
        'database_url = ""\n'
        "\n[serve]\n"
        'host = "127.0.0.1"\n'
        "port = 8700\n"
        f"{as_of_line}"
        "# One replica at a time runs canary analysis and automatic rollback this often (seconds; 0: off).\n"
        "release_interval_s = 30\n"
        "\n[cache]\n"
        "# Empty: in-process LRU. LOOPWRIGHT_REDIS_URL overrides.\n"
        'redis_url = ""\n'
        "\n[observe]\n"
        "# OTLP/HTTP receiver for every call's spans (e.g. Phoenix at http://127.0.0.1:6006); empty: off.\n"
        'otlp_endpoint = ""\n'
    )
