# Two commands: `make test` and `make demo`. Both create .venv when it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: test demo lint format install constraints bench-scripts clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[models,ray,dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(VENV)/bin/pytest

demo: $(STAMP)
	$(PY) -m benchmark.demo --out demo_out

# Speed/memory targets: each prints ratios against a reference run in the same process.
bench-scripts: $(STAMP)
	for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# Re-pin after changing dependencies: writes the versions the tests ran with (--all keeps
# setuptools, which the wheel test builds with; pip itself is left to the upgrade above).
constraints: $(STAMP)
	$(PY) -m pip freeze --all --exclude-editable | grep -v -e '^-e ' -e '^pip==' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis demo_out build dist
