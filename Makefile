PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test bench clean deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/recon up manifests

# the proxy tests check generated rules with a real `iptables-restore --test`
deps:
	command -v iptables-restore >/dev/null || (apt-get update -qq && apt-get install -y -qq iptables)

test: $(STAMP) deps
	$(BIN)/python -m pytest -m "not soak" -n 2 -p no:cacheprovider

# the scale suite (bench/README.md) at a size this machine finishes in minutes;
# issue 10's scenario: make bench BENCH_SIZE="--nodes 1000 --deployments 1000 --replicas 10"
BENCH_SIZE ?= --nodes 100 --deployments 100 --replicas 5
IDLE_SECONDS ?= 60

bench: $(STAMP)
	$(BIN)/python bench/converge.py $(BENCH_SIZE)
	$(BIN)/python bench/edit.py $(BENCH_SIZE)
	$(BIN)/python bench/baseline.py
	$(BIN)/python bench/store_vs_etcd.py
	$(BIN)/python bench/idle.py $(BENCH_SIZE) --seconds $(IDLE_SECONDS)

clean:
	rm -rf $(VENV) .recon build *.egg-info
