"""The Ed25519 key that signs the audit trail's head, kept outside the data home.

Whoever can write the data home can rewrite the trail and its head. Without this key they
cannot sign the new head, so `AuditTrail.verify()` notices. That only holds while the key is
somewhere they cannot read, so it never lives beside the trail. The default place is the
service user's config folder:

    ${XDG_CONFIG_HOME:-~/.config}/operator-copilot/audit.key

One key for all of that user's homes, not one per home: a home that is moved, copied or
restored elsewhere on the host keeps verifying, and keys for different homes would sit side
by side with the same permissions anyway, so separate keys would protect nothing more.
(A key named after each home's path broke exactly that, and left a key behind per test run.)
It is created on first use: PKCS#8 PEM, mode 0600, in a folder created with mode 0700. The
public half is also written beside the trail (`<db>.pub`), so a verifier that cannot read the
private key can still check signatures, trusting that copy only when a witness head (kept
off the host) names its fingerprint.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)


class AuditKeyError(ValueError):
    """A key file that is missing, unreadable or not an Ed25519 key (the trail wraps it)."""


def default_key_file() -> Path:
    """Where the audit key lives when no key file is configured."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "operator-copilot" / "audit.key"


class AuditKey:
    """The public half: checks head signatures; its fingerprint names it in heads and witnesses."""

    def __init__(self, public: Ed25519PublicKey) -> None:
        self._public = public
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.fingerprint = hashlib.sha256(raw).hexdigest()

    @classmethod
    def from_pem(cls, data: bytes) -> AuditKey:
        try:
            public = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise AuditKeyError(f"not a PEM public key: {exc}") from exc
        if not isinstance(public, Ed25519PublicKey):
            raise AuditKeyError(f"not an Ed25519 public key: {type(public).__name__}")
        return cls(public)

    def to_pem(self) -> bytes:
        return self._public.public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)

    def verifies(self, signature: bytes, message: bytes) -> bool:
        try:
            self._public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class AuditSigner:
    """The private half: signs heads. Build it with `from_file` or `load_or_create`."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.key = AuditKey(private.public_key())

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    @classmethod
    def from_file(cls, path: Path) -> AuditSigner:
        try:
            data = path.read_bytes()
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise  # not an AuditKeyError: the caller decides whether a new key may be made
        except OSError as exc:
            raise AuditKeyError(f"cannot read the key file {path}: {exc}") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("audit key file %s is readable by others (mode %o); it should be 0600",
                        path, stat.S_IMODE(mode))
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise AuditKeyError(f"{path} is not an unencrypted PEM private key: {exc}") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise AuditKeyError(f"{path} is not an Ed25519 key: {type(private).__name__}")
        return cls(private)

    @classmethod
    def create_file(cls, path: Path) -> AuditSigner:
        """A new key in a new file, published atomically; if another process won, its key."""
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            # 0600 from the first byte: the key is never readable by others, not even briefly.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, pem)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                # link() refuses an existing name: two processes creating the key at once
                # end up with one key, and nobody ever reads a half-written file.
                os.link(tmp, path)
            except FileExistsError:
                return cls.from_file(path)
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise AuditKeyError(f"cannot create the key file {path}: {exc}") from exc
        return cls(private)
