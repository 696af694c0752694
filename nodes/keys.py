"""SSH keys for keypairs: strict import, generation, and fingerprints as EC2 and ssh-keygen
print them (seed 002: ec2-add-keypair / ec2-import-keypair). Pure: no Django."""

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from nodes.xmltext import incompatibility

# The key types accepted, whitelisted (never inferred from what a parser happens to read).
ALLOWED_TYPES = {
    "ssh-ed25519": "Ed25519",
    "ecdsa-sha2-nistp256": "ECDSA P-256",
    "ecdsa-sha2-nistp384": "ECDSA P-384",
    "ecdsa-sha2-nistp521": "ECDSA P-521",
    "ssh-rsa": "RSA",
}
MIN_RSA_BITS = 2048
MAX_KEY_CHARS = 16_384


class KeyRefused(ValueError):
    pass


def colon_hex(digest):
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@dataclass(frozen=True)
class PublicKey:
    line: str  # "type base64 [comment]", normalized
    kind: str
    blob: bytes
    der: bytes  # the SubjectPublicKeyInfo, as openssl writes it

    @property
    def ec2_fingerprint(self):
        """As EC2 shows an imported key's: for Ed25519 the base64 SHA-256 of the key (with
        EC2's padding), else the MD5 of its DER encoding in colon-separated hex
        (`openssl pkey -pubin -outform DER | openssl md5 -c`)."""
        if self.kind == "ssh-ed25519":
            return base64.b64encode(hashlib.sha256(self.blob).digest()).decode()
        return colon_hex(hashlib.md5(self.der, usedforsecurity=False).hexdigest())

    @property
    def sha256(self):
        """As `ssh-keygen -l` prints it."""
        return "SHA256:" + base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")


def parse_public_key(text):
    """The OpenSSH public key in text, or KeyRefused saying why not."""
    text = (text or "").strip()
    if not text:
        raise KeyRefused("Paste an OpenSSH public key (one line: type, key, comment).")
    if len(text) > MAX_KEY_CHARS or "\n" in text:
        raise KeyRefused("A public key is one line of at most 16 KiB.")
    if reason := incompatibility(text, "The key"):
        raise KeyRefused(reason)
    if text.startswith("-----BEGIN"):
        raise KeyRefused(
            "This is a PEM file; paste the OpenSSH public key (the .pub file) instead."
        )
    parts = text.split(None, 2)
    kind = parts[0]
    if "-cert-" in kind:
        raise KeyRefused("SSH certificates are not accepted; paste the plain public key.")
    if kind == "ssh-dss":
        raise KeyRefused(
            "DSA keys are not accepted (obsolete): use Ed25519, ECDSA or RSA ≥ 2048 bits."
        )
    if kind not in ALLOWED_TYPES:
        raise KeyRefused(f"Key type {kind[:40]!r} is not accepted: use {', '.join(ALLOWED_TYPES)}.")
    if len(parts) < 2:
        raise KeyRefused("The key has a type but no key data.")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        key = serialization.load_ssh_public_key(f"{kind} {parts[1]}".encode())
    except (binascii.Error, ValueError, TypeError) as error:
        raise KeyRefused("This is not a valid OpenSSH public key.") from error
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise KeyRefused(
            f"This RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are needed."
        )
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PublicKey(" ".join(parts), kind, blob, der)


def generate(kind="ed25519"):
    """A new key pair: (OpenSSH private key text, PublicKey, EC2 fingerprint).

    EC2 fingerprints an RSA key it creates with the SHA-1 of the PKCS#8 private key, and an
    Ed25519 one as it does an imported one."""
    if kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    elif kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise KeyRefused("Generate an ed25519 or an rsa key.")
    openssh = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public_line = (
        private.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    public = parse_public_key(public_line)
    if kind == "ed25519":
        return openssh, public, public.ec2_fingerprint
    pkcs8 = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return openssh, public, colon_hex(hashlib.sha1(pkcs8, usedforsecurity=False).hexdigest())
