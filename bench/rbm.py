"""`tour bench rbm` in scikit-learn: BernoulliRBM 784 x 500, batch 100, one Gibbs step per update
(scikit-learn keeps persistent chains: PCD-1), learning rate 0.1, on a pool of 2000 random binary
images (pixels on with probability 0.13, about MNIST's ink).

    python bench/rbm.py --threads 1 --seconds 5
"""
from common import args, run

a = args()
import numpy as np  # noqa: E402
from sklearn.neural_network import BernoulliRBM  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

n, batch = 2000, 100
x = (np.random.default_rng(0).random((n, 784)) < 0.13).astype(np.float32)
rbm = BernoulliRBM(n_components=500, batch_size=batch, learning_rate=0.1, n_iter=1, random_state=0)
rbm.partial_fit(x[:batch])


def epoch():
    for start in range(0, n, batch):
        rbm.partial_fit(x[start:start + batch])
    return n // batch


with threadpool_limits(limits=a.threads):
    run("rbm", "examples/s", batch, epoch, a, side="scikit-learn")
