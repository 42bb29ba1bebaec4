"""Apache Superset, as installed by scripts/install-superset.sh into .tools/superset: a bundle imported
through its REST API and each chart's data as its chart data API answers (superset_probe.py beside this module, run by
Superset's own Python). Metadata lives in a copy of the install's empty SQLite database."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[3]
VENV = REPOSITORY / ".tools" / "superset"
TEMPLATE = VENV / "metadata-template.db"
_HERE = Path(__file__).resolve().parent


def installed() -> bool:
    return TEMPLATE.is_file() and (VENV / "bin" / "python").is_file()


def import_and_fetch(bundle: Path, passwords: dict[str, str], workdir: Path) -> dict[str, Any]:
    """`{"import": {"status", "body"}, "charts": {uuid: {"status", "body"}}}` from a fresh Superset."""
    metadata, answers = workdir / "superset.db", workdir / "answers.json"
    shutil.copyfile(TEMPLATE, metadata)
    env = {**os.environ, "SUPERSET_CONFIG_PATH": str(_HERE / "superset_config.py"),
           "SUPERSET_METADATA_DB": str(metadata), "SUPERSET_SECRET_KEY": secrets.token_hex(32),
           "SUPERSET_HOME": str(workdir)}
    result = subprocess.run([str(VENV / "bin" / "python"), str(_HERE / "superset_probe.py"), str(bundle),
                             json.dumps(passwords), str(answers)], capture_output=True, text=True, env=env, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"superset_probe.py exited {result.returncode}:\n{result.stderr[-4000:]}")
    return json.loads(answers.read_text())
