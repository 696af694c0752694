"""Node credentials at rest: SASL passwords are stored encrypted with a key derived from
SECRET_KEY, so a database dump alone does not give away the hypervisors."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet():
    digest = hashlib.sha256(b"kumo-node-credentials:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode() if password else ""


def unseal(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken as error:
        raise ValueError(
            "The stored node password cannot be decrypted (SECRET_KEY changed?): "
            "enter the password again on the node's edit page."
        ) from error
