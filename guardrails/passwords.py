"""Password hashing with scrypt (RFC 7914), a standard memory-hard KDF from the standard library.

Stored form, self-describing so that the cost can be raised later without breaking old hashes:

    scrypt$n=16384,r=8,p=1$<salt, base64>$<derived key, base64>

Each hash has its own 16-byte random salt, so equal passwords give different strings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from .errors import WeakPasswordError

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # about 16 MiB and tens of milliseconds per hash on one core
SALT_BYTES = 16
KEY_BYTES = 32
MIN_PASSWORD_LENGTH = 8
# scrypt hashes any length cheaply, but a megabyte "password" is an attack, not a password.
MAX_PASSWORD_LENGTH = 1024
# Bounds on stored parameters: a tampered row must not make one login eat gigabytes.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16
_STORED = re.compile(r"scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")


def check_password_rules(password: object) -> str:
    if not isinstance(password, str):
        raise WeakPasswordError("the password must be text")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"it must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(f"it must have at most {MAX_PASSWORD_LENGTH} characters")
    return password


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # OpenSSL refuses scrypt above its default 32 MiB memory cap unless told; 128*n*r bytes
    # are needed, so allow exactly that plus slack.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=2 * 128 * n * r * p + 1024 * 1024)


def hash_password(password: str) -> str:
    """A new salted hash of a password that passes the rules."""
    check_password_rules(password)
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, N, R, P, KEY_BYTES)
    return (f"{SCHEME}$n={N},r={R},p={P}${base64.b64encode(salt).decode()}"
            f"${base64.b64encode(key).decode()}")


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`, compared in constant time. A malformed stored
    string never matches (and never raises: login must not crash on one bad row)."""
    match = _STORED.fullmatch(stored or "")
    if not match or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return False
    n, r, p = (int(g) for g in match.group(1, 2, 3))
    if not (1 < n <= _MAX_N and n & (n - 1) == 0 and 0 < r <= _MAX_R and 0 < p <= _MAX_P):
        return False
    try:
        salt = base64.b64decode(match.group(4), validate=True)
        expected = base64.b64decode(match.group(5), validate=True)
    except ValueError:
        return False
    if not expected:
        return False
    return hmac.compare_digest(_derive(password, salt, n, r, p, len(expected)), expected)


_DUMMY_HASH: str | None = None


def dummy_hash() -> str:
    """A hash of a random password, checked against when the user name is unknown, so that
    an unknown name costs as much time as a wrong password (no user enumeration by timing)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(base64.b64encode(os.urandom(18)).decode())
    return _DUMMY_HASH
