"""The real `streamvault dashboard` command, started on a free port and asked over HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)

    def answer(self, path: str) -> tuple[int, dict]:
        """Status and JSON body, errors included."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)


def start_dashboard(env: dict[str, str], log: Path) -> Server:
    """The real command on a free port."""
    with open(log, "w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "streamvault", "dashboard", "--port", "0"],
                                   env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=stderr, text=True)
    announced = re.search(r"dashboard: (http://127\.0\.0\.1:\d+)/", process.stdout.readline())
    if not announced:
        process.kill()
        raise AssertionError(log.read_text())
    return Server(announced[1], process)
