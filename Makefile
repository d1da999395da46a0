# Everything installs what it needs: Python tools into the project-local .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run demo test lint fmt venv clean

## The README's first command: the product running locally, with a walkthrough.
run: venv
	cargo run -p signout --example demo

demo: run

## The README's second command: every test (unit, emulator, functions).
test: venv
	cargo test --workspace --all-targets

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

venv: $(VENV)/.installed

$(VENV)/.installed: tools/requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

clean:
	rm -rf $(VENV) target
