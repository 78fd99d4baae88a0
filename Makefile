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
	$(BIN)/pip install --quiet -e ".[dev,faces]"
	touch $@

demo: $(VENV)/.installed
	@# real CC-BY Blender films (data/README.md); one part of Big Buck Bunny is kept out of training
	$(BIN)/whodirected extract data/demo-training.csv $(DEMO)/frames
	$(BIN)/whodirected train $(DEMO)/frames -o $(DEMO)/model --plot $(DEMO)/training.png
	$(BIN)/whodirected evaluate $(DEMO)/frames -o $(DEMO)/evaluation
	$(BIN)/whodirected explore $(DEMO)/frames -o $(DEMO)/report.html
	@# a frame of the scene the model never saw
	$(BIN)/whodirected extract data/demo-held-out.csv $(DEMO)/held-out-frames --per-film 3 --skip-edges 0.25
	$(BIN)/whodirected predict "$$(ls $(DEMO)/held-out-frames/*/*/*.jpg | head -n 1)" --model $(DEMO)/model

test: $(VENV)/.installed
	@# the browser test drives Debian's Chromium (root installs it; otherwise that test says it skipped)
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "could not install chromium: the browser test will be skipped"
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/real.py
	$(BIN)/python benchmarks/extract.py
	$(BIN)/python benchmarks/embed.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/predict.py
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/explain.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache
