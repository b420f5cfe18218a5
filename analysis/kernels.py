"""Numba building blocks of the float64 kernels (head distances, general statistics): a logarithm as exact as
NumPy's that vectorizes, and the fast-math flags that keep the kernels exact.

NumPy takes sums and logarithms in separate passes over memory, with a float64 logarithm that uses no vector
instructions on CPUs without AVX-512; a kernel with this logarithm does it all in one pass, in vector lanes, on all
cores.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

# reassoc lets the sums over cells run in vector lanes, contract fuses multiply-adds; no flag that assumes
# away NaN or infinity, or that approximates divisions or functions. reassoc also lets LLVM regroup
# arithmetic, so tricks that rely on exact rounding (magic-number conversions) do not belong in these kernels.
FASTMATH = {"reassoc", "contract"}
_MANTISSA_BITS = (1 << 52) - 1
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # the float64 bits of sqrt(1/2)
_LOG_2 = 0.6931471805599453


@intrinsic
def _float_bits(typing_context, value):
    """The IEEE 754 bits of a float64, as an int64 (a bit cast, which vectorizes)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typing_context, bits):
    """The float64 whose IEEE 754 bits are the int64 `bits` (a bit cast)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(fastmath=FASTMATH, inline="always")
def log64(x: float) -> float:
    """log x for a positive, normal float64 to a relative error below 2e-15, in operations that vectorize.

    x = 2^k y with y in [sqrt(1/2), sqrt(2)), split from the bits of x less those of sqrt(1/2);
    log y = 2 atanh(t) with t = (y - 1) / (y + 1), |t| < 0.172, summed as 2 t (1 + t^2 / 3 + ... + t^16 / 17)
    in Estrin's scheme: the first term left out, 2 t^19 / 19, is below 3e-16.
    """
    bits = _float_bits(x)
    shifted = bits - _SQRT_HALF_BITS
    # k fits in an int32, which converts to float64 in vector lanes (an int64 does not, without AVX-512).
    exponent = np.float64(np.int32(shifted >> 52))
    y = _bits_float(bits - (shifted & ~_MANTISSA_BITS))
    t = (y - 1.0) / (y + 1.0)
    t2 = t * t
    t4 = t2 * t2
    t8 = t4 * t4
    low = 1.0 + t2 * (1.0 / 3.0) + t4 * (1.0 / 5.0 + t2 * (1.0 / 7.0))
    high = 1.0 / 9.0 + t2 * (1.0 / 11.0) + t4 * (1.0 / 13.0 + t2 * (1.0 / 15.0))
    series = low + t8 * (high + t8 * (1.0 / 17.0))
    return exponent * _LOG_2 + 2.0 * t * series


_HALF_SUBNORMAL_STEP = 2.0**-24  # the value of the lowest mantissa bit of a subnormal half


@njit(fastmath=FASTMATH, inline="always")
def _half_bits_float(bits: int) -> float:
    """The float64 value of a finite IEEE 754 half-precision number from its 16 bits, in integer operations that
    vectorize (NumPy's float16 conversion takes longer than the kernels it would feed)."""
    bits = np.int64(bits)
    sign, exponent, mantissa = bits >> 15, (bits >> 10) & 0x1F, bits & 0x3FF
    normal = _bits_float((sign << 63) | ((exponent + 1008) << 52) | (mantissa << 42))
    subnormal = (1.0 - 2.0 * sign) * mantissa * _HALF_SUBNORMAL_STEP
    return normal if exponent != 0 else subnormal


def as_float64(value: float) -> float:
    """In a kernel: the float64 value of a float32 or float64, or of a float16 passed as its bits (`uint16`, from
    `array.view(np.uint16)`: numba has no float16 on CPUs)."""
    return float(value)


@overload(as_float64, inline="always")
def _as_float64(value):
    if isinstance(value, types.Integer):
        return lambda value: _half_bits_float(value)
    return lambda value: np.float64(value)
