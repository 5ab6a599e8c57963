"""The committed sample data is exactly what the generator writes."""

from pathlib import Path

import pytest

from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.generate import generate, main


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("bank")
    generate(out)
    return _tree(out)


def test_regeneration_is_byte_identical_to_committed_data(regenerated: dict[str, bytes]) -> None:
    committed = _tree(DATA_DIR)
    assert sorted(set(regenerated) - set(committed)) == [], "files the committed data lacks"
    assert sorted(set(committed) - set(regenerated)) == [], "committed files the generator no longer writes"
    changed = [name for name in committed if committed[name] != regenerated[name]]
    assert changed == [], "regenerate with: python -m loopwright.samples.bank.generate"


def test_output_is_utf8_with_unix_line_endings(regenerated: dict[str, bytes]) -> None:
    for name, data in regenerated.items():
        assert b"\r" not in data, name
        assert data.endswith(b"\n"), name
        data.decode("utf-8")


def test_generation_removes_stale_files_and_depends_on_seed(tmp_path: Path, regenerated: dict[str, bytes]) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "renamed-long-ago.md").write_text("old\n", encoding="utf-8")
    main(["--out", str(tmp_path), "--seed", "8"])
    other = _tree(tmp_path)
    assert set(other) == set(regenerated)
    assert other["utterances.jsonl"] != regenerated["utterances.jsonl"]
    assert other["docs/flexpay-2-0.md"] == regenerated["docs/flexpay-2-0.md"]  # hand-written text is seed-free
