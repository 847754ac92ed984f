"""What a process used, read from /proc: CPU time (user + system) and resident memory."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command's closing parenthesis (the command may hold
    spaces): index 0 is field 3 (state), 1 the parent pid, 11 utime, 12 stime."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (all its threads)."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def rss_mib(pid: int) -> float:
    """Resident memory now, MiB."""
    resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return resident_pages * _PAGE_BYTES / 2**20
