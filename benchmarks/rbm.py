"""RBM training epochs against scikit-learn's BernoulliRBM, and AIS, on binarized MNIST
train (60000 x 784, pixel > 0.5) with 500 hidden units and batches of 100.

Per-epoch times are differences of whole fits, (T(1 + n) - T(1)) / n epochs, so set-up
(validation, initialisation, compilation is in the warm-up anyway) cancels. The
settings match BernoulliRBM's, which is PCD-1 with as many persistent chains as the
batch size, a constant learning rate on the batch-mean gradient, no momentum and no
weight decay; scikit-learn computes nothing per epoch at ``verbose=0``, so our
per-epoch monitors (reconstruction error, exact pseudo-log-likelihood, free-energy gap)
are switched off too (``monitor_size=1``), and a separate row shows what the default
monitors on 500 rows cost. CD-1 is ours only (scikit-learn has no CD). AIS: one estimate
of ln Z with 100 chains x 10,000 inverse temperatures.

    python -m benchmarks.rbm [--rows 60000] [--hidden 500] [--epochs 2] [--repeat 3]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.neural_network import BernoulliRBM

from benchmarks import runner
from jaxselforg import data, rbm


def main(argv=None):
    parser = runner.parser(__doc__, rows=60_000)
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=2, help="our epochs in the difference")
    parser.add_argument("--sklearn_epochs", type=int, default=1,
                        help="scikit-learn epochs in the difference (each is slow)")
    parser.add_argument("--sklearn_repeat", type=int, default=1)
    parser.add_argument("--ais_chains", type=int, default=100)
    parser.add_argument("--ais_betas", type=int, default=10_000)
    parser.add_argument("--ais_repeat", type=int, default=3)
    args = parser.parse_args(argv)

    images, _ = data.load("mnist", "train")
    x = np.asarray(data.binarize(data.flatten(data.to_unit_range(images[: args.rows]))))
    x_device = jax.device_put(x)
    key = jax.random.key(0)
    print(runner.machine())
    models = {}

    def ours(n_epochs, name, monitor_size=1, **settings):
        fitted = rbm.fit(x_device, args.hidden, key=key, epochs=n_epochs,
                         batch_size=args.batch, learning_rate=args.learning_rate,
                         schedule="constant", momentum=0.0, final_momentum=0.0,
                         weight_decay=0.0, monitor_size=monitor_size, **settings)
        models[name] = fitted.params
        return fitted.params

    def sklearn(n_epochs):
        reference = BernoulliRBM(n_components=args.hidden, learning_rate=args.learning_rate,
                                 batch_size=args.batch, n_iter=n_epochs, random_state=0)
        reference.fit(x)
        models["sklearn"] = rbm.RBMParams(jnp.asarray(reference.components_.T),
                                          jnp.asarray(reference.intercept_visible_),
                                          jnp.asarray(reference.intercept_hidden_))
        return reference.components_

    task = f"RBM epoch, {len(x):,} x 784, {args.hidden} hidden, batch {args.batch}"
    timings = [
        runner.per_iteration(task, "jaxselforg PCD-1", lambda n: ours(
            n, "PCD-1", persistent=True), args.epochs, args.repeat),
        runner.per_iteration(task, "jaxselforg PCD-1, default monitors (500 rows)",
                             lambda n: ours(n, "PCD-1 monitored", monitor_size=500,
                                            persistent=True), args.epochs, args.repeat),
        runner.per_iteration(task, "jaxselforg CD-1", lambda n: ours(n, "CD-1"), args.epochs,
                             args.repeat),
        runner.per_iteration(task, "sklearn BernoulliRBM (PCD-1)", sklearn,
                             args.sklearn_epochs, args.sklearn_repeat),
    ]

    rows = x_device[:1000]
    quality = {name: float(jnp.mean(rbm.pseudo_log_likelihood(params, rows)))
               for name, params in models.items()}

    params = models["PCD-1"]
    task = (f"AIS ln Z, {args.ais_chains} chains x {args.ais_betas:,} betas, "
            f"784 x {args.hidden}")
    ais = [runner.time_call(task, "jaxselforg", lambda: rbm.log_partition_ais(
        params, key=key, data=x_device, n_chains=args.ais_chains, n_betas=args.ais_betas),
        repeat=args.ais_repeat)]

    runner.print_tables((timings, "sklearn BernoulliRBM (PCD-1)", "epochs"),
                        (ais, "jaxselforg", "estimates"))
    print()
    print("Mean exact pseudo-log-likelihood of the first 1,000 training images after the "
          "last timed fit (nats; same settings, different random initialisations and "
          f"epoch counts of {1 + args.epochs} ours, {1 + args.sklearn_epochs} sklearn):")
    for name, value in quality.items():
        print(f"  {name}: {value:.2f}")
    if args.json:
        runner.save(timings + ais, args.json)


if __name__ == "__main__":
    main()
