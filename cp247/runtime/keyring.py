"""The event store cipher with key rotation: write with the current key, read with any.

Event stores are append-only, so rotation does not rewrite history: a new key encrypts
everything written from now on, and the previous keys stay, decrypt-only, for what was
written before. Personal fields are sealed under per-case keys as well, and those are
re-wrapped under the new key at rotation (``cp247 keys rotate`` / ``rewrap``).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import Cipher
from eventsourcing.utils import Environment

PREVIOUS = "CIPHER_KEYS_PREVIOUS"  # comma-separated base64 keys, newest first


class KeyringCipher(Cipher):
    def __init__(self, environment: Any):
        self.current = AESCipher(environment)
        previous = [k.strip() for k in (environment.get(PREVIOUS) or "").split(",") if k.strip()]
        self.keys = [self.current] + [
            AESCipher(Environment(env={AESCipher.CIPHER_KEY: key})) for key in previous
        ]

    def encrypt(self, plaintext: bytes) -> bytes:
        return self.current.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        for cipher in self.keys:  # the current key first: almost everything is recent
            try:
                return cipher.decrypt(ciphertext)
            except ValueError:
                continue
        raise ValueError("neither the current nor a previous event key decrypts this event")
