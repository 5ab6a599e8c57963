# loopwright: `make demo` and `make test` do all the set-up on a fresh machine.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# torch first, pinned to the CPU build on this machine's disk; the project's own range keeps it.
TORCH  ?= torch==2.13.0
WORKERS ?= 2

export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install services demo test test-slow bench sample clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "$(TORCH)" 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import torch, loopwright; assert torch.__version__.startswith('2.'), torch.__version__"
	@touch $(STAMP)

# PostgreSQL and Redis started, Chromium installed, when missing (the tests need all three).
services:
	@bash scripts/services.sh

demo: install
	$(VENV)/bin/loopwright demo --workspace loopwright-demo

test: install services
	$(PY) -m pytest -q -n $(WORKERS) --dist loadfile

test-slow: install services
	$(PY) -m pytest -q -m slow

# Every benchmark, then bench/results/README.md from their results (see bench/README.md).
bench: install
	bash bench/env/setup_litellm.sh
	$(PY) bench/bench_retrieval.py
	$(PY) bench/bench_triage.py
	$(PY) bench/bench_policy.py
	$(PY) bench/bench_canary.py
	$(PY) bench/bench_router.py
	$(PY) bench/bench_gateway.py
	$(PY) bench/bench_hf_batching.py
	$(PY) bench/bench_hf_quant.py
	$(PY) bench/report.py

sample: install
	$(PY) -m loopwright.samples.bank.generate

clean:
	rm -rf $(VENV) loopwright-demo .pytest_cache
