"""MiniSom 2.3.6 peer of examples/som_iris.rs: z-scored iris, PCA init, asymptotic decay, random
order, 10 seeds; prints QE and TE (mean, std) and the time of the 10 runs.

Run: pip install minisom==2.3.6; python minisom_iris.py [path/to/iris.csv]
"""
import sys
import time
import warnings

import numpy as np
from minisom import MiniSom

warnings.filterwarnings("ignore")
path = sys.argv[1] if len(sys.argv) > 1 else "../../../../shared/data/iris.csv"
d = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=(0, 1, 2, 3))
d = (d - d.mean(0)) / d.std(0)
for n, sig, it in [(7, 3, 5000), (10, 1, 10000)]:
    t = time.perf_counter()
    r = []
    for seed in range(10):
        s = MiniSom(n, n, 4, sigma=sig, learning_rate=0.5, random_seed=seed)
        s.pca_weights_init(d)
        s.train(d, it, random_order=True)
        r.append((s.quantization_error(d), s.topographic_error(d)))
    r = np.array(r)
    print(f"{n}x{n}, sigma {sig}, {it} iterations, 10 seeds in {time.perf_counter() - t:.2f} s: "
          f"QE {r[:, 0].mean():.4f} +- {r[:, 0].std():.4f}, TE {r[:, 1].mean():.4f} +- {r[:, 1].std():.4f}")
