# One entry point for humans, CI and workflows. `make help` lists every target with its description.
# Area-specific targets live in mk/*.mk, one file per area, each target documented with `## text`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8

include $(sort $(wildcard mk/*.mk))

.PHONY: help
help: ## Show this help: every target and what it does
	@awk 'BEGIN {FS = ":.*?## "} /^[a-zA-Z0-9_.-]+:.*?## / {printf "  \033[36m%-22s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST) | sort
