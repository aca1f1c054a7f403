"""Input checks shared by the public entry points, and the one policy for traced values.

Shape checks run at trace time (shapes are static) and always raise ``ValueError``.
Value checks (NaN/Inf, negative weights, ranges of hyperparameters) raise
``ValueError`` on concrete arrays, i.e. at eager entry points. A traced value (under
``jit``, ``vmap``, ``grad``) cannot be inspected without a host round-trip, so the
policy under tracing is **NaN in, NaN out**: wherever such a check cannot raise, every
float result that depends on the bad value is NaN, never a finite, plausible number.

* ``nan_unless(valid, value)`` is how a traced check reports: a traced Minkowski
  ``p <= 0`` makes every distance NaN.
* ``power_of_two_scale`` (the exact rescaling that keeps squares and powers inside
  float32) is NaN for non-finite data, so a NaN anywhere in a problem makes all of
  its distances, k-means centres and inertia, and SOM weights NaN; under ``vmap``
  only the bad problem of the batch.
* Integer results (nearest indices, labels, winners, counts) cannot be NaN: whatever a
  bad traced value decided is -1 (``minus_one_unless``), an index no valid result has,
  and the float results returned with them (distances, inertia) are NaN. A mixture's
  log-likelihood is NaN (-inf for a fit that broke down, e.g. covariances beyond
  float32).
* A checked value comes back poisoned: ``hyperparameter`` (learning rates, sigma, tol,
  temperature, weights), ``sample_weight``, ``unit_interval``, ``images`` and ``binary``
  return a traced value with NaN wherever the eager call would have raised, so whatever
  is computed from it is NaN. Where a value only enters through a comparison (a
  tolerance, a threshold, a Bernoulli draw), its caller passes the result through
  ``nan_unless(jnp.isfinite(value), result)``; integer indices out of range are reported
  the same way, through ``nan_unless(in_range(indices, n), result)``.
* Concrete values stay concrete: a check called inside a caller's ``jit`` on a closed-over
  array or a Python number raises as the eager call does.

No ``checkify``: it would make every caller handle an error value, and a sweep would
lose its good runs to one bad one.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike


def is_concrete(x) -> bool:
    """True when ``x`` holds values we can inspect now (no tracer, also inside a list)."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def asarray(x) -> jax.Array:
    """``jnp.asarray(x)``, concrete when ``x`` is (inside a trace ``jnp.asarray`` of a
    Python number or a numpy array would be a tracer, and its checks could not run)."""
    return jnp.asarray(x) if not is_concrete(x) else eager(lambda: jnp.asarray(x))


def at_least_float32(x: jax.Array) -> jax.Array:
    """``x`` in float32 when it is float16 or bfloat16 (whose squares overflow at a few
    hundred and which XLA's linear algebra does not take); wider floats as they are."""
    return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def as_float_array(x: ArrayLike, name: str) -> jax.Array:
    """Converts ``x`` to a floating JAX array (integers become the default float)."""
    try:
        arr = asarray(x)
    except TypeError as err:
        raise ValueError(f"{name} must be an array of numbers; got {type(x).__name__}.") from err
    if not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)
            or arr.dtype == jnp.bool_):
        raise ValueError(f"{name} must hold real numbers; got dtype {arr.dtype}.")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = eager(lambda: arr.astype(jnp.result_type(float))) if is_concrete(arr) else \
            arr.astype(jnp.result_type(float))
    return arr


def check_rank(x: jax.Array, rank: int, name: str, shape_doc: str) -> None:
    """Raises if ``x`` does not have ``rank`` dimensions or has a zero-sized one."""
    if x.ndim != rank:
        raise ValueError(f"{name} must have shape {shape_doc}; got shape {tuple(x.shape)}.")
    if x.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {tuple(x.shape)}.")


def eager(fn):
    """Evaluates ``fn()`` now, on the device, even while a caller is being traced.

    A library function called inside another's trace (a closure over a concrete array)
    would otherwise stage its value checks into the trace and could not branch on them.
    """
    with jax.ensure_compile_time_eval():
        return fn()


def all_finite(x: ArrayLike) -> jax.Array:
    """Whether every entry of ``x`` is finite, as one float sum: sum(x * 0) is 0, or NaN
    when any entry is NaN or +-Inf. XLA on CPU reduces booleans (``all(isfinite)``)
    about 5x slower than floats: 30 ms against 6 ms for Fashion-MNIST's 47M pixels."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.asarray(True)
    return jnp.isfinite(jnp.sum(x * jnp.zeros((), x.dtype)))


# One fused pass: op by op, x * 0 would first be written out whole (50 ms for 47M pixels).
_all_finite_compiled = jax.jit(all_finite)


def check_finite(x: jax.Array, name: str) -> None:
    """Raises if a concrete ``x`` holds NaN or Inf (no-op under tracing)."""
    if is_concrete(x) and not eager(lambda: bool(_all_finite_compiled(x))):
        n_bad = eager(lambda: int(jnp.sum(~jnp.isfinite(x))))
        raise ValueError(
            f"{name} contains {n_bad} NaN or Inf value(s); only finite values are accepted."
        )


def nan_unless(valid: ArrayLike, value):
    """``value`` where ``valid``, NaN elsewhere: how a traced check reports failure.

    The traced half of the module's policy: a check that cannot raise inside a trace
    replaces the results that depend on the bad value by NaN (``valid`` broadcasts
    against ``value``). ``value`` may be a pytree (a fit's result): every float leaf is
    replaced; integer and boolean leaves are returned as they are, a float result next
    to them carries the failure.
    """
    def poison(leaf):
        if isinstance(leaf, jax.Array | np.ndarray | float) and jnp.issubdtype(
                jnp.result_type(leaf), jnp.inexact):
            return jnp.where(valid, leaf, jnp.nan)
        return leaf

    if isinstance(value, jax.Array | np.ndarray):
        return poison(value) if jnp.issubdtype(value.dtype, jnp.inexact) else value
    return jax.tree.map(poison, value)


def minus_one_unless(valid: ArrayLike, indices: jax.Array) -> jax.Array:
    """``indices`` where ``valid``, -1 elsewhere: ``nan_unless`` for integer results.

    A label, winner or count cannot be NaN; under tracing, one decided by a bad value
    is -1, an index no valid result has (``valid`` broadcasts against ``indices``).
    """
    return jnp.where(valid, indices, jnp.asarray(-1, jnp.asarray(indices).dtype))


def in_range(indices: jax.Array, n: int) -> jax.Array:
    """True when every entry of the integer ``indices`` lies in ``[0, n)``: the traced
    check of labels and indices (a gather clamps, a segment sum drops, and neither says
    so), for ``nan_unless(in_range(labels, k), result)``."""
    return jnp.all((indices >= 0) & (indices < n))


def power_of_two_scale(*arrays: jax.Array) -> jax.Array:
    """s = 2^e, the power of two just above max |a| over ``arrays`` (1 if all are 0).

    Dividing by s brings data into [-1, 1] exactly (a power of two changes exponents,
    not digits), so code whose squares or powers would over- or underflow float32 runs
    on ``a / s`` and rescales its answer; at ordinary magnitudes the answer is bit for
    bit the unscaled one. A NaN or Inf in any array makes s NaN (this module's traced
    policy: the results carry the failure). No gradient flows through s.
    """
    arrays = [jax.lax.stop_gradient(a) for a in arrays]
    largest = functools.reduce(jnp.maximum, [jnp.max(jnp.abs(a)) for a in arrays])
    # Asked separately: XLA's vectorised max on CPU can drop a NaN.
    finite = functools.reduce(jnp.logical_and, [all_finite(a) for a in arrays])
    dtype = largest.dtype
    _, exponent = jnp.frexp(largest)
    top = jnp.finfo(dtype).maxexp - 1  # 2^maxexp itself overflows
    scale = jnp.ldexp(jnp.ones((), dtype), jnp.minimum(exponent, top))
    return nan_unless(finite, jnp.where(largest > 0, scale, 1.0))


def check_nonnegative(x: jax.Array, name: str) -> None:
    """Raises if a concrete ``x`` has a negative entry (no-op under tracing)."""
    if is_concrete(x) and eager(lambda: bool(jnp.any(x < 0))):
        raise ValueError(f"{name} must be non-negative; got minimum {eager(lambda: x.min())}.")


def hyperparameter(value: ArrayLike, name: str, *, minimum: float = 0.0,
                   strict: bool = False, maximum: float | None = None,
                   strict_maximum: bool = False, reason: str = "") -> ArrayLike:
    """``value`` itself, after a concrete one is checked finite and in range, every
    entry: >= ``minimum`` (> with ``strict``) and, when given, <= ``maximum`` (< with
    ``strict_maximum``). A traced one comes back as a float array that is NaN wherever it
    is out of range or not finite (the module's traced policy: whatever is computed from
    it is NaN, not a plausible number).

    Args:
      reason: why the range, said in the message (e.g. "the inverse of the L2
        strength").

    Raises:
      ValueError: a concrete value (or entry) that is NaN, Inf or out of range.
    """
    array = as_float_array(value, name)

    def in_bounds(a):
        low = a > minimum if strict else a >= minimum
        if maximum is None:
            return low & jnp.isfinite(a)
        high = a < maximum if strict_maximum else a <= maximum
        return low & high & jnp.isfinite(a)

    if not is_concrete(array):
        return nan_unless(in_bounds(array), array)
    check_finite(array, name)
    if not eager(lambda: bool(jnp.all(in_bounds(array)))):
        bound = f"> {minimum}" if strict else f">= {minimum}"
        if maximum is not None:
            bound += f" and {'<' if strict_maximum else '<='} {maximum}"
        if isinstance(value, int | float) and not isinstance(value, bool):
            worst = repr(value)  # as the caller wrote it
        else:
            worst = eager(lambda: array.ravel()[jnp.argmin(in_bounds(array).ravel())].item())
            worst = f"{worst:.6g}"
        why = f" ({reason})" if reason else ""
        raise ValueError(f"{name} must be {bound}{why}; got {worst}.")
    return value


def nonnegative_weight(value: ArrayLike, name: str) -> ArrayLike:
    """``value`` itself, after a concrete one is checked finite and >= 0 (a traced one
    enters the loss as it is: the caller's)."""
    return hyperparameter(value, name, minimum=0.0)


def sample_weight(weights: ArrayLike | None, n: int, dtype) -> jax.Array:
    """Validated ``[n]`` non-negative sample weights with a positive sum (None: all ones).

    Traced weights with a negative or non-finite entry, or a zero sum, come back all NaN.

    Raises:
      ValueError: not a finite ``[n]`` vector, a negative weight, or a zero sum.
    """
    if weights is None:
        return jnp.ones(n, dtype)
    weights = vector(weights, "sample_weight", size=n)
    if not is_concrete(weights):
        valid = jnp.all((weights >= 0) & jnp.isfinite(weights)) & (jnp.sum(weights) > 0)
        return nan_unless(valid, weights).astype(dtype)
    check_nonnegative(weights, "sample_weight")
    if not eager(lambda: float(weights.sum())) > 0:
        raise ValueError("sample_weight must have a positive sum; got all weights zero.")
    return weights.astype(dtype)


_BINARIZE_HINT = "binarize the pixels first (jaxselforg.data.binarize or dynamic_binarize)"


def binary(x: jax.Array, name: str, purpose: str, hint: str = _BINARIZE_HINT) -> jax.Array:
    """``x`` after a concrete one is checked to hold only 0 and 1 (traced: NaN in place
    of any other value).

    Raises:
      ValueError: another value (grey levels, NaN), naming ``purpose`` and the fix
        (``hint``; by default, binarizing pixels).
    """
    if not is_concrete(x):
        return nan_unless((x == 0) | (x == 1), x)
    if not eager(lambda: bool(jnp.all((x == 0) | (x == 1)))):
        raise ValueError(f"{name} must be binary (every value 0 or 1) for {purpose}; {hint}.")
    return x


def _unit_or_nan(arr: jax.Array) -> jax.Array:
    """A traced ``arr`` with NaN in place of every value outside [0, 1]."""
    return nan_unless((arr >= 0) & (arr <= 1), arr)


def unit_interval(x: ArrayLike, name: str, purpose: str) -> jax.Array:
    """``x`` as a float array after a concrete one is checked to lie in [0, 1] (traced:
    NaN in place of every value outside it).

    Raises:
      ValueError: values outside [0, 1] or NaN, naming ``purpose`` and the fix for
        uint8 pixels (``jaxselforg.data.to_unit_range``).
    """
    host = x if isinstance(x, np.ndarray) else None
    arr = as_float_array(x, name)
    if not is_concrete(arr):
        return _unit_or_nan(arr)
    if arr.size:
        low, high = value_range(host if host is not None else arr)
        if not (0.0 <= low and high <= 1.0):  # also False for NaN
            hint = (" (uint8 pixels 0..255: scale them with jaxselforg.data.to_unit_range)"
                    if high > 1.0 else "")
            raise ValueError(f"{purpose} expects {name} in [0, 1]; got values in "
                             f"[{low}, {high}]{hint}.")
    return arr


def concrete_max(x: jax.Array) -> int | float | None:
    """``max(x)`` as a Python number, or None when ``x`` is traced."""
    return eager(lambda: x.max().item()) if is_concrete(x) else None


def matrix(x: ArrayLike, name: str, *, features: int | None = None) -> jax.Array:
    """Validates a data matrix ``[n, d]``: float, non-empty, finite, ``d == features``."""
    arr = as_float_array(x, name)
    check_rank(arr, 2, name, "[n, d]")
    if features is not None and arr.shape[1] != features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features but {features} were expected "
            f"(shape {tuple(arr.shape)})."
        )
    check_finite(arr, name)
    return arr


def vector(x: ArrayLike, name: str, *, size: int | None = None) -> jax.Array:
    """Validates a vector ``[d]``: float, non-empty, finite, ``d == size``."""
    arr = as_float_array(x, name)
    check_rank(arr, 1, name, "[d]")
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"{name} must have length {size}; got {arr.shape[0]}.")
    check_finite(arr, name)
    return arr


def labels(x: ArrayLike, name: str, *, size: int | None = None) -> jax.Array:
    """Validates an integer label vector ``[n]`` with non-negative entries."""
    arr = asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        if is_concrete(arr) and jnp.issubdtype(arr.dtype, jnp.floating) and eager(
            lambda: bool(jnp.all(arr == jnp.round(arr)))
        ):
            arr = arr.astype(jnp.int32)
        else:
            raise ValueError(f"{name} must hold integer labels; got dtype {arr.dtype}.")
    check_rank(arr, 1, name, "[n]")
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"{name} must have {size} entries to match the data; got {arr.shape[0]}.")
    if is_concrete(arr) and eager(lambda: bool(jnp.any(arr < 0))):
        raise ValueError(f"{name} must be non-negative integers; got minimum "
                         f"{eager(lambda: int(arr.min()))}.")
    return arr


def class_labels(x: ArrayLike, name: str, *, size: int | None = None,
                 n_classes: int | None = None) -> tuple[jax.Array, int]:
    """Validates class labels ``[n]`` in ``[0, n_classes)``: ``(labels, n_classes)``.

    ``n_classes`` defaults to ``max(labels) + 1`` (the labels must then be concrete).

    Raises:
      ValueError: as :func:`labels`, a label >= ``n_classes``, or traced labels
        without ``n_classes``.
    """
    arr = labels(x, name, size=size)
    top = concrete_max(arr)
    if n_classes is None:
        if top is None:
            raise ValueError(f"n_classes is needed when {name} are traced.")
        n_classes = top + 1
    n_classes = positive_int(n_classes, "n_classes")
    if top is not None and top >= n_classes:
        raise ValueError(f"{name} must be in [0, {n_classes}); got label {top}.")
    return arr, n_classes


def choice(value: str, accepted: Sequence[str], name: str) -> str:
    """Raises unless ``value`` is one of ``accepted``."""
    if value not in accepted:
        raise ValueError(f"Unknown {name} {value!r}; accepted: {', '.join(map(repr, accepted))}.")
    return value


def positive_int(value, name: str, *, at_most: int | None = None,
                 bound: str = "the number of points", minimum: int = 1) -> int:
    """Validates a static integer (a shape or a count) of at least ``minimum`` (1: a
    positive integer; 0: a non-negative one), at most ``at_most`` (``bound`` names that
    limit in the message) when given."""
    kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be {kind}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be {kind}; got {value}.")
    if at_most is not None and value > at_most:
        raise ValueError(f"{name} must be <= {bound} {at_most}; got {name}={value}.")
    return int(value)


def prng_key(key, name: str = "key", *, allow_batch: bool = False) -> jax.Array:
    """A single typed PRNG key from ``key`` (a ``jax.random.key`` or its uint32 data),
    or with ``allow_batch`` also a ``[n]`` batch of them (the runs of a sweep).

    Raises:
      ValueError: an int seed, a float/int array or a batch of keys, naming what is
        expected (``jax.random.key(0)``).
    """
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        raise ValueError(f"{name} must be a PRNG key, e.g. jax.random.key({int(key)}); got the "
                         f"int {int(key)}.")
    try:
        key = asarray(key)
    except TypeError as err:
        raise ValueError(f"{name} must be a PRNG key (jax.random.key(seed)); got "
                         f"{type(key).__name__}.") from err
    if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.dtype != jnp.uint32 or key.shape[-1:] != (2,):
            raise ValueError(f"{name} must be a PRNG key (jax.random.key(seed)) or its uint32 "
                             f"key data; got an array of dtype {key.dtype} and shape "
                             f"{tuple(key.shape)}.")
        key = jax.random.wrap_key_data(key)
    if allow_batch and key.ndim == 1:
        return key
    if key.ndim:
        accepted = "a single PRNG key or a [n_runs] batch" if allow_batch else "a single PRNG key"
        raise ValueError(f"{name} must be {accepted}; got keys of shape {tuple(key.shape)} "
                         "(split a key and pass one).")
    return key


def value_range(x) -> tuple[float, float]:
    """``(min, max)`` of a concrete array, computed where it lives: numpy input on the
    host, a device array on its device (two scalars come back, not the array)."""
    if isinstance(x, np.ndarray):
        return float(np.min(x)), float(np.max(x))
    low, high = eager(lambda: jnp.stack([jnp.min(x), jnp.max(x)]).tolist())
    return float(low), float(high)


def image_shape(value, name: str = "image_shape") -> tuple[int, int]:
    """Validates a static ``(height, width)`` of positive integers."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be (height, width); got {value!r}.")
    return tuple(positive_int(side, f"{name} entry") for side in value)


def image_stack(x: ArrayLike, name: str = "images") -> jax.Array:
    """``x`` as float images ``[n, h, w]`` of any size (values are checked by :func:`images`
    once the size is known).

    Raises:
      ValueError: not three axes.
    """
    arr = as_float_array(x, name)
    if arr.ndim != 3:
        raise ValueError(f"{name} must be [n, h, w]; got shape {tuple(arr.shape)}.")
    return arr


def labelled_images(x: ArrayLike, y: ArrayLike, image_shape: tuple[int, int], n_classes: int,
                    names: tuple[str, str] = ("images", "labels")) -> tuple[jax.Array, jax.Array]:
    """``(images, labels)`` checked by :func:`images` and :func:`class_labels` (one label
    in ``[0, n_classes)`` per image)."""
    images_name, labels_name = names
    arr = images(x, image_shape, images_name)
    return arr, class_labels(y, labels_name, size=arr.shape[0], n_classes=n_classes)[0]


def images(x: ArrayLike, image_shape: tuple[int, int], name: str = "images") -> jax.Array:
    """Validates ``[n, h, w]`` float images with values in [0, 1] (traced: NaN in place
    of every value outside [0, 1]).

    Raises:
      ValueError: another shape, no images, or (concrete) values outside [0, 1] or NaN.
    """
    host = x if isinstance(x, np.ndarray) else None
    arr = as_float_array(x, name)
    h, w = image_shape
    if arr.ndim != 3 or tuple(arr.shape[1:]) != tuple(image_shape) or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape [n, {h}, {w}] with n >= 1; got "
                         f"{tuple(arr.shape)}.")
    if not is_concrete(arr):
        return _unit_or_nan(arr)
    low, high = value_range(host if host is not None else arr)
    if not (0.0 <= low and high <= 1.0):  # also False for NaN
        raise ValueError(
            f"{name} must hold values in [0, 1] (pixel intensities or probabilities; "
            f"scale uint8 pixels with jaxselforg.data.to_unit_range); got values in "
            f"[{low}, {high}].")
    return arr


def latents(z: ArrayLike, latent_dim: int, name: str = "z") -> jax.Array:
    """Validates latent codes ``[n, latent_dim]``, finite when concrete.

    Raises:
      ValueError: another shape, no rows, or (concrete) NaN/Inf entries.
    """
    arr = as_float_array(z, name)
    if arr.ndim != 2 or arr.shape[1] != latent_dim or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape [n, {latent_dim}] with n >= 1; got "
                         f"{tuple(arr.shape)}.")
    if is_concrete(arr) and not eager(lambda: bool(jnp.all(jnp.isfinite(arr)))):
        raise ValueError(f"{name} holds NaN or Inf; only finite latent codes are accepted.")
    return arr
