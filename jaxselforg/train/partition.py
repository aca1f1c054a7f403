"""Partial training: different optimizers (or none) for different parts of one network.

``optax.partition`` does the work; this module adds what it leaves to the user:
labelling parameters by their path, a frozen label, and a clear error when a label
matches no parameter or a parameter no label -- at ``init``, before any step::

    optimizer = train.partition(
        {"encoder": optax.adam(1e-4), "head": optax.adam(1e-3)},   # fine-tune slowly
        {"encoder": "encoder", "head": "head"})
    optimizer = train.partition({"head": optax.adam(1e-3), "frozen": None},
                                {"head": "head", "": "frozen"})     # train the head only

A ``None`` transformation freezes its parameters: ``optax.set_to_zero`` gives them
zero updates, so they stay bit-identical.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping

import jax
import optax

__all__ = ["parameter_labels", "partition"]


def _path_name(path) -> str:
    return "/".join(str(getattr(e, "key", getattr(e, "name", getattr(e, "idx", e))))
                    for e in path)


def parameter_labels(params, labels: Mapping[str, Hashable] | Callable[[str], Hashable]):
    """The label of every parameter: a pytree like ``params`` of labels.

    Args:
      params: a nested dict of parameters (``state.params[role]``).
      labels: ``{path prefix: label}`` -- a parameter's path is its dict keys joined
        by ``/`` (``"encoder/layers/0/kernel"``); the longest prefix that matches
        whole path components wins and ``""`` matches everything -- or a function
        ``path -> label``.

    Raises:
      ValueError: a parameter matches no prefix.
    """
    def label(path, _):
        name = _path_name(path)
        if callable(labels):
            return labels(name)
        matches = [prefix for prefix in labels
                   if prefix == "" or name == prefix or name.startswith(prefix.rstrip("/") + "/")]
        if not matches:
            raise ValueError(f"Parameter {name!r} matches no label prefix of {sorted(labels)}; "
                             "add its prefix, or '' for a default label.")
        return labels[max(matches, key=len)]

    return jax.tree_util.tree_map_with_path(label, params)


def partition(
    transforms: Mapping[Hashable, optax.GradientTransformation | None],
    labels: Mapping[str, Hashable] | Callable[[str], Hashable],
) -> optax.GradientTransformation:
    """``optax.partition`` over parameters labelled by path, with frozen labels.

    Args:
      transforms: ``{label: Optax transformation}``; ``None`` freezes the label's
        parameters (zero updates).
      labels: as :func:`parameter_labels`.

    Returns:
      An Optax transformation whose ``init`` checks the labelling: every label
      used has a transformation, and every transformation's label matches at least
      one parameter.

    Raises:
      ValueError: (at ``init``) a label without a transformation, a transformation
        whose label matches no parameter, or a parameter matching no label.
    """
    if not transforms:
        raise ValueError("partition needs at least one {label: transformation}.")
    inner = {label: optax.set_to_zero() if tx is None else tx for label, tx in transforms.items()}

    def label_fn(params):
        return parameter_labels(params, labels)

    combined = optax.partition(inner, label_fn)

    def init(params):
        used = set(jax.tree.leaves(label_fn(params)))
        missing = sorted(map(str, used - set(inner)))
        if missing:
            raise ValueError(f"Parameters are labelled {missing}, which have no "
                             f"transformation; the transformations are {sorted(map(str, inner))}.")
        unused = sorted(map(str, set(inner) - used))
        if unused:
            raise ValueError(f"Partition label(s) {unused} match no parameter; the labels "
                             f"in use are {sorted(map(str, used))}.")
        return combined.init(params)

    return optax.GradientTransformation(init, combined.update)
