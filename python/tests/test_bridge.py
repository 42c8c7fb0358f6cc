"""The PyTorch bridge both ways (python/inductive_torch).

- our file → PyTorch: every Rust-made checkpoint in fixtures/ours (tour/examples/bridge_fixtures.rs)
  loads into the equivalent module and gives the Rust model's outputs to 1e-5;
- PyTorch → our file: modules saved here read back identically, and the PyTorch-made fixtures
  (make_bridge_fixtures.py; tour/tests/torch_bridge.rs checks them in Rust) reproduce their outputs;
- with a built `tour` binary (INDUCTIVE_TOUR, or target/debug/tour), `tour mlp --load` of the
  PyTorch-trained table MLP and `tour seq2seq --load` of the PyTorch-trained reversal seq2seq
  report PyTorch's test accuracies (tour/tests/torch_bridge.rs also checks the PyTorch-trained
  Transformer encoder–decoder's accuracy through the crate's `load_model`).

Run from the repository root:
    PYTHONPATH=python .venv/bin/python -m unittest discover -s python/tests -v
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

try:
    import torch
except ImportError as e:  # the whole module is skipped, and says why
    raise unittest.SkipTest(f"torch is not importable ({e}); the PyTorch bridge tests are skipped")

import inductive_torch as it

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
ROOT = os.path.dirname(os.path.dirname(HERE))
TOL = 1e-5


def cases(which):
    with open(os.path.join(FIXTURES, which, "cases.json")) as f:
        return json.load(f)["cases"]


def run_case(which, case):
    model = it.load(os.path.join(FIXTURES, which, case["file"]), dtype=torch.float64)
    want = torch.tensor(case["output"], dtype=torch.float64)
    if isinstance(case["input"], dict):  # an encoder–decoder: lists of ids, padded by the model
        with torch.no_grad():
            y = model.teacher_forced(case["input"]["sources"], case["input"]["targets"])
        return model, (y - want).abs().max().item()
    first = case["input"]
    while isinstance(first, list):
        first = first[0]
    # token ids stay integers; features are read in float64, as written
    x = torch.tensor(case["input"], dtype=torch.long if isinstance(first, int) else torch.float64)
    with torch.no_grad():
        y = model(x)
    return model, (y - want).abs().max().item()


def find_tour(test):
    """The tour binary (INDUCTIVE_TOUR, PATH, target/{debug,release}/tour), or skips `test`."""
    tour = os.environ.get("INDUCTIVE_TOUR") or shutil.which("tour")
    if not tour:
        for profile in ("debug", "release"):
            candidate = os.path.join(ROOT, "target", profile, "tour")
            if os.path.exists(candidate):
                tour = candidate
                break
    if not tour:
        test.skipTest("no tour binary (set INDUCTIVE_TOUR or build it with cargo build -p "
                      "inductive-tour); tour/tests/torch_bridge.rs runs the same check")
    return tour


class OursToTorch(unittest.TestCase):
    def test_rust_checkpoints_give_rust_outputs(self):
        largest = 0.0
        kinds = set()
        for case in cases("ours"):
            with self.subTest(case["name"]):
                _, diff = run_case("ours", case)
                largest = max(largest, diff)
                kinds.add(case["kind"])
                self.assertLessEqual(diff, TOL, case["name"])
        self.assertEqual(kinds, {"mlp", "cnn", "rnn", "gpt", "seq2seq", "encoder_decoder"})
        print(f"\n  our files -> PyTorch: largest difference {largest:.3e} "
              f"over {len(cases('ours'))} models")

    def test_a_bare_state_dict_is_refused_with_a_reason(self):
        from safetensors.torch import save_file
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bare.safetensors")
            save_file({"w": torch.zeros(2, 2)}, path)
            with self.assertRaisesRegex(it.CheckpointError, "not a model checkpoint"):
                it.load(path)

    def test_the_cnn_augmentation_survives_the_round_trip(self):
        # issue 22 stores the training augmentation in the CNN's config; PyTorch does not use
        # it, and writing the module back keeps it for the Rust loader
        path = os.path.join(FIXTURES, "ours", "cnn_avgpool.safetensors")
        model = it.load(path)
        want = {"max_shift": 1, "max_rotation_degrees": 10.0}
        self.assertEqual(model.config["augment"], want)
        with tempfile.TemporaryDirectory() as d:
            back = os.path.join(d, "cnn.safetensors")
            it.save(model, back, dtype=torch.float64)
            self.assertEqual(it.read(back).config, it.read(path).config)

    def test_an_unknown_kind_is_refused(self):
        with self.assertRaisesRegex(it.CheckpointError, "no PyTorch counterpart"):
            it.build("som", {})


class TorchToOurs(unittest.TestCase):
    def test_torch_fixtures_reproduce_their_outputs(self):
        largest = 0.0
        for case in cases("torch"):
            with self.subTest(case["name"]):
                _, diff = run_case("torch", case)
                largest = max(largest, diff)
                self.assertLessEqual(diff, TOL, case["name"])
        print(f"\n  PyTorch files (read back here): largest difference {largest:.3e}")

    def test_save_then_load_gives_the_same_module(self):
        torch.manual_seed(3)
        configs = [
            it.Mlp(it.Mlp.classifier_config(4, [5, 3], 2, {"leaky_relu": 0.05})),
            it.Cnn(it.Cnn.lenet5_config()),
            it.SeqModel({"rnn": {"cell": "relu", "input": 2, "hidden": 3, "layers": 1,
                                 "bidirectional": True, "forget_bias": None},
                         "encoding": "dense", "outputs": 2, "readout": "every"}),
            it.Seq2Seq({"vocab": "xyz", "embed": 3, "cell": "lstm", "hidden": 2, "layers": 2,
                        "bidirectional": True, "decoder_hidden": 4, "decoder_layers": 2,
                        "attention": "additive", "attention_dim": 3, "max_len": 8,
                        "sampling": 0.0}),
            it.EncoderDecoder({"src_vocab": 4, "tgt_vocab": 5, "src_context": 3,
                               "tgt_context": 4, "width": 4, "heads": 2, "encoder_layers": 1,
                               "decoder_layers": 1, "ff_width": 8, "norm": "pre_ln",
                               "activation": "gelu", "bos": 3, "eos": 4}),
        ]
        with tempfile.TemporaryDirectory() as d:
            for module in configs:
                with self.subTest(module.kind):
                    module = module.double()
                    path = os.path.join(d, f"{module.kind}.safetensors")
                    it.save(module, path, dtype=torch.float64)
                    back = it.load(path)
                    self.assertEqual(back.config, module.config)
                    mine, theirs = module.state_dict(), back.state_dict()
                    self.assertEqual(set(mine), set(theirs))
                    for name in mine:
                        self.assertTrue(torch.equal(mine[name], theirs[name]), name)

    def test_lenet5_has_lenet5s_shape(self):
        net = it.Cnn(it.Cnn.lenet5_config())
        self.assertEqual(sum(p.numel() for p in net.parameters()), 61706)
        self.assertEqual(tuple(net(torch.zeros(2, 784)).shape), (2, 10))
        self.assertIn("0.weight", net.state_dict())

    def test_tour_mlp_load_reports_pytorchs_accuracy(self):
        tour = find_tour(self)
        fx = os.path.join(FIXTURES, "torch")
        with open(os.path.join(fx, "table_mlp.json")) as f:
            want = json.load(f)["test_accuracy"]
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run(
                [tour, "mlp", "--json", "--quiet", "--out", out,
                 "--train", os.path.join(fx, "table_train.csv"),
                 "--test", os.path.join(fx, "table_test.csv"), "--label-column", "label",
                 "--load", os.path.join(fx, "table_mlp.safetensors")],
                capture_output=True, text=True, check=True)
        got = json.loads(result.stdout.strip().splitlines()[-1])["metrics"]["test_accuracy"]
        print(f"\n  tour mlp --load: test accuracy {got}, PyTorch's {want}")
        self.assertEqual(got, want)

    def test_tour_seq2seq_load_reports_pytorchs_accuracy(self):
        tour = find_tour(self)
        fx = os.path.join(FIXTURES, "torch")
        with open(os.path.join(fx, "seq2seq_reverse.json")) as f:
            want = json.load(f)["test_exact_accuracy"]
        pairs = os.path.join(fx, "seq2seq_reverse_test.tsv")
        # the tour's --test needs a --train beside it; with --load the training pairs are unused
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run(
                [tour, "seq2seq", "--json", "--quiet", "--out", out,
                 "--train", pairs, "--test", pairs,
                 "--load", os.path.join(fx, "seq2seq_reverse.safetensors")],
                capture_output=True, text=True, check=True)
        got = json.loads(result.stdout.strip().splitlines()[-1])["metrics"]["test_exact_accuracy"]
        print(f"\n  tour seq2seq --load: exact accuracy {got}, PyTorch's {want}")
        self.assertEqual(got, want)


if __name__ == "__main__":
    unittest.main()
