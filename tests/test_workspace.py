"""Workspaces are made with a private key, found from flag, env or cwd upwards, and refuse clearly."""

import stat

import pytest

from loopwright.errors import ConfigError, WorkspaceError
from loopwright.workspace import Workspace, find_workspace, init_workspace


def test_init_makes_config_state_and_private_key(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    assert (ws.root / "loopwright.toml").is_file()
    key = ws.state_dir / "signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (ws.state_dir / "loopwright.db").is_file()
    assert len(ws.signer.key_id) == 16
    with pytest.raises(WorkspaceError, match="already holds a workspace"):
        init_workspace(tmp_path / "ws")


def test_find_from_flag_env_and_parents(tmp_path, monkeypatch):
    ws = init_workspace(tmp_path / "ws")
    deep = ws.root / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    monkeypatch.delenv("LOOPWRIGHT_WORKSPACE", raising=False)
    assert find_workspace().root == ws.root
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceError, match="no loopwright workspace"):
        find_workspace()
    monkeypatch.setenv("LOOPWRIGHT_WORKSPACE", str(ws.root))
    assert find_workspace().root == ws.root
    assert find_workspace(ws.root).root == ws.root
    with pytest.raises(WorkspaceError, match="not a loopwright workspace"):
        find_workspace(tmp_path)


@pytest.mark.parametrize(
    ("text", "match"),
    [("[store\n", "not valid TOML"), ("[serve]\nport = 'x'\n", "serve.port"), ("[bogus]\na = 1\n", "bogus")],
)
def test_bad_config_is_one_clear_error(tmp_path, text, match):
    ws = init_workspace(tmp_path / "ws")
    (ws.root / "loopwright.toml").write_text(text)
    with pytest.raises(ConfigError, match=match):
        Workspace.open(ws.root)


def test_env_overrides_database_url(tmp_path, monkeypatch):
    ws = init_workspace(tmp_path / "ws")
    monkeypatch.setenv("LOOPWRIGHT_DATABASE_URL", "sqlite:///elsewhere.db")
    assert Workspace.open(ws.root).database_url == "sqlite:///elsewhere.db"


def test_init_with_unreachable_database_leaves_nothing_behind(tmp_path, monkeypatch):
    from loopwright.errors import StoreUnavailable

    monkeypatch.setenv("LOOPWRIGHT_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/test")
    with pytest.raises(StoreUnavailable):
        init_workspace(tmp_path / "ws")
    assert not (tmp_path / "ws" / ".loopwright").exists()
    assert not (tmp_path / "ws" / "loopwright.toml").exists()
