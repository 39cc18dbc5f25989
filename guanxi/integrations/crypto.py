"""Encryption of stored mailbox passwords.

IMAP needs the password itself, so it cannot be hashed. It is encrypted with Fernet (AES-128-CBC and
HMAC-SHA256) under a key derived from SECRET_KEY with HKDF, so a copy of the database alone does not
give the passwords away. Keys from SECRET_KEY_FALLBACKS still decrypt, so a key rotation keeps the
mailboxes working; a password encrypted under a key that is gone cannot be read and must be entered
again (the sync says so).
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "fernet:"
_INFO = b"guanxi.integrations.mailbox-password"


class PasswordUnreadable(Exception):
    """The stored password was encrypted under a key this site no longer has."""


def _key(secret):
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


def _fernet():
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_key(s)) for s in secrets])


def encrypt(plain: str) -> str:
    return PREFIX + _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise PasswordUnreadable("unknown password format")
    try:
        return _fernet().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise PasswordUnreadable("the password was encrypted under another SECRET_KEY")
