"""Exact rational numbers: decimal literals read exactly, rational powers and roots, a size limit.

Shared by the symbolic algebra (ops/algebra.py folds constants exactly) and exact evaluation
(exact.py). Every function here either returns an exact Fraction, says the result is not
rational (None), or raises; none of them computes a number larger than MAX_DIGITS digits,
so `9^9^9^9` fails at once instead of computing hundreds of millions of digits.
"""

import math
import re
from fractions import Fraction

MAX_DIGITS = 4_000     # below Python's 4,300-digit limit on int <-> str conversion
MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))   # the same limit, counted in bits

DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?\Z")
RATIO = re.compile(r"([+-]?[0-9]+)/([0-9]+)\Z")


class TooLarge(ArithmeticError):
    """An exact number would have more than MAX_DIGITS digits."""


def check_size(value: Fraction) -> Fraction:
    if value.numerator.bit_length() > MAX_BITS or value.denominator.bit_length() > MAX_BITS:
        raise TooLarge(f"an exact number with more than {MAX_DIGITS:,} digits")
    return value


def parse_exact(text: str):
    """A decimal literal (`2.5`, `.5`, `1e-3`) or a ratio (`1/3`) as an exact Fraction; None if the
    text is neither. The exponent is checked before any power of ten is computed."""
    text = text.strip()
    match = DECIMAL.match(text)
    if match and (match.group(2) or match.group(3)):
        sign, whole, fraction, exponent = match.groups()
        digits = (whole + (fraction or "")).lstrip("0")
        if not digits:
            return Fraction(0)
        if exponent and len(exponent.lstrip("+-").lstrip("0")) > len(str(MAX_DIGITS)) + 1:
            raise TooLarge(f"{_short(text)} has more than {MAX_DIGITS:,} digits")
        scale = int(exponent or 0) - len(fraction or "")
        if len(digits) + scale > MAX_DIGITS or -scale > MAX_DIGITS:
            raise TooLarge(f"{_short(text)} has more than {MAX_DIGITS:,} digits")
        value = Fraction(int(digits)) * (Fraction(10) ** scale)
        return -value if sign == "-" else value
    match = RATIO.match(text)
    if match:
        numerator, denominator = match.groups()
        if len(numerator) > MAX_DIGITS or len(denominator) > MAX_DIGITS:
            raise TooLarge(f"{_short(text)} has more than {MAX_DIGITS:,} digits")
        if int(denominator) == 0:
            raise ZeroDivisionError(f"{text}: division by zero")
        return Fraction(int(numerator), int(denominator))
    return None


def integer_root(n: int, k: int):
    """The exact k-th root of a non-negative integer, or None when n is not a k-th power."""
    if n < 2:
        return n
    if k > n.bit_length():
        return None
    root = 1 << -(-n.bit_length() // k)          # a power of two at or above the root
    while True:                                  # Newton's method on integers, from above
        smaller = ((k - 1) * root + n // root ** (k - 1)) // k
        if smaller >= root:
            break
        root = smaller
    return root if root ** k == n else None


def power(base: Fraction, exponent: Fraction):
    """base^exponent exactly, or None when the result is irrational.

    Raises ValueError for a negative base with a non-integer exponent (the float rule),
    ZeroDivisionError for 0 to a negative power, TooLarge beyond MAX_DIGITS digits.
    """
    base, exponent = Fraction(base), Fraction(exponent)
    if exponent == 0:
        return Fraction(1)
    if base == 0:
        if exponent < 0:
            raise ZeroDivisionError("0 to a negative power")
        return Fraction(0)
    p, q = exponent.numerator, exponent.denominator
    if q != 1:
        if base < 0:
            raise ValueError("a negative base needs an integer exponent")
        numerator, denominator = integer_root(base.numerator, q), integer_root(base.denominator, q)
        if numerator is None or denominator is None:
            return None
        base = Fraction(numerator, denominator)
    if abs(base) == 1:
        return base ** p
    size = max(base.numerator.bit_length(), base.denominator.bit_length()) - 1
    if size * abs(p) > MAX_BITS:
        raise TooLarge(f"{_short(str(base))}^{p} has more than {MAX_DIGITS:,} digits")
    return check_size(base ** p)


def logarithm(value: Fraction, base: int):
    """log_base(value) when it is an integer (log2(8) = 3, log10(1/100) = -2), else None."""
    numerator, denominator = value.numerator, value.denominator
    if value <= 0:
        return None
    flipped = numerator < denominator
    n = denominator if flipped else numerator
    if (numerator if flipped else denominator) != 1:
        return None
    count = 0
    while n % base == 0:
        n //= base
        count += 1
    if n != 1:
        return None
    return Fraction(-count if flipped else count)


def decimal_text(value: Fraction, max_digits: int = 20):
    """The exact decimal text of a terminating fraction (`0.125`, `2.5e-30`), or None when the
    expansion does not terminate or needs more than max_digits significant digits."""
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        return None
    places = max(twos, fives)
    scaled = abs(value.numerator) * 10 ** places // value.denominator
    digits = str(scaled)
    if len(digits) > max_digits:
        return None
    sign = "-" if value < 0 else ""
    if places == 0:
        return sign + digits
    if places - len(digits) > 5:              # 1e-30 rather than thirty zeros
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{len(digits) - 1 - places}"
    if places < len(digits):
        return f"{sign}{digits[:-places]}.{digits[-places:]}"
    return f"{sign}0.{'0' * (places - len(digits))}{digits}"


def fraction_text(value: Fraction) -> str:
    """`220`, `11/5`, `-1/3`: how exact results are printed."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width // 2] + "…" + text[-width // 2:]
