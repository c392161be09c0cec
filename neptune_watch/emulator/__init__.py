"""A local Neptune emulator: bulk loader (neptunedata) and Analytics tasks (neptune-graph).

Start it, point botocore clients at its URL with ``endpoint_url``, and it plays scenario jobs
(timelines in virtual seconds) and injected faults::

    with NeptuneEmulator.from_scenario(load_scenario("s.json"), clock=lambda: now) as emu:
        client = boto3.client("neptunedata", endpoint_url=emu.url, ...)
"""

from neptune_watch.emulator.server import UNROUTED, NeptuneEmulator, RecordedRequest

__all__ = ["UNROUTED", "NeptuneEmulator", "RecordedRequest"]
