"""The secure local stack (`stack up --secure`, STREAMVAULT_SECURE=1): the production path, on this machine.

A private CA signs one server certificate (SAN: localhost, 127.0.0.1) that all three servers present; every
listener is TLS and asks for a password; each service logs in as its own principal, which the servers
confine to what that service does (docs/security.md). Everything lives in `<home>/security/`: its presence
makes a state folder secure for good (the servers' data is bound to these users).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   ResourcePatternType, ResourceType)

from streamvault.stack.files import write_private
from streamvault.stack.settings import new_password

SCRAM = "SCRAM-SHA-512"
ADMIN = "admin"
GENERATOR = "generator"
DASHBOARD = "dashboard"
SERVICES = ("stg", "dds", "cdm")
# Who logs in where (the dashboard only reads PostgreSQL; the generator only writes Kafka and Redis).
KAFKA_PRINCIPALS = (ADMIN, *SERVICES, GENERATOR)
PG_PRINCIPALS = (*SERVICES, DASHBOARD)
REDIS_PRINCIPALS = (ADMIN, "stg", GENERATOR)
HOST_NAMES = ("localhost", "127.0.0.1")


def kafka_user(principal: str) -> str:
    return principal if principal in (ADMIN, GENERATOR) else f"{principal}-service"


def pg_login(principal: str) -> str:
    """The login role; its privileges come from the group role migration 0012 grants (streamvault_<service>)."""
    return "dashboard_reader" if principal == DASHBOARD else f"{principal}_service"


def pg_group(principal: str) -> str:
    return f"streamvault_{principal}"


def redis_user(principal: str) -> str:
    return kafka_user(principal)


# Redis ACL rules per principal: the STG service only reads; the generator reads and writes data.
REDIS_RULES = {
    ADMIN: "~* &* +@all",
    "stg": "~* resetchannels -@all +@read +@connection",
    GENERATOR: "~* resetchannels -@all +@read +@write +@connection",
}


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    @property
    def pem(self) -> Path:
        """Key and certificate in one file, as Kafka's PEM keystore reads them."""
        return self.cert.with_suffix(".pem")


class Security:
    """The CA, the server certificate and every principal's passwords of one state folder."""

    def __init__(self, home: Path):
        self.dir = home / "security"
        self.ca = Certificate(self.dir / "ca.crt", self.dir / "ca.key")
        self.server = Certificate(self.dir / "server.crt", self.dir / "server.key")
        self.passwords_file = self.dir / "passwords.json"

    @property
    def exists(self) -> bool:
        return self.passwords_file.is_file()

    def create(self) -> None:
        """Idempotent: what exists is kept (the servers' users and data are bound to it)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)  # the CA certificate is read by every client, PostgreSQL's account included
        if not self.ca.cert.is_file():
            make_ca(self.ca, "streamvault local CA")
        if not self.server.cert.is_file():
            issue(self.ca, self.server, HOST_NAMES)
        if not self.passwords_file.is_file():
            names = ["kafka:keystore"] + [f"kafka:{p}" for p in KAFKA_PRINCIPALS] + [f"pg:{p}" for p in PG_PRINCIPALS] + [
                f"redis:{p}" for p in REDIS_PRINCIPALS]
            write_private(self.passwords_file, json.dumps({name: new_password() for name in names}))

    def password(self, server: str, principal: str) -> str:
        return json.loads(self.passwords_file.read_text())[f"{server}:{principal}"]


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def make_ca(ca: Certificate, name: str, days: int = 3650) -> None:
    ca.cert.parent.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca.key), "-out", str(ca.cert),
             "-days", str(days), "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ca.key.chmod(0o600)


def issue(ca: Certificate, server: Certificate, names: tuple[str, ...], days: int = 825) -> None:
    """A server certificate for `names` (DNS names or IP addresses) signed by `ca`; also writes `server.pem`."""
    server.cert.parent.mkdir(parents=True, exist_ok=True)
    request, extensions = server.cert.with_suffix(".csr"), server.cert.with_suffix(".ext")
    alt_names = ",".join(f"IP:{n}" if n.replace(".", "").isdigit() else f"DNS:{n}" for n in names)
    extensions.write_text(f"subjectAltName={alt_names}\nbasicConstraints=CA:FALSE\n"
                          "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n")
    try:
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(server.key), "-out", str(request),
                 "-subj", f"/CN={names[0]}")
        _openssl("x509", "-req", "-in", str(request), "-CA", str(ca.cert), "-CAkey", str(ca.key),
                 "-CAcreateserial", "-days", str(days), "-out", str(server.cert), "-extfile", str(extensions))
    finally:
        request.unlink(missing_ok=True)
        extensions.unlink(missing_ok=True)
    server.key.chmod(0o600)
    write_private(server.pem, server.key.read_text() + server.cert.read_text())


def encrypted_pem(server: Certificate, password: str, out: Path) -> None:
    """Kafka's file-based PEM keystore: the key encrypted with `password` (Kafka requires one), then the chain."""
    result = subprocess.run(["openssl", "pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-in", str(server.key),
                             "-passout", "stdin"], input=password, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl pkcs8 failed: {result.stderr.strip()}")
    write_private(out, result.stdout + server.cert.read_text())


def service_acls(user: str, source: str, writes: list[str], group: str) -> list[AclBinding]:
    """A service's Kafka rights: read its source in its own group, write its destination and dead-letter topics
    in transactions whose ids start with `<group>-` (the loop's `<group>-<instance>`), nothing else."""
    principal = f"User:{user}"

    def allow(kind: ResourceType, name: str, operation: AclOperation,
              pattern: ResourcePatternType = ResourcePatternType.LITERAL) -> AclBinding:
        return AclBinding(kind, name, pattern, principal, "*", operation, AclPermissionType.ALLOW)

    return [
        allow(ResourceType.TOPIC, source, AclOperation.READ),
        allow(ResourceType.GROUP, group, AclOperation.READ),
        *(allow(ResourceType.TOPIC, topic, operation) for topic in writes
          for operation in (AclOperation.WRITE, AclOperation.DESCRIBE_CONFIGS)),
        allow(ResourceType.TRANSACTIONAL_ID, f"{group}-", AclOperation.WRITE, ResourcePatternType.PREFIXED),
    ]


def producer_acls(user: str, topic: str) -> list[AclBinding]:
    """The generator (the source system's stand-in): it writes the source topic, idempotently."""
    return [AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{user}", "*",
                       AclOperation.WRITE, AclPermissionType.ALLOW)]


def grant(admin: AdminClient, bindings: list[AclBinding], timeout: float = 30.0) -> None:
    """Create the ACLs and wait until the broker enforces them (it learns them from the controller shortly after)."""
    for future in admin.create_acls(bindings, request_timeout=30).values():
        future.result()
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                                  AclPermissionType.ANY)
    deadline = time.monotonic() + timeout
    while not set(bindings) <= set(admin.describe_acls(everything, request_timeout=10).result()):
        if time.monotonic() > deadline:
            raise RuntimeError("Kafka did not apply the ACLs in time")
        time.sleep(0.2)
