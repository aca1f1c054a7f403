"""Schedules against their closed formulas and optax's own schedules."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxselforg import schedules

A0, A1, TOTAL = 0.5, 0.02, 11
# The first, a middle and the last update.
COUNTS = np.array([0, 5, TOTAL - 1])
P = COUNTS / (TOTAL - 1)

CLOSED_FORMS = {
    "exponential": A0 * (A1 / A0) ** P,
    "linear": A0 + (A1 - A0) * P,
    "inverse_time": A0 / (1.0 + (A0 / A1 - 1.0) * P),
    "asymptotic": A0 / (1.0 + COUNTS / (TOTAL / 2.0)),
    "constant": np.full(3, A0),
}


@pytest.mark.parametrize("kind", schedules.SCHEDULES)
def test_each_kind_is_its_closed_formula_at_the_first_a_middle_and_the_last_update(kind):
    value = schedules.schedule(kind, A0, A1, total=TOTAL)
    np.testing.assert_allclose(value(COUNTS), CLOSED_FORMS[kind], rtol=1e-6)
    # One count at a time (a Python int, as optax passes it) gives the same values.
    np.testing.assert_allclose([float(value(int(c))) for c in COUNTS], CLOSED_FORMS[kind],
                               rtol=1e-6)
    assert value(COUNTS).dtype == jnp.float32


def test_the_exponential_is_the_lectures_alpha0_exp_of_minus_n_over_tau():
    tau = (TOTAL - 1) / np.log(A0 / A1)
    np.testing.assert_allclose(schedules.exponential(A0, tau=tau)(COUNTS),
                               A0 * np.exp(-COUNTS / tau), rtol=1e-6)
    np.testing.assert_allclose(schedules.exponential(A0, tau=tau)(COUNTS),
                               schedules.schedule("exponential", A0, A1, total=TOTAL)(COUNTS),
                               rtol=1e-5)


def test_kinds_equal_optaxs_own_schedules_where_optax_has_them():
    counts = np.arange(TOTAL)
    pairs = [
        (schedules.schedule("exponential", A0, A1, total=TOTAL),
         optax.exponential_decay(A0, TOTAL - 1, A1 / A0)),
        (schedules.schedule("linear", A0, A1, total=TOTAL),
         optax.linear_schedule(A0, A1, TOTAL - 1)),
        (schedules.schedule("constant", A0, total=TOTAL), optax.constant_schedule(A0)),
        (schedules.cosine_decay(A0, 7), optax.cosine_decay_schedule(A0, 7)),
        (schedules.piecewise_constant((0.5, 0.9, 0.99), (3, 6)),
         optax.piecewise_constant_schedule(0.5, {3: 0.9 / 0.5, 6: 0.99 / 0.9})),
    ]
    for ours, theirs in pairs:
        # atol: float32 cancellation in 1 + cos(x) near x = pi.
        np.testing.assert_allclose(ours(counts), [theirs(int(c)) for c in counts], rtol=1e-6,
                                   atol=1e-7)


def test_cosine_decay_with_no_decay_steps_is_constant():
    np.testing.assert_allclose(schedules.cosine_decay(0.1, 0)(np.arange(5)), 0.1, rtol=1e-7)
    np.testing.assert_allclose(schedules.cosine_decay(0.1, 4, final=0.02)(np.array([2, 4, 9])),
                               [0.06, 0.02, 0.02], rtol=1e-6)


def test_a_callable_is_called_with_the_initial_value_the_count_and_the_total():
    value = schedules.schedule(lambda a0, count, total: a0 * (1 - count / total), 3.0, total=10)
    np.testing.assert_allclose(value(np.array([0, 5])), [3.0, 1.5])


def test_one_update_is_the_initial_value():
    for kind in schedules.SCHEDULES:
        assert float(schedules.schedule(kind, A0, A1, total=1)(0)) == pytest.approx(A0)


def test_traced_values_under_jit_and_vmap_compile_once():
    traces = []

    @jax.jit
    def sweep(initial, final):
        traces.append(None)  # runs only while tracing

        def one(a0, a1):
            rows = [schedules.schedule(kind, a0, a1, total=TOTAL)(COUNTS)
                    for kind in schedules.SCHEDULES]
            rows.append(schedules.cosine_decay(a0, TOTAL - 1, final=a1)(COUNTS))
            rows.append(schedules.piecewise_constant((a0, a1), (5,))(COUNTS))
            return jnp.stack(rows)

        return jax.vmap(one)(initial, final)

    first = sweep(jnp.array([0.5, 1.0]), jnp.array([0.02, 0.1]))
    second = sweep(jnp.array([0.3, 2.0]), jnp.array([0.01, 0.5]))
    assert len(traces) == 1
    np.testing.assert_allclose(first[0, :5], [CLOSED_FORMS[k] for k in schedules.SCHEDULES],
                               rtol=1e-6)
    np.testing.assert_allclose(second[1, 1], 2.0 + (0.5 - 2.0) * P, rtol=1e-6)
    np.testing.assert_allclose(second[1, -2], [2.0, 1.25, 0.5], rtol=1e-6)
    np.testing.assert_allclose(second[1, -1], [2.0, 0.5, 0.5])


@pytest.mark.parametrize("call, match", [
    (lambda: schedules.schedule("cosine", 1.0, total=5),
     "Unknown schedule 'cosine'; accepted: 'exponential', 'linear', 'inverse_time', "
     "'asymptotic', 'constant' or a callable"),
    (lambda: schedules.schedule(3, 1.0, total=5), "schedule must be one of"),
    (lambda: schedules.check("step", "learning_rate_schedule"), "learning_rate_schedule"),
    (lambda: schedules.schedule("linear", 1.0, 0.0, total=0), "total must be a positive"),
    (lambda: schedules.schedule("linear", 1.0, 0.0, total=2.5), "total must be a positive"),
    (lambda: schedules.schedule("exponential", 1.0, 0.0, total=5), "'linear' to decay to 0"),
    (lambda: schedules.schedule("inverse_time", 1.0, -1.0, total=5), "same sign"),
    (lambda: schedules.exponential(1.0), "either tau"),
    (lambda: schedules.exponential(1.0, tau=0.0), "tau must be > 0"),
    (lambda: schedules.piecewise_constant((0.5, 0.9), ()), "one value more"),
    (lambda: schedules.piecewise_constant((0.5, 0.9, 0.99), (5, 2)), "non-decreasing"),
    (lambda: schedules.piecewise_constant((0.5, 0.9), (1.5,)), "integers >= 0"),
])
def test_bad_input_raises_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
