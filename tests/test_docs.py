"""The documentation's code runs: the README's Python snippets, and the architecture document's minimal family,
trained, sampled and evaluated through the CLI from exactly the two files the document shows."""
import os
import re
import sys

import numpy as np

from conftest import REPO, run_main


def _python_blocks(path):
  with open(os.path.join(REPO, path)) as f:
    return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def test_readme_python_snippets_run(tmp_path, monkeypatch, smoke_workdir):
  blocks = _python_blocks("README.md")
  assert len(blocks) >= 2  # Sampling a trained workdir; a module in your own (NNX) code.
  os.makedirs(tmp_path / "workdirs")
  os.symlink(smoke_workdir("dcgan_digits"), tmp_path / "workdirs" / "dcgan_digits")  # Stands in for the main job.
  monkeypatch.chdir(tmp_path)
  for block in blocks:
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})


def test_architecture_minimal_family_trains_samples_and_evaluates_through_the_cli(tmp_path, capsys, monkeypatch):
  files = {}
  for block in _python_blocks("docs/architecture.md"):
    first, _, body = block.partition("\n")
    if first.startswith("# file: "):
      files[first[len("# file: "):].strip()] = body
  assert set(files) == {"mlp_vae.py", "mlp_vae_digits.py"}
  for name, body in files.items():
    (tmp_path / name).write_text(body)
  monkeypatch.syspath_prepend(str(tmp_path))  # As PYTHONPATH would: the family is a module of the user's own.
  monkeypatch.delitem(sys.modules, "mlp_vae", raising=False)
  workdir, out = tmp_path / "workdirs" / "mlp_vae", tmp_path / "samples.npz"
  shrink = ["--set", "train.steps=4", "--set", "train.eval_every=4", "--set", "train.eval_num=50", "--set",
            "data.batch_size=8", "--set", "model.hidden=16", "--set", "train.num_grid=4"]
  try:
    r = run_main(capsys, "train", tmp_path / "mlp_vae_digits.py", "--workdir", workdir, "--no-progress", *shrink)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "step 4: recon_mse=" in r.stdout + r.stderr
    assert os.path.exists(workdir / "samples" / "step_000004.png")
    r = run_main(capsys, "sample", "--workdir", workdir, "--num", 5, "--out", out)
    assert r.returncode == 0, r.stderr[-3000:]
    images = np.load(out)["images"]
    assert images.shape == (5, 32, 32, 1) and images.dtype == np.uint8
    r = run_main(capsys, "eval", "--workdir", workdir, "--num", 20)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '"num": 20' in r.stdout and "recon_mse" in r.stdout
    r = run_main(capsys, "sample", "--workdir", workdir, "--num", 2, "--labels", "1", "--out", out)
    assert r.returncode == 2 and "family mlp_vae does not take the condition(s) labels" in r.stderr
  finally:
    sys.modules.pop("mlp_vae", None)
