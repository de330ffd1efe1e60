"""Samples exported as an image dataset: the folder reads back as the same images under the same labels."""
import os

import numpy as np
import pytest

from conftest import last_line, run_main
from mmgen_jax.data import open_source
from mmgen_jax.errors import UserError
from mmgen_jax.export import export_samples


def test_an_exported_folder_reads_back_as_the_same_labelled_images(tmp_path):
  """Real digits exported as if sampled: read back through `folder:` (what a downstream classifier trains on) they
  are the same images under the same labels, bit for bit (a lost or shuffled label, a resampled image fails it)."""
  train = open_source("digits", "train").arrays
  exported = {"images": train["image"][:400], "labels": train["label"][:400].astype(np.int32)}
  counts = export_samples(exported, str(tmp_path / "set"), progress=False)
  assert sorted(counts) == list(range(10)) and sum(counts.values()) == 400
  assert sorted(os.listdir(tmp_path / "set" / "03"))[0].endswith(".png")
  back = open_source(f"folder:{tmp_path / 'set'}", "train", 32, 1).arrays
  order = np.argsort(exported["labels"], kind="stable")  # The reader walks class folders in label order.
  np.testing.assert_array_equal(back["label"], exported["labels"][order])
  np.testing.assert_array_equal(back["image"], exported["images"][order])
  with np.load(tmp_path / "set" / "samples.npz") as f:
    np.testing.assert_array_equal(f["labels"], exported["labels"])


def test_unlabelled_samples_are_one_folder_and_bad_exports_are_one_line(tmp_path):
  images = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
  assert export_samples({"images": images}, str(tmp_path / "a"), progress=False) == {None: 3}
  np.testing.assert_array_equal(open_source(f"folder:{tmp_path / 'a'}", "train", 8, 3).arrays["image"], images)
  with pytest.raises(UserError, match="is not empty: pass a new or empty folder"):
    export_samples({"images": images}, str(tmp_path / "a"), progress=False)
  with pytest.raises(UserError, match="samples hold text, text_ids: use --out FILE.npz"):
    export_samples({"text": np.array(["a"]), "text_ids": np.zeros((1, 2))}, str(tmp_path / "b"), progress=False)
  with pytest.raises(UserError, match=r"uint8 \[N, H, W, 1 or 3\], got float32\[3, 8, 8, 3\]"):
    export_samples({"images": images.astype(np.float32)}, str(tmp_path / "c"), progress=False)


def test_cli_exports_a_class_conditional_model_as_class_folders(tmp_path, smoke_workdir, capsys):
  workdir = smoke_workdir("cgan_digits")
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 20, "--export", tmp_path / "all", "--no-progress")
  assert result.returncode == 0, result.stderr
  assert "exported 20 images" in result.stdout and "10 class folders" in result.stdout
  assert sorted(os.listdir(tmp_path / "all")) == [f"{k:02d}" for k in range(10)] + ["samples.npz"]
  back = open_source(f"folder:{tmp_path / 'all'}", "train", 32, 1).arrays
  with np.load(tmp_path / "all" / "samples.npz") as f:
    order = np.argsort(f["labels"], kind="stable")
    np.testing.assert_array_equal(back["label"], f["labels"][order])
    np.testing.assert_array_equal(back["image"], f["images"][order])
  # Classes without samples: the folder reader would renumber the present ones, so the CLI says so.
  result = run_main(capsys, "sample", "--workdir", workdir, "--labels", "0,5", "--num", 4, "--export",
                    tmp_path / "some", "--out", tmp_path / "some.npz", "--no-progress")
  assert result.returncode == 0 and os.path.exists(tmp_path / "some.npz")
  assert "classes 1, 2, 3, 4 have no samples" in last_line(result.stderr)
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 4)
  assert result.returncode == 2 and "--out FILE.npz, or as an image dataset to --export DIR" in last_line(result.stderr)
