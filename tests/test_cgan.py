import jax
import pytest
import jax.numpy as jnp
import numpy as np

from mmgen_jax import parallel
from mmgen_jax.errors import UserError
from mmgen_jax.layers.conditional import ProjectionHead
from mmgen_jax.models import cgan
from mmgen_jax.train import trainer


def test_projection_head_is_linear_plus_inner_product():
  h = jax.random.normal(jax.random.PRNGKey(0), (4, 6))
  c = jax.random.normal(jax.random.PRNGKey(1), (4, 3))
  head = ProjectionHead(spectral_norm=False)
  v = head.init(jax.random.PRNGKey(2), h, c)
  p = v["params"]
  expected = h @ p["linear"]["kernel"][:, 0] + p["linear"]["bias"][0] + jnp.sum((c @ p["project"]["kernel"]) * h, -1)
  np.testing.assert_allclose(head.apply(v, h, c), expected, rtol=1e-5, atol=1e-5)


def test_labels_change_the_sample_and_are_tiled(smoke_config):
  from mmgen_jax.config import get_config
  config = get_config("cgan_digits", smoke=True)
  mesh = parallel.make_mesh(jax.devices()[:1])
  state = trainer.build_state(cgan, config, mesh)[0]()
  step = trainer.make_train_step(cgan, config, mesh)
  batch = {"image": np.random.default_rng(0).integers(0, 256, (8, 32, 32, 1), dtype=np.uint8),
           "label": np.arange(8) % 10}
  state, metrics = step(state, parallel.to_global(batch, mesh))  # Moves the label-dependent heads off zero.
  assert all(np.isfinite(float(v)) for v in metrics.values())
  variables = state.ema_variables()
  rng = jax.random.PRNGKey(0)
  # Jitted: eagerly, op by op, it is slower.
  sample = jax.jit(lambda v, r, labels: cgan.sample(config, v, r, 4, labels=labels))
  out = sample(variables, rng, np.array([3, 7]))
  np.testing.assert_array_equal(out["labels"], [3, 7, 3, 7])
  a = sample(variables, rng, np.array([1]))["images"]
  b = sample(variables, rng, np.array([2]))["images"]
  assert not np.array_equal(a, b)  # Same noise, other label, other image.


def test_wrong_or_malformed_condition_is_one_clear_error():
  from mmgen_jax.config import get_config
  config = get_config("audio2img_digits", smoke=True)
  variables = jax.eval_shape(lambda: cgan.init_state(config, jax.random.PRNGKey(0)).ema_variables())
  with pytest.raises(UserError, match="conditioned on audio, not on labels"):
    cgan.sample(config, variables, jax.random.PRNGKey(0), 2, labels=np.array([1]))
  with pytest.raises(UserError, match=r"shape \[2, 8000\], expected float32 \[N, 4000\]"):
    cgan.sample(config, variables, jax.random.PRNGKey(0), 2, audio=np.zeros((2, 8000), np.float32))


def test_cli_sample_with_text_condition(tmp_path, smoke_workdir, capsys):
  from conftest import run_main
  wd = smoke_workdir("text2img_digits")
  np.savez(tmp_path / "c.npz", text=np.array(["please draw a 3", "an unseen wording of seven"]))
  r = run_main(capsys, "sample", "--workdir", wd, "--num", 4, "--cond", tmp_path / "c.npz", "--out", tmp_path / "s.npz")
  assert r.returncode == 0, r.stderr
  out = np.load(tmp_path / "s.npz")
  assert out["images"].shape == (4, 32, 32, 1) and out["images"].dtype == np.uint8
  np.testing.assert_array_equal(out["cond_text"], ["please draw a 3", "an unseen wording of seven"])
  r = run_main(capsys, "sample", "--workdir", wd, "--num", 4, "--labels", "4,5", "--out", tmp_path / "t.npz")
  assert r.returncode == 2 and "conditioned on text, not on labels" in r.stderr.strip().splitlines()[-1]
  r = run_main(capsys, "sample", "--workdir", wd, "--num", 4, "--labels", "4,x", "--out", tmp_path / "t.npz")
  assert r.returncode == 2 and "--labels expects comma-separated integers" in r.stderr


def test_word_dropout_hits_words_at_the_rate_and_never_padding():
  ids = jnp.tile(jnp.array([[5, 6, 7, 8, 0, 0]]), (2000, 1))
  out = np.asarray(jax.jit(cgan.word_dropout, static_argnums=1)(ids, 0.3, jax.random.PRNGKey(0)))
  assert abs((out[:, :4] == 1).mean() - 0.3) < 0.02  # 1 = the unknown-word id.
  np.testing.assert_array_equal(out[:, 4:], 0)
  kept = out[:, :4] != 1
  np.testing.assert_array_equal(out[:, :4][kept], np.asarray(ids)[:, :4][kept])
