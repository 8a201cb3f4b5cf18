# The two commands of the README:
#   make demo   set everything up and run MovieLens 100K through the whole pipeline
#   make test   set everything up and run the test suite (it starts its own Neo4j)
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
MLLMREC := $(VENV)/bin/mllmrec
DATA   ?= ../shared/data

.PHONY: setup test lint demo bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(MLLMREC) neo4j install
	touch $@

# Static checks first (ruff lint on the whole tree, mypy on mllmrec/, loaders/ and bench/; configured
# in pyproject.toml), then the suite.
test: setup lint
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# --no-llm: this CPU-only machine has no real vision-language model; the pipeline prints the
# enrichment mode it used. Drop the flag (and configure enrich.*) to describe posters with a VLM.
demo: setup
	$(MLLMREC) neo4j start
	$(MLLMREC) pipeline run --source movielens $(DATA)/ml-100k --posters $(DATA)/movielens-posters --no-llm

bench: setup
	$(PY) -m bench all

clean:
	-$(MLLMREC) neo4j stop
	rm -rf $(VENV) .mllmrec
