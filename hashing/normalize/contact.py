"""Phone numbers → E.164 and email addresses → the UID2 canonical form.

Phone: the common North American shape is handled with vectorized string operations
(strip everything but digits; ten digits, or eleven starting with 1; area code and
exchange not starting with 0 or 1; area code not an N11 service code). Any other shape
(an extension, letters, a country code other than +1, an international dialling prefix)
goes to ``phonenumbers`` with US as the default region, once per distinct value.
Invalid numbers and placeholders (0000000000, 5555555555, 1234567890...) are null.

Email: trimmed and lowercased, checked against a plain ``local@domain.tld`` shape (ASCII
only), placeholders (``none@...``, ``noemail@...``) null. For gmail.com and
googlemail.com (written gmail.com) the UID2 rules apply: dots in the local part and a
``+suffix`` are removed, because Gmail delivers all those spellings to one mailbox.
"""

from __future__ import annotations

import re

import polars as pl

from hashing.normalize._common import distinct_codes, null_if


def _placeholder_phones() -> list[str]:
    repeated = [d * 10 for d in "0123456789"]
    up, down = "0123456789" * 2, "9876543210" * 2
    runs = [up[i : i + 10] for i in range(10)] + [down[i : i + 10] for i in range(10)]
    return sorted(set(repeated + runs))


_PHONE_PLACEHOLDERS = _placeholder_phones()


_EXTENSION = r"(?i)\s*[,;]?\s*(?:x|ext|extn|extension|#)\.?\s*:?\s*\d{1,6}\s*$"
_PUNCTUATION = [" ", "(", ")", "-", ".", "/", "+", "\t"]


def _common_shape(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Columns ``shaped`` (the text is ten digits, or eleven starting with 1, with phone
    punctuation only and no country code but +1) and ``e164`` (its E.164 when it is also
    a valid, non-placeholder North American number)."""
    text = pl.col(column)
    frame = frame.select(
        text.str.replace_many(_PUNCTUATION, [""] * len(_PUNCTUATION)).alias("digits"),
        # "+" starts a North American number only as "+1"; anything else is foreign.
        (text.str.contains("+", literal=True) & ~text.str.contains(r"^\s*\+\s*1")).alias("foreign"),
    )
    digits = pl.col("digits")
    shaped = digits.str.contains(r"^1?\d{10}$") & ~pl.col("foreign")
    frame = frame.select(pl.when(shaped).then(digits.str.slice(-10)).alias("ten"))
    ten = pl.col("ten")
    valid = (
        ten.str.contains(r"^[2-9]\d\d[2-9]")
        & (ten.str.slice(1, 2) != "11")
        & ~ten.is_in(_PHONE_PLACEHOLDERS)
    )
    return frame.select(
        ten.is_not_null().alias("shaped"), pl.when(valid).then(pl.lit("+1") + ten).alias("e164")
    )


def _phone_by_library(value: str) -> str | None:
    # Imported on first use: loading the library's metadata takes ~45 ms, and a file of
    # plain North American numbers (most voter files) never needs it.
    import phonenumbers

    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if e164.startswith("+1") and e164[2:] in _PHONE_PLACEHOLDERS:
        return None
    return e164


def _phone_values(series: pl.Series) -> pl.Series:
    """The common shape over every row; for the other values (an extension, letters, a
    foreign number), once per distinct value: the common shape again after an extension
    is cut off ("x123"), then ``phonenumbers``."""
    raw = series.cast(pl.String)
    common = _common_shape(raw.to_frame("raw"), "raw")
    out = common.get_column("e164").rename(series.name)
    needs = ~common.get_column("shaped") & raw.str.contains(r"\d").fill_null(False)
    positions = needs.arg_true()
    if positions.len() == 0:
        return out
    codes, distinct = distinct_codes(raw.gather(positions))
    cut = distinct.to_frame("raw").with_columns(
        pl.col("raw").str.replace(_EXTENSION, "").alias("main")
    )
    hard = pl.concat([cut, _common_shape(cut, "main")], how="horizontal")
    found = [
        e164 if shaped else _phone_by_library(value)
        for value, shaped, e164 in hard.select("raw", "shaped", "e164").iter_rows()
    ]
    resolved = pl.Series(found, dtype=pl.String).gather(codes)
    return out.scatter(positions, resolved)


def normalize_phone(expr: pl.Expr) -> pl.Expr:
    """Phone text (or integer) → E.164 ("(202) 555-0143" → "+12025550143"); else null."""
    return expr.cast(pl.String).map_batches(
        _phone_values, return_dtype=pl.String, is_elementwise=True
    )


# --------------------------------------------------------------------------- email

_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_SHAPE = rf"^{_ATOM}(?:\.{_ATOM})*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{{2,}}$"
_GMAIL = ("gmail.com", "googlemail.com")
#: Local parts that stand for "no email" (checked after the gmail rules).
EMAIL_PLACEHOLDER_LOCALS: tuple[str, ...] = (
    "none", "noemail", "no-email", "no.email", "nomail", "noreply", "no-reply", "donotreply",
    "do-not-reply", "test", "na", "n/a", "null", "unknown", "nobody", "declined", "refused",
)  # fmt: skip
EMAIL_PLACEHOLDER_DOMAINS: tuple[str, ...] = (
    "noemail.com", "no-email.com", "nomail.com", "none.com", "donotreply.com",
)  # fmt: skip


_GMAIL_SUFFIX = r"@(?:gmail|googlemail)\.com$"


def _email_values(series: pl.Series) -> pl.Series:
    frame = series.cast(pl.String).to_frame("e")
    e = pl.col("e")
    frame = frame.with_columns(e.str.strip_chars().str.to_lowercase())
    locals_ = "|".join(re.escape(w) for w in EMAIL_PLACEHOLDER_LOCALS)
    domains = "|".join(re.escape(w) for w in EMAIL_PLACEHOLDER_DOMAINS)
    bad = ~e.str.contains(_EMAIL_SHAPE) | e.str.contains(rf"^(?:{locals_})@|@(?:{domains})$")
    frame = frame.with_columns(null_if(e, bad))
    frame = frame.with_columns(e.str.contains(_GMAIL_SUFFIX).fill_null(False).alias("gmail"))
    out = frame.get_column("e").rename(series.name)
    positions = frame.get_column("gmail").arg_true()
    if positions.len() == 0:
        return out
    local = e.str.replace(_GMAIL_SUFFIX, "").str.replace(r"\+.*$", "")
    local = local.str.replace_all(".", "", literal=True)
    fixed = pl.when(local.str.len_bytes() > 0).then(local + "@gmail.com")
    gmail = out.gather(positions).to_frame("e").select(fixed).to_series()
    return out.scatter(positions, gmail)


def normalize_email(expr: pl.Expr) -> pl.Expr:
    """Email → trimmed lowercase; gmail dots and ``+suffix`` removed; bad shape → null."""
    return expr.cast(pl.String).map_batches(
        _email_values, return_dtype=pl.String, is_elementwise=True
    )
