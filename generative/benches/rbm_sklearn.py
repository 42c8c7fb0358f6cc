"""scikit-learn's BernoulliRBM on the same data as `examples/rbm_digits.rs speed`: CD-1 (PCD in
scikit-learn's implementation: its `fit` keeps persistent chains), 784 visible x 500 hidden,
batch 100, on the 10 000 MNIST images scaled to [0, 1]; prints seconds per epoch.

    python generative/benches/rbm_sklearn.py ../shared/data THREADS [EPOCHS]

`python` is the environment of python/requirements.txt. THREADS limits numpy's BLAS threads.
"""

import gzip
import os
import sys
import time

threads = sys.argv[2] if len(sys.argv) > 2 else "1"
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = threads

import numpy as np  # noqa: E402
from sklearn.neural_network import BernoulliRBM  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")) as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    x = (raw.reshape(-1, 784) / 255.0).astype(np.float32)
    rbm = BernoulliRBM(n_components=500, batch_size=100, learning_rate=0.1, n_iter=1, random_state=0)
    with threadpool_limits(limits=int(threads)):
        times = []
        rbm.partial_fit(x[:100])  # initialize the parameters and chains outside the timing
        for _ in range(epochs):
            t = time.perf_counter()
            for start in range(0, x.shape[0], 100):
                rbm.partial_fit(x[start:start + 100])
            times.append(time.perf_counter() - t)
    print(f"scikit-learn BernoulliRBM 784x500 batch 100, 10000 images, {threads} thread(s): "
          f"seconds per epoch {[round(t, 3) for t in times]}")


if __name__ == "__main__":
    main()
