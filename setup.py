"""Build hook for the one compiled part of blindlink; everything else is in pyproject.toml.

``hashing._native`` loops over OpenSSL's SHA-256 and AES-GCM for whole columns at a time,
and numbers a column's distinct values in one pass (see hashing/_native.c). It is
optional: where it cannot be built (no C compiler or no OpenSSL headers), blindlink falls
back to the pure-Python/Rust paths, which give the same results, only more slowly.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "hashing._native",
            sources=["hashing/_native.c"],
            libraries=["crypto"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
