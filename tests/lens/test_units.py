"""The one byte formatter: binary units as the web UI shows them, or one fixed unit for figures compared."""

from __future__ import annotations

import pytest

from mistudio.lens.units import human_bytes

KB, MB, GB = 1024, 1024**2, 1024**3


@pytest.mark.parametrize(("n_bytes", "shown"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (1536, "1.5 KB"), (int(18.0 * MB), "18.0 MB"),
    (99 * MB, "99.0 MB"), (300 * MB, "300 MB"), (6 * GB, "6.0 GB"), (2048 * GB, "2.0 TB"), (5000 * 1024**4, "5000 TB"),
])
def test_the_unit_is_picked_as_the_web_ui_picks_it(n_bytes: int, shown: str) -> None:
    assert human_bytes(n_bytes) == shown


def test_a_fixed_unit_keeps_figures_in_one_message_comparable() -> None:
    assert human_bytes(int(0.52 * GB), "GB") == "0.52 GB"
    assert human_bytes(6 * GB, "GB") == "6.00 GB"
    assert human_bytes(64 * MB, "GB") == "0.0625 GB"  # three significant digits below 0.1
    assert human_bytes(512 * KB, "MB") == "0.50 MB"
