"""Whether another process is still alive: how builds and model exports tell a live peer's
temporary folder from one a crash left behind."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
