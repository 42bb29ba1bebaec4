"""Imports a dashboard bundle into Superset through its REST API, as docs/superset.md tells a user to, and
writes each chart's data as Superset's chart data API answers it (one JSON file: Superset prints to stdout).

Run by Superset's own Python (.tools/superset), not streamvault's: it imports Superset, never streamvault.
Superset runs in-process behind Flask's test client, so no port is opened.
Usage: python superset_probe.py BUNDLE.zip '{"databases/<db>.yaml": "<password>"}' ANSWERS.json
"""

import json
import secrets
import sys

from superset.app import create_app


def main(bundle: str, passwords: str, answers: str) -> None:
    app = create_app()
    password = secrets.token_hex(16)
    with app.app_context():
        from superset import security_manager

        security_manager.add_user("admin", "Streamvault", "Test", "admin@example.org",
                                  security_manager.find_role("Admin"), password=password)
    client = app.test_client()
    login = client.post("/api/v1/security/login",
                        json={"username": "admin", "password": password, "provider": "db", "refresh": False})
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    csrf = client.get("/api/v1/security/csrf_token/", headers=headers).json["result"]
    with open(bundle, "rb") as archive:
        imported = client.post("/api/v1/dashboard/import/", headers={**headers, "X-CSRFToken": csrf},
                               data={"formData": (archive, "bundle.zip"), "passwords": passwords, "overwrite": "true"},
                               content_type="multipart/form-data")
    charts = {}
    if imported.status_code == 200:
        listed = client.get("/api/v1/chart/?q=(columns:!(id,uuid,slice_name),page_size:100)", headers=headers)
        for chart in listed.json["result"]:
            answer = client.get(f"/api/v1/chart/{chart['id']}/data/", headers=headers)
            charts[chart["uuid"]] = {"slice_name": chart["slice_name"], "status": answer.status_code,
                                     "body": answer.json}
    with open(answers, "w", encoding="utf-8") as output:
        json.dump({"import": {"status": imported.status_code, "body": imported.json}, "charts": charts},
                  output, ensure_ascii=False, default=str)


if __name__ == "__main__":
    main(*sys.argv[1:])
