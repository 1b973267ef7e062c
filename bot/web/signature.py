"""LINE webhook signatures: HMAC-SHA256 of the raw body with the channel secret, base64."""
from __future__ import annotations

import base64
import hashlib
import hmac


def sign(body: bytes, channel_secret: str) -> str:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(body: bytes, signature: str | None, channel_secret: str) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(sign(body, channel_secret).encode(), signature.strip().encode())
