"""The family sweep: every text-only causal LM type transformers can build tiny works with lens's hooks."""

from __future__ import annotations

import pytest

from tests.support.model_sweep import summary, sweep
from tests.support.tiny_models import TINY_FAMILIES


@pytest.mark.slow
def test_at_least_90_percent_of_the_tiny_buildable_causal_lm_types_pass_every_hook_check() -> None:
    results = sweep()
    report = summary(results)
    print(report)  # the README quotes this table
    built = [result for result in results if result.outcome in ("pass", "fail")]
    passed = {result.model_type for result in built if result.outcome == "pass"}
    assert len(built) >= 100, report  # the sweep really covers the mapping, not a handful of types
    assert len(passed) >= 0.9 * len(built), report
    assert set(TINY_FAMILIES) <= passed, report  # the families the rest of the suite relies on
