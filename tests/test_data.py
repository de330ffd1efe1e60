import os

import numpy as np
import pytest

from mmgen_jax.data import batch_indices, digits, host_batches, open_source, sources
from mmgen_jax.errors import UserError


def test_digits_split_is_fixed_and_per_class():
  train, test = digits.digits_arrays("train"), digits.digits_arrays("test")
  assert len(train["id"]) + len(test["id"]) == 1797
  assert not set(train["id"]) & set(test["id"])
  assert train["image"].shape[1:] == (32, 32, 1) and train["image"].dtype == np.uint8
  for c in range(10):
    frac = np.mean(test["label"] == c) * len(test["label"]) / np.sum(np.concatenate([train["label"], test["label"]])
                                                                      == c)
    assert 0.12 < frac < 0.18
  np.testing.assert_array_equal(test["id"], digits.split_ids("test"))  # Same ids on every call.


def test_tfds_builder_matches_numpy_fallback(tensorflow):
  via_tfds = sources._embedded_via_tfds("digits", "test")
  via_numpy = digits.digits_arrays("test")
  assert sorted(via_tfds) == sorted(via_numpy) == ["audio", "edges", "id", "image", "label", "text"]
  for k in via_numpy:
    np.testing.assert_array_equal(via_tfds[k], via_numpy[k])


def test_tf_data_and_numpy_iterators_give_the_same_batches(tensorflow):
  source = open_source("digits", "train")
  a = host_batches(source, 64, seed=3, start_step=20, use_tf=True)
  b = host_batches(source, 64, seed=3, start_step=20, use_tf=False)
  for _ in range(30):  # Crosses an epoch boundary (1,528 / 64 ~ 24 steps).
    x, y = next(a), next(b)
    assert sorted(x) == sorted(y) and x["text"].dtype.kind == "U"
    for k in x:
      np.testing.assert_array_equal(x[k], y[k])


def test_numpy_fallback_without_tensorflow(monkeypatch):
  monkeypatch.setenv("MMGEN_NO_TF", "1")
  sources.have_tensorflow.cache_clear()
  try:
    source = open_source("digits", "train", 32, 1)
    batch = next(host_batches(source, 16, seed=0))
    idx = batch_indices(source.num_examples, 16, 0, 0)
    np.testing.assert_array_equal(batch["image"], digits.digits_arrays("train")["image"][idx])
    with pytest.raises(UserError, match="needs TensorFlow"):
      open_source("tfds:mnist", "train")
  finally:
    sources.have_tensorflow.cache_clear()


def test_batch_order_is_a_permutation_per_epoch_and_hosts_split_it():
  n, b = 100, 20
  epoch = np.concatenate([batch_indices(n, b, 7, s) for s in range(5)])
  assert sorted(epoch) == list(range(n))
  source = sources.ArraySource("toy", {"x": np.arange(n)})
  whole = next(host_batches(source, b, 7, start_step=2, use_tf=False))["x"]
  parts = [next(host_batches(source, b, 7, 2, process_index=p, process_count=2, use_tf=False))["x"] for p in (0, 1)]
  np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_tfds_source_with_mock_data(tensorflow):
  import tensorflow_datasets as tfds
  with tfds.testing.mock_data(num_examples=40):
    source = open_source("tfds:mnist", "train")
    batch = next(host_batches(source, 8, seed=0))
  assert batch["image"].shape == (8, 28, 28, 1) and batch["image"].dtype == np.uint8
  assert batch["label"].shape == (8,)


def test_missing_tfds_dataset_is_one_clear_error(tmp_path, monkeypatch, tensorflow):
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
  with pytest.raises(UserError, match="not known to tensorflow-datasets"):
    open_source("tfds:no_such_dataset_xyz", "train")
  with pytest.raises(UserError, match=r"no prepared split 'train'.*tfds build mnist"):
    open_source("tfds:mnist", "train")


def test_unknown_source_suggests():
  with pytest.raises(UserError, match="did you mean: digits"):
    open_source("digit", "train")


def _write_folder(root):
  from PIL import Image
  rng = np.random.default_rng(0)
  for cls in ("cats", "dogs"):
    os.makedirs(root / cls)
    for i in range(3):
      Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(root / cls / f"{i}.png")


def test_folder_source_labels_from_subfolders(tmp_path):
  _write_folder(tmp_path)
  source = open_source(f"folder:{tmp_path}", "train", image_size=16, channels=3)
  assert source.arrays["image"].shape == (6, 16, 16, 3)
  np.testing.assert_array_equal(source.arrays["label"], [0, 0, 0, 1, 1, 1])


def test_empty_and_unreadable_folders_are_clear_errors(tmp_path):
  (tmp_path / "empty").mkdir()
  with pytest.raises(UserError, match="has no images"):
    open_source(f"folder:{tmp_path / 'empty'}", "train", 16, 3)
  (tmp_path / "bad").mkdir()
  (tmp_path / "bad" / "x.png").write_bytes(b"not a png")
  with pytest.raises(UserError, match="could be read"):
    open_source(f"folder:{tmp_path / 'bad'}", "train", 16, 3)
  with pytest.raises(UserError, match="does not exist"):
    open_source(f"folder:{tmp_path / 'nope'}", "train", 16, 3)


def test_image_shape_mismatch_names_the_fix():
  with pytest.raises(UserError, match=r"--set data.image_size=32"):
    open_source("digits", "train", image_size=64, channels=1)
  with pytest.raises(UserError, match=r"--set data.channels=1"):
    open_source("digits", "train", image_size=32, channels=3)


def test_processes_preparing_one_embedded_dataset_at_once_all_read_it(tmp_path, tensorflow):
  """Two processes open `faces` on an empty data dir together: one prepares it, the other waits and reads it
  (a builder made before the lock was released saw no splits: a KeyError on a fresh CI cache)."""
  import subprocess
  import sys
  code = "from mmgen_jax.data import open_source; print(open_source('faces', 'test', 32, 1).num_examples)"
  env = {**os.environ, "MMGEN_DATA_DIR": str(tmp_path)}
  procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True) for _ in range(2)]
  for p in procs:
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err[-2000:]
    assert out.split()[-1] == "20"


def test_every_tfds_builder_declares_the_numpy_arrays_features(tensorflow):
  """Each embedded builder's features hold exactly its arrays' names, shapes and dtypes (the digits builder is also
  prepared and compared value by value above): a changed array without a changed builder fails here."""
  from mmgen_jax.data import tfds_builders

  assert sorted(tfds_builders.EMBEDDED) == sorted(sources.EMBEDDED)
  for name, builder_class in tfds_builders.EMBEDDED.items():
    features = builder_class(data_dir="/nonexistent").info.features
    arrays = sources.EMBEDDED[name]("test")
    assert sorted(features.keys()) == sorted(arrays), name
    for key, array in arrays.items():
      feature = features[key]
      assert tuple(feature.shape) == array.shape[1:], (name, key)
      if array.dtype.kind != "U":  # Text features hold strings; the rest keep their numpy dtype.
        assert np.dtype(feature.np_dtype) == array.dtype, (name, key, feature.np_dtype)
    assert builder_class.VERSION == sources.EMBEDDED_VERSIONS[name]


def test_numpy_path_prepares_each_split_once_and_reads_it_back(tmp_path, monkeypatch):
  from mmgen_jax.data.faces import faces_arrays

  monkeypatch.setenv("MMGEN_DATA_DIR", str(tmp_path))
  calls = []
  monkeypatch.setitem(sources.EMBEDDED, "faces", lambda split: calls.append(split) or faces_arrays(split))
  first = sources._embedded_via_numpy("faces", "test")
  second = sources._embedded_via_numpy("faces", "test")
  assert calls == ["test"]
  assert sorted(os.listdir(tmp_path / "numpy")) == ["faces-1.0.0-test.npz", "faces-1.0.0-test.npz.lock"]
  for k, v in faces_arrays("test").items():
    np.testing.assert_array_equal(first[k], v)
    np.testing.assert_array_equal(second[k], v)
