# The course's commands. `make book` and `make test` each do the whole set-up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA_DIR := /usr/share/datasets/fashion-mnist
CHP_VERSION := 5.3.0
# pip's noise about this machine's local mirrors is filtered; its errors are not.
PIP_QUIET := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; test $${PIPESTATUS[0]} -eq 0

.PHONY: help setup data lab-settings browser sandbox proxy book book-student test bench bench-chapters bench-grading student course grade lab clean

help:
	@echo "make book          build the HTML book at the full size into _build/html"
	@echo "make test          run the companion's tests, every chapter and the built book at the quick size"
	@echo "make book-student  build the book without solutions into _build/html-student"
	@echo "make student       write the student notebooks into _build/student"
	@echo "make course COURSE_DIR=dir [EXCHANGE=dir]   write an nbgrader course folder of the chapters"
	@echo "make grade SUBMISSIONS=dir [WORKERS=n TIMEOUT=s]   autograde submitted notebooks into _build/grades"
	@echo "make bench         time each trainer against a bare loop in its framework"
	@echo "make bench-chapters [SIZE=full]   time each chapter against its budget"
	@echo "make bench-grading [STUDENTS=n WORKERS=n]   grade a synthetic class, project 200 students"
	@echo "make lab           open the course in JupyterLab"

setup: $(STAMP) data lab-settings

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip $(PIP_QUIET)
	$(PY) -m pip install --quiet -r requirements.txt $(PIP_QUIET)
	$(PY) -m jupytext --version >/dev/null
	@touch $(STAMP)

# The JupyterLab setting that opens the .md chapters as notebooks (jupytext), copied at every set-up and
# every `make lab`: a .venv made before the setting existed gets it too.
lab-settings:
	@mkdir -p $(VENV)/share/jupyter/lab/settings && cp etc/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json

# Fashion-MNIST from Debian's package when we are root on Debian; otherwise companion.data says what to do.
data:
	@if [ -f $(DATA_DIR)/train-images-idx3-ubyte.gz ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Fashion-MNIST (Debian package dataset-fashion-mnist)"; \
	  (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null && apt-get install -y -qq dataset-fashion-mnist >/dev/null)) ; \
	else echo "note: Fashion-MNIST not found in $(DATA_DIR); see README (Data)"; fi

# JupyterHub's proxy (configurable-http-proxy, from npm) under .venv/node, for the hub test of
# tests/test_exchange.py; Node.js from Debian when we are root and it is missing; otherwise that test skips.
CHP := $(VENV)/node/node_modules/.bin/configurable-http-proxy
proxy: setup
	@if [ -x $(CHP) ]; then :; \
	elif command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	     echo "installing Node.js (Debian packages nodejs npm)" && \
	     (apt-get install -y -qq nodejs npm >/dev/null 2>&1 || \
	      (apt-get update -qq >/dev/null && apt-get install -y -qq nodejs npm >/dev/null)); }; then \
	  echo "installing configurable-http-proxy into $(VENV)/node (npm)"; \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/node configurable-http-proxy@$(CHP_VERSION); \
	else echo "note: no npm; the JupyterHub test will skip (apt-get install nodejs npm)"; fi

# Headless Chromium for the reader-book tests (tests/test_reader_book.py), from Debian when we are root;
# otherwise those tests skip and say what to install.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Chromium and its driver (Debian packages chromium chromium-driver)"; \
	  (apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null)) ; \
	else echo "note: no Chromium; the browser tests will skip (apt-get install chromium chromium-driver)"; fi

# bubblewrap, the sandbox of the autograder (companion/instructors/sandbox.py), from Debian when we are root;
# otherwise `make grade` says what to install.
sandbox:
	@if command -v bwrap >/dev/null && command -v setpriv >/dev/null && command -v prlimit >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing bubblewrap (Debian package bubblewrap), the autograder's sandbox"; \
	  (apt-get install -y -qq bubblewrap util-linux >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap util-linux >/dev/null)) ; \
	else echo "note: no bubblewrap; make grade needs it (apt-get install bubblewrap) or TRUSTED=1"; fi

book: setup
	COURSE_SIZE=full COURSE_PROGRESS=0 $(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "The book is in _build/html/index.html"

book-student: setup
	COURSE_EDITION=student COURSE_SIZE=full COURSE_PROGRESS=0 $(VENV)/bin/jupyter-book build . --all -W -n --keep-going --path-output _build/student-book
	@rm -rf _build/html-student && cp -r _build/student-book/_build/html _build/html-student
	@echo "The book without solutions is in _build/html-student/index.html"

student: setup
	COURSE_PROGRESS=0 $(PY) -m companion.instructors student --output _build/student

course: setup
	@test -n "$(COURSE_DIR)" || { echo "usage: make course COURSE_DIR=dir [EXCHANGE=dir] (an nbgrader course folder; created if missing)"; exit 2; }
	COURSE_PROGRESS=0 $(PY) -m companion.instructors course --output "$(COURSE_DIR)" $(if $(EXCHANGE),--exchange "$(EXCHANGE)")

grade: setup sandbox
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=dir (one folder per student, each with the chapter notebooks)"; exit 2; }
	COURSE_SIZE=quick COURSE_PROGRESS=0 $(PY) -m companion.instructors grade "$(SUBMISSIONS)" --output _build/grades $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(WORKERS),--workers $(WORKERS)) $(if $(TRUSTED),--trusted) $(if $(MEMORY),--memory-gib $(MEMORY))

test: setup browser sandbox proxy
	COURSE_SIZE=quick COURSE_PROGRESS=0 $(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	COURSE_PROGRESS=0 $(PY) benchmarks/trainers.py
	COURSE_PROGRESS=0 $(PY) benchmarks/batchnorm.py

bench-chapters: setup
	$(PY) benchmarks/chapters.py --size $(or $(SIZE),quick)

bench-grading: setup sandbox
	COURSE_PROGRESS=0 $(PY) benchmarks/grading.py $(if $(STUDENTS),--students $(STUDENTS)) $(if $(WORKERS),--workers $(WORKERS))

# JupyterLab on the chapters. As root (a container, many hub images) JupyterLab refuses to start
# without --allow-root: it is added then, and said. LAB_ARGS adds options (e.g. --no-browser --port=8899),
# LAB_DIR opens another folder (tests/test_lab.py opens a copy of book/).
LAB_DIR ?= book/
lab: setup lab-settings
	@if [ "$$(id -u)" = 0 ]; then echo "make lab: running as root, so JupyterLab starts with --allow-root"; fi
	$(VENV)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS) "$(LAB_DIR)"

clean:
	rm -rf _build
