"""The signed head of the audit trail: the newest record's seq and hash, signed with its key.

A head is one JSON object, stored in the trail's `audit_head` table, printed by
`copilot audit head --json` for a witness kept off the host, and read back by
`copilot audit verify --witness`:

    {"hash": <record hash>, "key": <sha256 hex of the raw 32-byte public key>,
     "seq": <record seq>, "signature": <base64 Ed25519 signature>, "time": <UTC, signed at>}

The signature covers

    b"operator-copilot audit head v1\\n" + json.dumps({"hash", "key", "seq", "time"},
                                                       sort_keys=True, separators=(",", ":"))

so anyone holding the public key (`<db>.pub`) can check a head without this code.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from .audit_keys import AuditKey, AuditSigner

_DOMAIN = b"operator-copilot audit head v1\n"  # a head signature is never valid for anything else
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SignedHead:
    seq: int
    hash: str
    time: str
    key: str  # fingerprint of the public key that signed it
    signature: str  # base64

    def message(self) -> bytes:
        body = {"hash": self.hash, "key": self.key, "seq": self.seq, "time": self.time}
        return _DOMAIN + json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def signed_by(self, key: AuditKey) -> bool:
        if self.key != key.fingerprint:
            return False
        return key.verifies(base64.b64decode(self.signature), self.message())

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def parse(cls, value: str | Mapping[str, Any]) -> SignedHead:
        """A head from its JSON text or object; ValueError saying what is wrong."""
        def bad(why: str) -> ValueError:
            return ValueError(f"not a signed head: {why}")

        try:
            data = json.loads(value) if isinstance(value, str) else value
        except ValueError as exc:
            raise bad(f"not JSON: {str(value)[:80]!r}") from exc
        if not isinstance(data, Mapping):
            raise bad(f"not a JSON object: {str(value)[:80]!r}")
        missing = [f for f in ("seq", "hash", "time", "key", "signature") if f not in data]
        if missing:
            raise bad(f"no {', '.join(missing)} in {json.dumps(data)[:120]}")
        seq, digest, time, key, signature = (data[f] for f in
                                             ("seq", "hash", "time", "key", "signature"))
        if type(seq) is not int or seq < 1:
            raise bad(f"seq must be a positive integer, got {seq!r}")
        for name, text in (("hash", digest), ("key", key)):
            if not isinstance(text, str) or not _HEX64.fullmatch(text):
                raise bad(f"{name} must be 64 lowercase hex digits, got {text!r}")
        if not isinstance(time, str):
            raise bad(f"time must be a string, got {time!r}")
        try:
            if len(base64.b64decode(signature, validate=True)) != 64:
                raise ValueError("wrong length")
        except (TypeError, ValueError, binascii.Error) as exc:
            raise bad(f"the signature is not base64 of 64 bytes: {exc}") from exc
        return cls(seq, digest, time, key, signature)


def sign_head(signer: AuditSigner, seq: int, digest: str) -> SignedHead:
    time = datetime.now(UTC).isoformat(timespec="microseconds")
    unsigned = SignedHead(seq, digest, time, signer.key.fingerprint, "")
    signature = base64.b64encode(signer.sign(unsigned.message())).decode("ascii")
    return SignedHead(seq, digest, time, signer.key.fingerprint, signature)


def parse_witness(text: str) -> list[SignedHead]:
    """Heads from a witness file: a JSON list of heads, or one head per line (JSON Lines)."""
    stripped = text.strip()
    if stripped.startswith("["):
        items = json.loads(stripped)
        return [SignedHead.parse(item) for item in items]
    heads = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                heads.append(SignedHead.parse(line))
            except ValueError as exc:
                raise ValueError(f"line {number}: {exc}") from exc
    return heads
