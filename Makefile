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

bench: $(STAMP)
	$(BIN)/python bench/store.py

clean:
	rm -rf $(VENV) .recon build *.egg-info
