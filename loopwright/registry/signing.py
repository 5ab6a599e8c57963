"""The workspace's Ed25519 signing key: made once at init, private part readable by the owner only."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from loopwright.digests import sha256_hex
from loopwright.errors import WorkspaceError

PRIVATE_KEY_FILE = "signing.key"
PUBLIC_KEY_FILE = "signing.pub"


class Signer:
    """Signs receipt digests and verifies signatures with the workspace key."""

    def __init__(self, private: Ed25519PrivateKey | None, public: Ed25519PublicKey):
        self._private = private
        self.public = public
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = sha256_hex(raw)[:16]

    @classmethod
    def generate(cls, state_dir: Path) -> Signer:
        """Make a new key pair in `state_dir`; the private key file gets mode 0600."""
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path = state_dir / PRIVATE_KEY_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        public = private.public_key()
        (state_dir / PUBLIC_KEY_FILE).write_bytes(
            public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        return cls(private, public)

    @classmethod
    def load(cls, state_dir: Path) -> Signer:
        path = state_dir / PRIVATE_KEY_FILE
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise WorkspaceError(f"signing key {path} is missing", hint="restore it from backup") from None
        except ValueError as exc:
            raise WorkspaceError(f"signing key {path} is unreadable: {exc}") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise WorkspaceError(f"signing key {path} is not an Ed25519 key")
        return cls(private, private.public_key())

    def sign(self, digest: str) -> str:
        return self._private.sign(bytes.fromhex(digest)).hex()

    def verify(self, digest: str, signature: str) -> bool:
        try:
            self.public.verify(bytes.fromhex(signature), bytes.fromhex(digest))
        except (InvalidSignature, ValueError):
            return False
        return True


SIGNATURE_FILE = "signature.json"


def sign_files(signer: Signer, files: dict[str, bytes]) -> bytes:
    """`signature.json` for a set of files: each file's sha256, and the workspace key's signature over them all,
    so the files can be checked away from the store (a note attached to a change ticket) with `verify_files`."""
    digests = {name: sha256_hex(data) for name, data in sorted(files.items())}
    digest = sha256_hex(json.dumps(digests, sort_keys=True, separators=(",", ":")))
    doc = {"algorithm": "ed25519", "key_id": signer.key_id, "files": digests, "digest": digest, "signature": signer.sign(digest)}
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def verify_files(signer: Signer, files: dict[str, bytes], signature: bytes) -> str | None:
    """Why `files` do not match `signature` (a `sign_files` document) under the workspace key; None when they do."""
    try:
        doc = json.loads(signature)
        digests, digest, key_id, sig = doc["files"], doc["digest"], doc["key_id"], doc["signature"]
    except (ValueError, KeyError, TypeError):
        return f"{SIGNATURE_FILE} is not a signature document"
    if key_id != signer.key_id:
        return f"signed with key {key_id}, not this workspace's ({signer.key_id})"
    if set(digests) != set(files):
        return f"the signature covers {', '.join(sorted(digests))}, not {', '.join(sorted(files))}"
    for name, data in sorted(files.items()):
        if sha256_hex(data) != digests[name]:
            return f"{name} was changed after it was signed"
    if sha256_hex(json.dumps(digests, sort_keys=True, separators=(",", ":"))) != digest or not signer.verify(digest, sig):
        return "the signature is not valid for the workspace key"
    return None
