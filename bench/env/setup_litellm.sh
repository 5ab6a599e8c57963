#!/usr/bin/env bash
# Install LiteLLM's proxy into a virtualenv of its own (bench/env/litellm/.venv), never the project's.
# bench_gateway.py runs `litellm --config ...` from here as the comparison proxy.
#
#   bash bench/env/setup_litellm.sh            # idempotent: does nothing when already installed
#   LITELLM_SPEC='litellm[proxy]==1.x' bash bench/env/setup_litellm.sh
set -euo pipefail
# LiteLLM fetches a model price map from the internet on import unless told not to; this machine has no route out.
export LITELLM_LOCAL_MODEL_COST_MAP=True
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/litellm/.venv"
spec="${LITELLM_SPEC:-litellm[proxy]}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3

if [ -x "$venv/bin/litellm" ] && "$venv/bin/python" -c "import litellm.proxy.proxy_server" 2>/dev/null; then
    echo "litellm already installed in $venv ($("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))'))"
    exit 0
fi
"$python" -m venv "$venv"
# pip warns once a line about index locations this machine lacks; keep real errors, drop that noise.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/python" -c "import litellm.proxy.proxy_server, importlib.metadata as m; print('litellm', m.version('litellm'), 'installed in $venv')"
