"""User-facing errors. Each message says what went wrong and what to do instead."""


class FxadError(Exception):
    """Base class of fxad's own errors."""


class ConcretizationTypeError(FxadError, TypeError):
    """A Python-level decision (`if`, `bool()`, `int()`) needed a value that is only abstract."""


class TracerArrayConversionError(FxadError, TypeError):
    """A traced value was converted to a NumPy array, which would silently drop derivatives."""


class UnexpectedTracerError(FxadError):
    """A traced value was used after the transform that created it had finished."""


def concretization_error(aval, what, depends_on=()):
    source = (f" It depends on the argument(s) {', '.join(depends_on)}." if depends_on else "")
    return ConcretizationTypeError(
        f"{what} needs a concrete value, but got an abstract traced value of type {aval}."
        f"{source} "
        "This happens under `fxad.jit` or `make_jaxpr`, where only shapes and dtypes are known. "
        "Use `fxad.numpy.where` or `fxad.lax.cond`/`while_loop` for value-dependent control "
        "flow, or mark the argument static with `static_argnums`.")


def array_conversion_error(tracer):
    if tracer.dtype.kind in "iub":               # most likely an index: nothing to drop
        return TracerArrayConversionError(
            f"Cannot convert the traced value {tracer!r} to a NumPy array: its value is not "
            "known here (under jit/make_jaxpr it has none yet; under vmap it differs across "
            "the batch). To index a NumPy array `table` with it, use "
            "`fxad.numpy.at(table)[i].get()` or `fxad.numpy.take(table, i)`; to store it into a NumPy array `buf`, use `buf = fxad.numpy.at(buf)[i].set(x)`.")
    return TracerArrayConversionError(
        f"Cannot convert the traced value {tracer!r} to a NumPy array: that would silently drop "
        "its derivatives. Use `fxad.numpy` functions (or plain NumPy functions that fxad "
        "supports) on traced values instead (to store it into a NumPy array `buf`, use "
        "`buf = fxad.numpy.at(buf)[i].set(x)`); to take the value without its derivatives, "
        "use `fxad.stop_gradient` first and convert the result outside the transform.")


def stored_tracer_error():
    return TracerArrayConversionError(
        "A traced value cannot be stored into a NumPy array (`buf[i] = x`, with `buf` a "
        "NumPy array and `x` traced): a NumPy array holds only plain numbers, so that "
        "would drop x's derivatives (or, under `jit`, x has no value yet). Make `buf` a "
        "traced array instead: `buf = fxad.numpy.at(buf)[i].set(x)` (from then on "
        "`buf[j] = y` works too), or collect the values in a list and use "
        "`fxad.numpy.stack(values)`.")


def escaped_tracer_error(tracer):
    return UnexpectedTracerError(
        f"Encountered a traced value {tracer!r} outside the transform that created it. "
        "A value computed inside `grad`/`jvp`/`vjp`/`jit` was stored (in a global, a closure "
        "or an object attribute) and used after that transform had returned. Return such "
        "values from the transformed function instead of storing them.")
