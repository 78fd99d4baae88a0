# Two commands on a fresh machine: `make demo` and `make test`.
# Only python3 is needed; everything else is installed into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo
# The CPU build of PyTorch; a bare `torch` requirement would pull a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH_PIN)"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/whodirected demo-library $(DEMO)/library --directors 3 --films 3 --seconds 12 --seed 0
	$(BIN)/whodirected extract $(DEMO)/library $(DEMO)/frames --every 1.0
	$(BIN)/whodirected train $(DEMO)/frames -o $(DEMO)/model --plot $(DEMO)/training.png
	$(BIN)/whodirected evaluate $(DEMO)/frames -o $(DEMO)/evaluation
	$(BIN)/whodirected explore $(DEMO)/frames -o $(DEMO)/report.html
	@# a frame of a film the model never saw, by each of the same directors (another seed)
	$(BIN)/whodirected demo-library $(DEMO)/new-films --directors 3 --films 1 --seconds 8 --seed 7
	$(BIN)/whodirected extract $(DEMO)/new-films $(DEMO)/new-frames --per-film 4 --skip-edges 0.25
	$(BIN)/whodirected predict "$$(ls $(DEMO)/new-frames/*/*/*.jpg | head -n 1)" --model $(DEMO)/model

test: $(VENV)/.installed
	@# the browser test drives Debian's Chromium (root installs it; otherwise that test says it skipped)
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "could not install chromium: the browser test will be skipped"
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/extract.py
	$(BIN)/python benchmarks/embed.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/predict.py
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache
