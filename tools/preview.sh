#!/usr/bin/env bash
# Build a private copy of the book, so several people can preview at once
# without sharing _build/ or the execution cache.
#   tools/preview.sh NAME     -> builds into /tmp/preview-NAME/_build/html
set -euo pipefail
name=${1:?usage: tools/preview.sh NAME}
repo=$(cd "$(dirname "$0")/.." && pwd)
dest=/tmp/preview-$name
mkdir -p "$dest"
rsync -a --delete --exclude .venv --exclude _build --exclude .jupyter_cache --exclude .git \
      --exclude .hypothesis --exclude .pytest_cache "$repo"/ "$dest"/
[ -d "$repo/_vendor" ] && rsync -a "$repo/_vendor/" "$dest/_vendor/" || true
cd "$dest"
"$repo/.venv/bin/jupyter-book" build -W -n --keep-going . 2>&1 | grep -E "WARNING|ERROR|Error|Traceback|finished|exit code" || true
echo "HTML: $dest/_build/html"
