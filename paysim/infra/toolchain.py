"""The toolchains the native backend needs, found or explained."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from paysim.errors import InfraError

INSTALL_HINTS = {
    "java": "install a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless)",
    "mvn": "install Apache Maven (Debian: apt-get install maven)",
    "go": "install Go 1.22 or newer (Debian: apt-get install golang)",
}


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    path: str | None
    version: str | None

    @property
    def found(self) -> bool:
        return self.path is not None


def _version_of(path: str, name: str) -> str | None:
    args = {"java": ["-version"], "mvn": ["-v"], "go": ["version"]}[name]
    try:
        done = subprocess.run(
            [path, *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout + done.stderr).strip()
    first = re.sub(r"\x1b\[[0-9;]*m", "", text.splitlines()[0]) if text else ""
    return first or None


def find_tool(name: str) -> Tool:
    path = shutil.which(name)
    return Tool(name, path, _version_of(path, name) if path else None)


def require_tool(name: str) -> str:
    """Path of the tool, or an ``InfraError`` that says how to get it."""
    tool = find_tool(name)
    if tool.path is None:
        raise InfraError(
            f"`{name}` is not on the PATH; the native backend needs it: {INSTALL_HINTS[name]}."
        )
    return tool.path


def java_major(version_line: str | None) -> int | None:
    match = re.search(r'version "(\d+)', version_line or "")
    return int(match.group(1)) if match else None
