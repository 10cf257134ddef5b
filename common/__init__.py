"""Shared helpers at the bottom of the app layers: every app may import common, common
imports no app (pyproject.toml's import-linter layers contract)."""
