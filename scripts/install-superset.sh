#!/usr/bin/env bash
# Installs Apache Superset into its own virtualenv, .tools/superset, only when missing or of another
# version, with an empty metadata database (SQLite, migrated and with Superset's roles) that
# tests/dashboard/test_superset_import.py copies for each run instead of migrating one (≈ 1.5 minutes).
# Superset's PyPI packaging leaves out packages it imports (rich, cachetools) and allows a flask-caching
# it no longer works with: those are pinned here.
set -euo pipefail
cd "$(dirname "$0")/.."

SUPERSET_VERSION=6.1.0
venv="$PWD/.tools/superset"
stamp="$venv/.installed-$SUPERSET_VERSION"

[ -f "$stamp" ] && exit 0

echo "installing Apache Superset $SUPERSET_VERSION into .tools/superset (a few minutes the first time)"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q \
  "apache-superset==$SUPERSET_VERSION" \
  "psycopg2-binary==2.9.13" \
  "rich==15.0.0" \
  "cachetools==8.0.2" \
  "flask-caching==2.3.1"

export SUPERSET_CONFIG_PATH="$PWD/src/streamvault/testing/superset_config.py"
export SUPERSET_METADATA_DB="$venv/metadata-template.db" SUPERSET_SECRET_KEY="metadata template: holds no secret"
"$venv/bin/superset" db upgrade >"$venv/metadata-template.log" 2>&1
"$venv/bin/superset" init >>"$venv/metadata-template.log" 2>&1
touch "$stamp"
