"""Helpers of the browser tests (tests/web): Playwright's ``expect`` (without Playwright a machine skips
those tests, CI never: there the import fails), the time a page may take, and the check that the browser's
console showed no error but the failed requests a test expects."""

from __future__ import annotations

import os

import pytest

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    from playwright.sync_api import expect  # on CI the browser tests run, never skip
else:
    expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright pytest-playwright").expect

TIMEOUT = 60_000  # ms


def no_errors(errors: list[str], *expected_status: int) -> None:
    """No console error but the failed requests a test expects (a 422 of a refused upload)."""
    allowed = tuple(f"status of {s}" for s in expected_status)
    left = [e for e in errors if not (allowed and "Failed to load resource" in e and any(a in e for a in allowed))]
    assert left == [], left


__all__ = ["TIMEOUT", "expect", "no_errors"]
