"""What the real-server tests measure (set-up time, item counts, how long a
problem stayed open), printed at the end of the run: timing is reported,
never asserted."""

import time

import pytest

_LINES = []


@pytest.fixture(scope="session")
def report():
    """report(text): one line of the end-of-run summary."""
    return _LINES.append


@pytest.fixture(autouse=True)
def _timed(request, report):
    t0 = time.monotonic()
    yield
    report("%-60s %6.1f s" % (request.node.name, time.monotonic() - t0))


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section("measured")
    for line in _LINES:
        terminalreporter.write_line(line)
    terminalreporter.write_line("(tests/nms run once per CI run, outside the sanitizer pass: "
                                "scripts/test.sh)")
