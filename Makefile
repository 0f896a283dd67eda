# `make demo` and `make test` each set up .venv (idempotently) and the offline data, then run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
WEB := export/web
WEB_STAMP := $(WEB)/node_modules/.installed
DATA_NPM := data
EMOJI_STAMP := $(DATA_NPM)/node_modules/.installed
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_DIR ?= runs/demo
DEMO_BUDGET ?= 300
# The presets: every tuned Fashion-MNIST recipe, trained for PRESET_BUDGET seconds each, in the
# recipe's precision (by default bfloat16 where the CPU has it; gan-mlp float32, as measured).
PRESET_RECIPES := gan-mlp-fashion-mnist dcgan-fashion-mnist cgan-fashion-mnist acgan-fashion-mnist \
	infogan-fashion-mnist lsgan-fashion-mnist wgan-fashion-mnist wgan-gp-fashion-mnist sngan-fashion-mnist
PRESET_BUDGET ?= 1800
# These make the fewest images a second (AC-GAN's full-width networks; WGAN-GP's five critic
# steps with the penalty's second backward pass): an hour each, and epochs enough for it.
LONG_PRESETS := acgan-fashion-mnist wgan-gp-fashion-mnist
LONG_PRESET_BUDGET ?= 3600
PRESET_RUNS ?= runs/presets
PIN ?=  # e.g. PIN="taskset -c 1": the shipped presets were trained on one core each
# The Noto emoji presets (64x64 colour): EMOJI_BUDGET seconds each, in the default precision.
EMOJI_RECIPES := dcgan-noto-emoji cgan-noto-emoji
EMOJI_BUDGET ?= 1800

.PHONY: setup data web demo test lint clean presets emoji-presets zoo-table web-screenshot gallery \
	gallery-screenshot

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Debian ships the original Fashion-MNIST files; tfds prepares them offline (zoo/data/tfds_source.py).
# Noto emoji at 64x64 come from npm, pinned by data/package-lock.json (zoo/data/noto_emoji.py).
data: $(EMOJI_STAMP)
	@if [ ! -f $(FASHION_MNIST) ] && command -v apt-get >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist; \
	fi

$(EMOJI_STAMP): $(DATA_NPM)/package.json $(DATA_NPM)/package-lock.json
	@if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; \
	fi
	npm ci --prefix $(DATA_NPM) --no-audit --no-fund
	touch $@

# onnxruntime-web for `ganzoo export --web` and playwright-core for the page's test (npm, pinned
# by package-lock.json); Debian's chromium runs that test headless.
web: $(WEB_STAMP)
	@if [ ! -x $(CHROMIUM) ] && command -v apt-get >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; \
	fi

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; \
	fi
	npm ci --prefix $(WEB) --no-audit --no-fund
	touch $@

# A fresh run each time (reusing the directory would resume the previous demo).
demo: setup data
	rm -rf $(DEMO_DIR)
	$(BIN)/ganzoo train dcgan-fashion-mnist --time-budget $(DEMO_BUDGET) --run-dir $(DEMO_DIR)
	$(BIN)/ganzoo sample $(DEMO_DIR) --n 64 --out $(DEMO_DIR)/demo-grid.png

# Trains every preset again (about 33 minutes each, an hour for LONG_PRESETS), saves it with
# its measured card, fits its judge again (a critic, docs/judge.md; the MLP GAN's own D with
# DRS), then redraws the README's zoo table and docs/zoo/.
presets: setup data
	@for r in $(PRESET_RECIPES); do \
		case " $(LONG_PRESETS) " in *" $$r "*) length="--time-budget $(LONG_PRESET_BUDGET) --epochs 400";; \
			*) length="--time-budget $(PRESET_BUDGET) --epochs 200";; esac; \
		case $$r in gan-mlp-*) judge="--source discriminator --rule drs";; *) judge="--source critic";; esac; \
		command="ganzoo train $$r $$length --run-dir RUN"; \
		rm -rf $(PRESET_RUNS)/$$r && \
		$(PIN) $(BIN)/ganzoo train $$r $$length --run-dir $(PRESET_RUNS)/$$r && \
		$(PIN) $(BIN)/ganzoo preset $(PRESET_RUNS)/$$r --out presets/$$r --force --command "$(PIN) $$command" && \
		$(PIN) $(BIN)/ganzoo judge presets/$$r --fit $$judge \
		|| exit 1; \
	done
	$(MAKE) zoo-table

# Trains the emoji presets again (30 minutes each; PIN as above), then redraws the tables.
emoji-presets: setup data
	@for r in $(EMOJI_RECIPES); do \
		command="ganzoo train $$r --time-budget $(EMOJI_BUDGET) --run-dir RUN"; \
		rm -rf $(PRESET_RUNS)/$$r && \
		$(PIN) $(BIN)/ganzoo train $$r --time-budget $(EMOJI_BUDGET) --run-dir $(PRESET_RUNS)/$$r && \
		$(PIN) $(BIN)/ganzoo preset $(PRESET_RUNS)/$$r --out presets/$$r --force --command "$(PIN) $$command" \
		|| exit 1; \
	done
	$(MAKE) zoo-table

zoo-table: setup data
	$(BIN)/python benchmarks/zoo_table.py --readme README.md

lint: setup
	$(BIN)/ruff check .

# Two test processes (a test file stays in one): much of a test is Python, tracing and
# building graphs, which one core does while the other computes. The slowest files go out
# first (tests/conftest.py, SLOWEST_FIRST). The slowest tests are listed at the end: what
# to look at when the suite nears its 15-minute budget.
TEST_WORKERS ?= 2
test: setup data web lint
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache $(WEB)/node_modules $(DATA_NPM)/node_modules

# Redraws docs/web-page.png: the sampling page, with its judge, on the DCGAN preset's export.
web-screenshot: setup web
	$(BIN)/python docs/web_page_screenshot.py web-page

# The gallery of every shipped preset, in runs/gallery/ (open index.html, or serve the folder).
GALLERY ?= runs/gallery
gallery: setup web
	$(BIN)/ganzoo gallery --out $(GALLERY) --force

# Redraws docs/gallery.png: a gallery card sampling live, for the README.
gallery-screenshot: setup web
	$(BIN)/python docs/web_page_screenshot.py gallery
