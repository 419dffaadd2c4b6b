# Types of the compiled batch loops (hashing/_native.c); buffers are any bytes-like object.
from typing import Any

def hmac_sha256_many(key: Any, offsets: Any, data: Any, /) -> bytes: ...
def hmac_sha256_joined(
    key: Any, columns: Any, separator: Any, start: int, stop: int, /
) -> tuple[bytes, bytes]: ...
def aes256gcm_seal_many(
    key: Any, plaintexts: Any, pt_len: int, aad: Any, nonces: Any, /
) -> bytes: ...
