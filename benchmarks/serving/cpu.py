"""CPU time counters, so a run's figures can be read on a shared machine.

Throughput on a busy 2-core machine depends on how much CPU the server got; the CPU time a server's
process group spends per request does not (much), and the CPU used by everything else during a run says
how busy the machine was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group ``pgid``."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on; comm may hold spaces
        if int(fields[2]) == pgid:  # field 5: pgrp
            total += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
    return total / TICK


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs spent busy since boot (everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / TICK


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished, waited-for children (the wrk runs)."""
    times = os.times()
    return times.children_user + times.children_system


@dataclass
class CpuMeter:
    """Counts a server group's, the load generator's and everyone else's CPU over one run."""

    pgid: int
    server: float = 0.0
    machine: float = 0.0
    client: float = 0.0

    def start(self) -> CpuMeter:
        self.server, self.machine, self.client = (
            group_cpu_seconds(self.pgid),
            machine_busy_seconds(),
            children_cpu_seconds(),
        )
        return self

    def stop(self) -> dict[str, float]:
        server = group_cpu_seconds(self.pgid) - self.server
        machine = machine_busy_seconds() - self.machine
        client = children_cpu_seconds() - self.client
        return {
            "server_cpu_s": round(server, 3),
            "client_cpu_s": round(client, 3),
            "other_cpu_s": round(max(0.0, machine - server - client), 3),
        }
