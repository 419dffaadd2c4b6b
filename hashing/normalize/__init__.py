"""Field normalizers: two spellings of the same person or address → one canonical string.

Each normalizer is pure and idempotent (``f(f(x)) == f(x)``), maps blanks, whitespace and
placeholders to null (null means *missing*: the tokenizer never hashes it), and takes and
returns a ``pl.Expr`` so that it composes in lazy queries. Canonical text is uppercase
ASCII with single spaces unless a field says otherwise (email is lowercase, phone is
E.164, dob is a ``pl.Date``). ``docs/normalization.md`` describes every canonical form.

The frame-level entry point is ``hashing.canonical.canonicalize``.
"""

from hashing.normalize.address import (
    address_line_parts,
    normalize_city,
    normalize_house_number,
    normalize_state,
    normalize_street,
    normalize_unit,
    normalize_zip,
    parse_address_line,
    street_parts,
)
from hashing.normalize.contact import normalize_email, normalize_phone
from hashing.normalize.dates import normalize_date
from hashing.normalize.ids import normalize_national_id
from hashing.normalize.names import (
    clean_name,
    full_name_parts,
    initial,
    last_name_parts,
    last_name_variants,
    nickname_map,
    normalize_first_name,
    normalize_last_name,
    normalize_middle_name,
    normalize_name_suffix,
    split_full_name,
)
from hashing.normalize.sex import normalize_sex

__all__ = [
    "address_line_parts",
    "clean_name",
    "full_name_parts",
    "initial",
    "last_name_parts",
    "last_name_variants",
    "nickname_map",
    "normalize_city",
    "normalize_date",
    "normalize_email",
    "normalize_first_name",
    "normalize_house_number",
    "normalize_last_name",
    "normalize_middle_name",
    "normalize_name_suffix",
    "normalize_national_id",
    "normalize_phone",
    "normalize_sex",
    "normalize_state",
    "normalize_street",
    "normalize_unit",
    "normalize_zip",
    "parse_address_line",
    "split_full_name",
    "street_parts",
]
