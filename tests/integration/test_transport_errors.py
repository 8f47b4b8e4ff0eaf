"""Transport faults as the agent reports them: cupiServerLastError names what
happened in a fixed text (the same fault reads the same at every poll, with
no measured time or size in it), cupiServerStatus follows, and libcurl's own
words (address, milliseconds) reach the agent's log only.

Faults come from cupi-sim: an answer held past cupiTimeout, a 2 MB response
header line (written by the sim past libmicrohttpd), and the sim stopped
(connection refused).

Environment: CUPI_BUILD_DIR, CUPI_SOURCE_DIR (see nms_helper).
"""

import time

from nms_helper import Stack
from snmp_helper import SERVER_TABLE, col, snmpget, wait_for

ST_OK, ST_UNREACHABLE, ST_BAD_RESPONSE = 2, 3, 8
TIMEOUT_MS = 400


def status_and_error(port, index=1):
    oids = (col(SERVER_TABLE, 4, index), col(SERVER_TABLE, 6, index))
    vals, _ = snmpget(port, *oids)
    return vals.value(oids[0]), vals.value(oids[1])


def errors_while(port, status, seconds):
    """Every cupiServerLastError seen while the status is `status`, polled
    for `seconds` (the agent polls every second)."""
    seen = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        st, err = status_and_error(port)
        if st == status:
            seen.append(err)
        time.sleep(0.3)
    return seen


def test_transport_faults_read_the_same_every_poll(tmp_path):
    stack = Stack(tmp_path, servers=["cuc1"])
    try:
        stack.start(timeout_ms=TIMEOUT_MS)
        port = stack.port

        # An answer that never comes in time: a timeout waiting for it.
        stack.sim.fault(latency_ms=TIMEOUT_MS + 600)
        wait_for(lambda: status_and_error(port)[0] == ST_UNREACHABLE, 30,
                 what="unreachable on a held answer")
        seen = errors_while(port, ST_UNREACHABLE, 5)
        assert seen and set(seen) == {"timeout waiting for the answer"}, seen
        log = stack.agent.log_text()
        assert "milliseconds" in log and "timeout waiting for the answer" in log, log[-2000:]
        stack.sim.clear_faults()
        wait_for(lambda: status_and_error(port) == (ST_OK, ""), 30, what="ok again")

        # One 2 MB header line: the peer's header, not the agent's memory.
        stack.sim.fault(header_bytes=2_000_000)
        wait_for(lambda: status_and_error(port)[0] == ST_BAD_RESPONSE, 30,
                 what="badResponse on a 2 MB header")
        seen = errors_while(port, ST_BAD_RESPONSE, 3)
        assert seen and set(seen) == {"response header larger than 64 KiB refused"}, seen
        stack.sim.clear_faults()
        wait_for(lambda: status_and_error(port) == (ST_OK, ""), 30, what="ok again")

        # Nothing listens any more: refused, said plainly.
        stack.sim.stop()
        wait_for(lambda: status_and_error(port)[0] == ST_UNREACHABLE, 30,
                 what="unreachable with the sim stopped")
        seen = errors_while(port, ST_UNREACHABLE, 3)
        assert seen and set(seen) == {"connection refused"}, seen
        assert stack.sim.password not in stack.agent.log_text()
    finally:
        stack.stop()
