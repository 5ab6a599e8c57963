"""Atomic writes: the target holds the old content or the whole new one, and no temporary is left behind."""

import pytest

from loopwright.files import atomic_file, atomic_folder, write_atomic


def test_a_file_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "state.json"
    write_atomic(target, "old")
    with pytest.raises(RuntimeError), atomic_file(target) as f:
        f.write(b"half of the ne")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["state.json"]
    with atomic_file(target, "w") as f:
        f.write("new, café")
    assert target.read_text(encoding="utf-8") == "new, café" and [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_folder_appears_only_once_complete(tmp_path):
    target = tmp_path / "cache" / "key"
    with pytest.raises(RuntimeError), atomic_folder(target) as staging:
        (staging / "a.bin").write_bytes(b"a")
        raise RuntimeError("build failed")
    assert not target.exists() and list(target.parent.iterdir()) == []
    with atomic_folder(target) as staging:
        (staging / "a.bin").write_bytes(b"a")
        assert not target.exists()
    assert (target / "a.bin").read_bytes() == b"a"


def test_a_folder_built_meanwhile_by_another_process_is_kept(tmp_path):
    target = tmp_path / "index"
    with atomic_folder(target) as staging:
        (staging / "mine").write_text("mine")
        target.mkdir()
        (target / "theirs").write_text("theirs")
    assert [p.name for p in target.iterdir()] == ["theirs"] and [p.name for p in tmp_path.iterdir()] == ["index"]
