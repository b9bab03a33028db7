# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint unit bench bench-scale clean browser redis replicas

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The package's bytecode is compiled once here: installed editable, it is never cached by
# an interpreter that runs with PYTHONDONTWRITEBYTECODE set (a quarter of a second more at
# every command's start). A module edited since is compiled again in memory, as usual.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q crawler
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q crawler
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/crawler demo

test: lint unit

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check crawler tests bench replicas
	$(BIN)/mypy

# Two processes (pytest-xdist), a test file each: a module's fixtures (its mirror server, its
# archive) are made once, in one process. A plain `pytest` still runs the suite in one process.
unit: $(VENV)/.installed-dev browser redis
	$(BIN)/pytest -n 2 --dist loadfile

# The report test drives a real headless browser: Debian's chromium, installed once (as root),
# with a CJK font (fonts-noto-cjk) so that Chinese names show as text, not boxes.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ -z "$$(fc-list :lang=zh-cn family 2>/dev/null)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-noto-cjk; \
	  else \
	    echo "make: chromium or a CJK font is missing (apt-get install chromium fonts-noto-cjk as root); the browser tests that need them will be skipped"; \
	  fi; \
	fi

# The distributed-crawl tests and benchmark start their own redis-server (Debian's), installed once.
redis:
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; \
	  else \
	    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; \
	  fi; \
	fi

# Rebuild every replica in crawler/mirror/sites/ from replicas/sources/; fails, naming the
# files, if that changed what is committed (`python -m replicas --check` compares, writes nothing).
replicas: $(VENV)/.installed
	$(BIN)/python -m replicas
	git diff --exit-code --stat -- crawler/mirror/sites
	@new="$$(git ls-files --others --exclude-standard -- crawler/mirror/sites)"; \
	if [ -n "$$new" ]; then echo "make: new files in the replicas:"; echo "$$new"; exit 1; fi

# Every benchmark side by side (about 15 minutes): bench/results.json and bench/RESULTS.md.
# A quick check: .venv/bin/python -m bench --articles 1000 --memory-sizes 500,2000 --rounds 1
bench: $(VENV)/.installed-dev redis
	$(BIN)/python -m bench
	$(BIN)/python -m bench.scale --rows 1000000

# Every archive command at 1M and 10M rows (archives built once under /tmp/crawler-scale, reused).
bench-scale: $(VENV)/.installed-dev
	$(BIN)/python -m bench.scale --rows 1000000 --rows 10000000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
