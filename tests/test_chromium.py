"""The order in which tools/chromium.py finds or installs a Chromium, on a faked machine.

Nothing is installed or removed: ``FakeSystem`` records the commands that
would run and lets each test decide what exists and what succeeds.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("chromium_under_test", REPO / "tools" / "chromium.py")
chromium = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = chromium  # dataclasses look their module up there
_spec.loader.exec_module(chromium)


class FakeSystem(chromium.System):
    def __init__(self, *, env=None, on_path=(), executables=(), playwright_own=False,
                 playwright_download_works=False, root=False, apt=False, apt_works=False):
        self.env = dict(env or {})
        self.on_path = dict(on_path)             # name -> path
        self.executables = set(executables) | set(self.on_path.values())
        self.playwright_own = playwright_own
        self.playwright_download_works = playwright_download_works
        self.root, self.apt, self.apt_works = root, apt, apt_works
        self.ran: list[list[str]] = []

    def getenv(self, name):
        return self.env.get(name)

    def is_executable(self, path):
        return path in self.executables

    def which(self, name):
        if name == "apt-get":
            return "/usr/bin/apt-get" if self.apt else None
        return self.on_path.get(name)

    def playwright_executable(self):
        return "/pw/chrome" if self.playwright_own else None

    def is_root(self):
        return self.root

    def run(self, argv, timeout):
        self.ran.append(list(argv))
        if argv[1:4] == ["-m", "playwright", "install"]:
            if self.playwright_download_works:
                self.playwright_own = True
            return self.playwright_download_works
        if argv[:2] == ["apt-get", "update"]:
            return self.apt_works
        if argv[:3] == ["apt-get", "install", "-y"]:
            if self.apt_works:
                self.on_path["chromium"] = "/usr/bin/chromium"
                self.executables.add("/usr/bin/chromium")
            return self.apt_works
        raise AssertionError(f"unexpected command {argv}")


def test_env_variable_wins_over_everything():
    s = FakeSystem(env={"CHROMIUM": "/opt/c"}, executables={"/opt/c"},
                   on_path={"chromium": "/usr/bin/chromium"}, playwright_own=True)
    found = chromium.provision(s)
    assert (found.how, found.executable) == ("CHROMIUM", "/opt/c")
    assert s.ran == []


def test_env_variable_that_is_not_executable_is_an_error_not_a_fallback():
    s = FakeSystem(env={"CHROMIUM": "/nope"}, on_path={"chromium": "/usr/bin/chromium"})
    with pytest.raises(chromium.NoChromium, match="CHROMIUM=/nope"):
        chromium.provision(s)


def test_system_chromium_before_playwright_own():
    s = FakeSystem(on_path={"chromium-browser": "/snap/bin/chromium-browser"}, playwright_own=True)
    found = chromium.provision(s)
    assert (found.how, found.executable) == ("system", "/snap/bin/chromium-browser")
    assert s.ran == []


def test_playwright_own_browser_when_installed_before():
    s = FakeSystem(playwright_own=True, root=True, apt=True, apt_works=True)
    found = chromium.provision(s)
    assert (found.how, found.executable) == ("playwright", None)
    assert s.ran == []


def test_playwright_download_first_when_nothing_is_installed():
    s = FakeSystem(playwright_download_works=True, root=True, apt=True, apt_works=True)
    found = chromium.provision(s)
    assert found.how == "playwright install"
    assert [a[1:] for a in s.ran] == [["-m", "playwright", "install", "chromium"]]


def test_apt_as_root_when_playwright_download_is_unreachable():
    s = FakeSystem(root=True, apt=True, apt_works=True)
    found = chromium.provision(s)
    assert (found.how, found.executable) == ("apt", "/usr/bin/chromium")
    assert s.ran[1:] == [["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]]


@pytest.mark.parametrize("kw", [dict(root=False, apt=True, apt_works=True),   # not root: no apt
                                dict(root=True, apt=False),                   # no apt at all
                                dict(root=True, apt=True, apt_works=False)])  # apt fails
def test_one_clear_message_when_nothing_works(kw):
    s = FakeSystem(**kw)
    with pytest.raises(chromium.NoChromium) as info:
        chromium.provision(s)
    msg = str(info.value)
    assert "python -m playwright install chromium" in msg and "apt-get install chromium" in msg
    assert "CHROMIUM=" in msg
    if not kw["root"]:
        assert all(a[0] != "apt-get" for a in s.ran)
