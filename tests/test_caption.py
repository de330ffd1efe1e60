"""The captioner: KV-cache decoding equals the teacher-forced forward pass, training learns, the CLI writes text."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import init_state
from mmgen_jax import cli
from mmgen_jax.config import get_config
from mmgen_jax.data.captions import named_digits
from mmgen_jax.layers.text_decoder import empty_cache
from mmgen_jax.models import caption


@pytest.fixture(scope="module")
def config():
  c = get_config("caption_digits", smoke=True)
  c.model.vocab = ["a", "the", "digit", "seven", "7"]
  return c


def test_cached_decoding_matches_the_teacher_forced_pass(config):
  model = caption.make_model(config)
  images = jax.random.uniform(jax.random.PRNGKey(0), (2, 32, 32, 1), minval=-1, maxval=1)
  ids = jax.random.randint(jax.random.PRNGKey(1), (2, config.model.max_len), 2, 9)
  variables = jax.jit(model.init)(jax.random.PRNGKey(2), images, ids)
  full = jax.jit(model.apply)(variables, images, ids)
  memory = jax.jit(lambda v, x: model.apply(v, x, method=caption.Captioner.encode))(variables, images)
  cache = empty_cache(caption.text_decoder(config), 2)
  step = jax.jit(lambda *args: model.apply(variables, *args, method=caption.Captioner.decode_step))
  for i in range(config.model.max_len):
    logits, cache = step(ids[:, i], i, cache, memory)
    np.testing.assert_allclose(logits, full[:, i], rtol=1e-4, atol=1e-4, err_msg=f"position {i}")


def test_later_tokens_do_not_change_earlier_logits(config):
  model = caption.make_model(config)
  images = jnp.zeros((1, 32, 32, 1))
  ids = jnp.asarray([[2, 4, 5, 6, 7, 8, 4, 5, 6, 7, 8, 3]])
  variables = jax.jit(model.init)(jax.random.PRNGKey(0), images, ids)
  changed = ids.at[0, 6:].set(8)
  apply = jax.jit(model.apply)
  np.testing.assert_allclose(apply(variables, images, ids)[:, :6], apply(variables, images, changed)[:, :6],
                             rtol=1e-5, atol=1e-6)


def test_loss_ignores_padding_and_smoothing_raises_the_floor():
  logits = jnp.asarray([[[10.0, -10.0, -10.0], [0.0, 0.0, 0.0]]])
  targets = jnp.asarray([[1, 0]])  # The second target is padding (id 0): its uniform logits must not count.
  loss, accuracy = caption.caption_loss(logits, targets, 0.0)
  np.testing.assert_allclose(loss, 20.0 + np.log1p(2 * np.exp(-20.0)), rtol=1e-5)
  assert accuracy == 0.0
  right = jnp.asarray([[[-10.0, 10.0, -10.0]]])
  assert caption.caption_loss(right, jnp.asarray([[1]]), 0.1)[0] > caption.caption_loss(right, jnp.asarray([[1]]),
                                                                                           0.0)[0]


def test_random_shift_translates_each_image_by_its_own_offset():
  images = jnp.zeros((8, 9, 9, 1)).at[:, 4, 4, 0].set(1.0)
  shifted = np.asarray(caption.random_shift(images, jax.random.PRNGKey(0), 2))
  peaks = [np.unravel_index(np.argmax(im[..., 0]), (9, 9)) for im in shifted]
  assert all(2 <= r <= 6 and 2 <= c <= 6 for r, c in peaks) and len(set(peaks)) > 1
  assert np.allclose(shifted.sum(axis=(1, 2, 3)), 1.0)  # A translation, nothing smeared.


def test_train_step_fits_a_batch(config):
  """40 jitted steps on 16 real digits and their captions: the loss falls by half and every parameter moves."""
  from mmgen_jax.data import open_source
  arrays = open_source("digits", "train").arrays
  config = get_config("caption_digits", smoke=True)
  config.model.update(dim=32, vocab=caption.Tokenizer.fit(arrays["text"]).vocab)
  config.optim.update(lr=3e-3, warmup_steps=1)
  config.train.steps = 40
  batch = caption.encode_inputs(config, {"image": arrays["image"][:16], "text": arrays["text"][:16]})
  state = init_state(caption, config)
  initial = state.params
  step = jax.jit(lambda s, b: caption.train_step(config, s, b, jax.random.PRNGKey(0)))
  losses = []
  for _ in range(40):
    state, metrics = step(state, batch)
    losses.append(float(metrics["loss"]))
  assert losses[-1] < 0.5 * losses[0], losses
  moved = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), initial, state.params)
  assert all(jax.tree.leaves(moved)), moved


def test_cli_sample_captions_images(tmp_path, smoke_workdir):
  """`sample --cond` with `image` writes one caption string per image; a wrong image size is one error line."""
  config = get_config("caption_digits", smoke=True)
  workdir = smoke_workdir("caption_digits")
  samples = f"{workdir}/samples/step_{config.train.steps:06d}"
  assert len(open(samples + ".txt").read().splitlines()) == config.train.num_grid
  assert os.path.exists(samples + ".png")

  from mmgen_jax.data import open_source
  images = open_source("digits", "test").arrays["image"][:3]
  np.savez(tmp_path / "c.npz", image=images)
  out_path = tmp_path / "out.npz"
  assert cli.main(["sample", "--workdir", workdir, "--num", "3", "--cond", str(tmp_path / "c.npz"), "--out",
                   str(out_path)]) == 0
  with np.load(out_path) as out:
    assert out["text"].shape == (3,) and out["text"].dtype.kind == "U"
    assert out["text_ids"].shape == (3, config.model.max_len)
  np.savez(tmp_path / "bad.npz", image=images[:, :16])
  assert cli.main(["sample", "--workdir", workdir, "--cond", str(tmp_path / "bad.npz"), "--out",
                   str(out_path)]) == 2


def test_named_digits_reads_words_and_numerals():
  assert named_digits("a handwritten seven") == {7}
  assert named_digits("the number 7, handwritten") == {7}
  assert named_digits("someone wrote the digit 1") == {1}  # "someone" is not "one".
  assert named_digits("a blurry eight on a dark background") == {8}
  assert named_digits("it shows") == set()
