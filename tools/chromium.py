"""Find, or if need be install, the Chromium that the browser tests and `make pdf` drive.

    python tools/chromium.py      # prints the Chromium used (installing one if none is found)

Order (the first that works wins):

1. ``$CHROMIUM`` (must be an executable file; anything else is an error);
2. a system Chromium on ``PATH`` (``chromium``, ``chromium-browser``,
   ``google-chrome``, ``google-chrome-stable``);
3. Playwright's own Chromium, if ``python -m playwright install chromium`` ran before;
4. ``python -m playwright install chromium`` (Playwright's download; works where
   its CDN is reachable, e.g. a reader's machine);
5. as root with apt (CI, Debian machines): ``apt-get update`` and
   ``apt-get install -y chromium``;
6. otherwise: one error that says what to run.

Nothing is ever skipped: the callers fail when this raises ``NoChromium``.
``provision()`` takes a ``System`` so that the order can be tested with a fake
one (``tests/test_chromium.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PLAYWRIGHT_OWN = "playwright"  # provision() returns this when Playwright's own browser is to be used

HOW_TO = (
    "No Chromium for the browser tests and the PDF, and none could be installed.  Do one of:\n"
    "  python -m playwright install chromium      (Playwright's own build; needs its download site)\n"
    "  sudo apt-get install chromium              (Debian/Ubuntu)\n"
    "  CHROMIUM=/path/to/chromium make test       (an existing Chromium or Chrome)"
)


class NoChromium(RuntimeError):
    pass


@dataclass
class Found:
    how: str           # "CHROMIUM", "system", "playwright", "playwright install", "apt"
    executable: str | None  # None: Playwright's own browser (launch without executable_path)

    def __str__(self) -> str:
        return self.executable or f"Playwright's own Chromium ({self.how})"


class System:
    """The machine, as ``provision`` sees it.  Tests replace it with a fake."""

    def getenv(self, name: str) -> str | None:
        return os.environ.get(name)

    def is_executable(self, path: str) -> bool:
        return os.path.isfile(path) and os.access(path, os.X_OK)

    def which(self, name: str) -> str | None:
        return shutil.which(name)

    def playwright_executable(self) -> str | None:
        """Path of Playwright's own Chromium if it is installed, else None."""
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            return None
        with sync_playwright() as p:
            path = p.chromium.executable_path
        return path if path and self.is_executable(path) else None

    def is_root(self) -> bool:
        return hasattr(os, "geteuid") and os.geteuid() == 0

    def run(self, argv: list[str], timeout: float) -> bool:
        """Run a command, its output going to stderr; True when it exits 0."""
        print(f"chromium: running {' '.join(argv)}", file=sys.stderr, flush=True)
        try:
            proc = subprocess.run(argv, stdout=sys.stderr, stderr=sys.stderr, timeout=timeout,
                                  env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"chromium: {argv[0]} failed: {exc}", file=sys.stderr)
            return False
        return proc.returncode == 0


def _system_chromium(system: System) -> str | None:
    for name in SYSTEM_NAMES:
        path = system.which(name)
        if path and system.is_executable(path):
            return path
    return None


def find(system: System | None = None) -> Found | None:
    """The Chromium already on this machine (steps 1-3), or None."""
    system = system or System()
    env = system.getenv("CHROMIUM")
    if env:
        if not system.is_executable(env):
            raise NoChromium(f"CHROMIUM={env} is not an executable file")
        return Found("CHROMIUM", env)
    path = _system_chromium(system)
    if path:
        return Found("system", path)
    if system.playwright_executable():
        return Found("playwright", None)
    return None


def provision(system: System | None = None, install_timeout: float = 900) -> Found:
    """The Chromium to use, installing one when none is found (steps 4-5); raises NoChromium."""
    system = system or System()
    found = find(system)
    if found:
        return found
    if system.run([sys.executable, "-m", "playwright", "install", "chromium"], install_timeout) \
            and system.playwright_executable():
        return Found("playwright install", None)
    if system.is_root() and system.which("apt-get"):
        if system.run(["apt-get", "update"], install_timeout) and \
                system.run(["apt-get", "install", "-y", "chromium"], install_timeout):
            path = _system_chromium(system)
            if path:
                return Found("apt", path)
    raise NoChromium(HOW_TO)


def main() -> int:
    try:
        found = provision()
    except NoChromium as exc:
        print(f"chromium: ERROR: {exc}", file=sys.stderr)
        return 1
    print(f"chromium: {found} ({found.how})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
