"""python/continue_ddp.py with 2 processes on localhost (Gloo): an untrained MLP saved in our
format continues training under DistributedDataParallel launched by torchrun and is written back
in our format; the loss falls, the replicas agree, and the file loads as the same kind of model.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

try:
    import torch
    import torch.distributed as dist
except ImportError as e:
    raise unittest.SkipTest(f"torch is not importable ({e}); the DDP test is skipped")

import inductive_torch as it

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "continue_ddp.py")
TABLE = os.path.join(HERE, "fixtures", "torch", "table_train.csv")


class ContinueDdp(unittest.TestCase):
    def test_two_gloo_processes_continue_and_save_back(self):
        if not dist.is_available() or not dist.is_gloo_available():
            self.skipTest("this torch has no Gloo backend")
        with tempfile.TemporaryDirectory() as d:
            start = os.path.join(d, "start.safetensors")
            out = os.path.join(d, "continued.safetensors")
            torch.manual_seed(0)
            it.save(it.Mlp(it.Mlp.classifier_config(3, [16], 3)), start)
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc_per_node=2", SCRIPT, start, "--data", TABLE,
                   "--label-column", "label", "--standardize", "--epochs", "8",
                   "--batch-size", "16", "--lr", "0.01", "--out", out]
            env = dict(os.environ, OMP_NUM_THREADS="1")
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            report = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"\n  continue_ddp: {report}")
            self.assertEqual((report["processes"], report["backend"]), (2, "gloo"))
            self.assertTrue(report["replicas_equal"])
            losses = report["loss_per_epoch"]
            self.assertLess(losses[-1], 0.5 * losses[0])
            self.assertGreater(report["accuracy"], 0.8)
            back = it.read(out)
            self.assertEqual((back.kind, back.config), ("mlp", it.Mlp.classifier_config(3, [16], 3)))
            self.assertEqual(back.metadata["continued_in"], "pytorch ddp x2")
            first = it.read(start).tensors["layers.0.weight"]
            self.assertFalse(torch.equal(first, back.tensors["layers.0.weight"]))


if __name__ == "__main__":
    unittest.main()
