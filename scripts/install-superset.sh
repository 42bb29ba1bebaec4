#!/usr/bin/env bash
# Installs Apache Superset into a virtualenv of its own, only when missing, with an empty metadata database
# (SQLite, migrated and with Superset's roles) that tests/dashboard/test_superset_import.py copies for each
# run instead of migrating one (≈ 1.5 minutes). Superset's PyPI packaging leaves out packages it imports
# (rich, cachetools) and allows a flask-caching it no longer works with: those are pinned here.
#
# Like Maven's ~/.m2 and Go's module cache, the virtualenv lives in the user's cache folder, keyed by the
# version and the pins, so that every clone of the repository shares one (a few minutes the first time);
# .tools/superset links to it.
set -euo pipefail
cd "$(dirname "$0")/.."

SUPERSET_VERSION=6.1.0
PINS=("apache-superset==$SUPERSET_VERSION" "psycopg2-binary==2.9.13" "rich==15.0.0" "cachetools==8.0.2"
      "flask-caching==2.3.1")
cache="${STREAMVAULT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamvault}"
key=$(printf '%s\n' "${PINS[@]}" | sha256sum | cut -c1-12)
venv="$cache/superset-$SUPERSET_VERSION-$key"
stamp="$venv/.installed"

mkdir -p "$cache" .tools
exec 9>"$cache/superset.lock"
flock 9  # one install at a time, however many clones ask
if [ ! -f "$stamp" ]; then
  echo "installing Apache Superset $SUPERSET_VERSION into $venv (a few minutes the first time)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q "${PINS[@]}"
  export SUPERSET_CONFIG_PATH="$PWD/src/streamvault/testing/superset_config.py"
  export SUPERSET_METADATA_DB="$venv/metadata-template.db" SUPERSET_SECRET_KEY="metadata template: holds no secret"
  "$venv/bin/superset" db upgrade >"$venv/metadata-template.log" 2>&1
  "$venv/bin/superset" init >>"$venv/metadata-template.log" 2>&1
  touch "$stamp"
fi
ln -sfn "$venv" .tools/superset
