"""Multimodal VAE: the product of experts in closed form, every part learning, any subset of modalities as input."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import init_state
from mmgen_jax import cli
from mmgen_jax.config import get_config
from mmgen_jax.data import dtmf, split_arrays
from mmgen_jax.layers.audio import additive_synthesis, standardized_log_mel
from mmgen_jax.models import mvae


def test_product_of_experts_matches_the_gaussian_product():
  rng = np.random.default_rng(0)
  means, logvars = rng.normal(size=(2, 3, 5)).astype(np.float32), rng.normal(size=(2, 3, 5)).astype(np.float32)
  experts = {"a": (means[0], logvars[0]), "b": (means[1], logvars[1])}
  index = {"a": 0, "b": 1}
  mean, logvar = mvae.product_of_experts(experts, {"a": jnp.ones(3, bool), "b": jnp.asarray([True, False, True])})
  for i, present in enumerate([("a", "b"), ("a",), ("a", "b")]):
    precisions = [1.0] + [np.exp(-logvars[index[k], i]) for k in present]  # The prior N(0, 1) is an expert.
    weighted = sum(np.exp(-logvars[index[k], i]) * means[index[k], i] for k in present)
    np.testing.assert_allclose(logvar[i], -np.log(sum(precisions)), rtol=1e-5)
    np.testing.assert_allclose(mean[i], weighted / sum(precisions), rtol=1e-5, atol=1e-6)
  # No expert present: the prior.
  mean, logvar = mvae.product_of_experts(experts, {"a": jnp.zeros(3, bool), "b": jnp.zeros(3, bool)})
  np.testing.assert_allclose(mean, 0.0)
  np.testing.assert_allclose(logvar, 0.0)


def test_dtmf_detector_and_additive_synthesis_round_trip():
  """The decoder that judges image->audio reads every real test clip right, and still does after the vocoder."""
  test = split_arrays("digits", "test")
  mel = standardized_log_mel(jnp.asarray(test["audio"][:60]), 8000)
  assert np.all(dtmf.detect_keys(np.asarray(mel)) == test["label"][:60])
  wave = additive_synthesis(mel, 8000, 4000)
  assert wave.shape == (60, 4000) and float(jnp.max(jnp.abs(wave))) <= 0.5 + 1e-6
  assert np.all(dtmf.detect_keys(np.asarray(standardized_log_mel(wave, 8000))) == test["label"][:60])


@pytest.fixture(scope="module")
def smoke():
  config = get_config("mvae_digits", smoke=True)
  arrays = split_arrays("digits", "train")
  config = mvae.prepare_config(config, type("S", (), {"arrays": arrays, "name": "digits"})())
  batch = mvae.encode_inputs(config, {k: arrays[k][:8] for k in ("image", "text", "audio")})
  return config, batch


def test_training_moves_every_expert_and_decoder(smoke_workdir):
  """The smoke run's parameters against the init it started from (the trainer inits from config.seed)."""
  import mmgen_jax
  model = mmgen_jax.load(smoke_workdir("mvae_digits"))
  init = init_state(mvae, model.config, model.config.seed).params
  moved = jax.tree_util.tree_map_with_path(lambda p, a, b: (jax.tree_util.keystr(p), bool(jnp.any(a != b))),
                                           init, model.state.params)
  still = [name for name, changed in jax.tree.leaves(moved, is_leaf=lambda x: isinstance(x, tuple)) if not changed]
  assert not still, still
  for top in ("image_posterior", "text_posterior", "audio_posterior", "image_decoder", "text_decoder", "audio_out"):
    assert top in init


def test_caption_alone_trains_the_image_decoder_through_the_text_expert(smoke):
  """The cross-modal term: the image likelihood under q(z | caption) has a gradient on the text expert."""
  config, batch = smoke
  model = mvae.make_model(config)
  variables = init_state(mvae, config).variables(ema=False)
  binarised = (batch["image"] > 127).astype(jnp.float32)

  def image_ll_from_text(params):
    experts = model.apply({"params": params}, mvae._model_inputs(batch), method=mvae.MultimodalVAE.experts)
    mean, _ = mvae.product_of_experts(experts, {"image": jnp.zeros(8, bool), "text": jnp.ones(8, bool),
                                                "audio": jnp.zeros(8, bool)})
    apply = functools.partial(model.apply, {"params": params})
    return jnp.sum(mvae.log_likelihoods(apply, mean, batch, binarised)["image"])

  grads = jax.jit(jax.grad(image_ll_from_text))(variables["params"])
  norm = lambda tree: float(sum(jnp.sum(x ** 2) for x in jax.tree.leaves(tree)))
  assert norm(grads["text_posterior"]) > 0 and norm(grads["text_encoder"]) > 0
  assert norm(grads["image_posterior"]) == 0 and norm(grads["audio_posterior"]) == 0


def test_cli_generates_every_modality_from_any_subset(tmp_path, smoke_workdir):
  workdir = smoke_workdir("mvae_digits")
  test = split_arrays("digits", "test")
  out_path = tmp_path / "out.npz"
  # Captions as strings through the CLI (the other subsets: `evaluate` in tests/test_zoo_smoke.py conditions on
  # captions, clips and images alone, through the same sampler).
  np.savez(tmp_path / "c.npz", text=test["text"][:3], audio=test["audio"][:3])
  assert cli.main(["sample", "--workdir", workdir, "--num", "3", "--cond", str(tmp_path / "c.npz"),
                   "--out", str(out_path)]) == 0
  with np.load(out_path) as out:
    assert out["images"].shape == (3, 32, 32, 1) and out["images"].dtype == np.uint8
    assert out["text"].shape == (3,) and out["audio"].shape == (3, 4000)
  np.savez(tmp_path / "bad.npz", audio=test["audio"][:3, :100])
  assert cli.main(["sample", "--workdir", workdir, "--cond", str(tmp_path / "bad.npz"), "--out",
                   str(out_path)]) == 2
