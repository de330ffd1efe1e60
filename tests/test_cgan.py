import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax import parallel
from mmgen_jax.layers.conditional import ConditionalBatchNorm, ProjectionHead
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


def test_conditional_batch_norm_starts_as_batch_norm_and_depends_on_condition():
  x = jax.random.normal(jax.random.PRNGKey(0), (8, 4, 4, 3)) * 3 + 1
  c = jax.random.normal(jax.random.PRNGKey(1), (8, 5))
  cbn = ConditionalBatchNorm()
  v = cbn.init(jax.random.PRNGKey(2), x, c, train=False)
  y, _ = cbn.apply(v, x, c, train=True, mutable=["batch_stats"])
  np.testing.assert_allclose(jnp.mean(y, axis=(0, 1, 2)), 0, atol=1e-5)  # Zero-initialised heads: plain BN.
  v["params"]["gain"]["kernel"] = jnp.ones_like(v["params"]["gain"]["kernel"])
  y2, _ = cbn.apply(v, x, c, train=True, mutable=["batch_stats"])
  assert not np.allclose(y, y2)


def test_labels_change_the_sample_and_are_tiled(smoke_config):
  from mmgen_jax.config import get_config
  config = get_config("cgan_digits", smoke=True)
  mesh = parallel.make_mesh(jax.devices()[:1])
  state = trainer.build_state(cgan, config, mesh, {"image": np.zeros((1, 32, 32, 1), np.uint8)})[0]()
  step = trainer.make_train_step(cgan, config, mesh)
  batch = {"image": np.random.default_rng(0).integers(0, 256, (8, 32, 32, 1), dtype=np.uint8),
           "label": np.arange(8) % 10}
  state, metrics = step(state, parallel.to_global(batch, mesh))  # Moves the label-dependent heads off zero.
  assert all(np.isfinite(float(v)) for v in metrics.values())
  variables = cgan.sampling_variables(state)
  rng = jax.random.PRNGKey(0)
  out = cgan.sample(config, variables, rng, 4, labels=np.array([3, 7]))
  np.testing.assert_array_equal(out["labels"], [3, 7, 3, 7])
  a = cgan.sample(config, variables, rng, 4, labels=np.array([1]))["images"]
  b = cgan.sample(config, variables, rng, 4, labels=np.array([2]))["images"]
  assert not np.array_equal(a, b)  # Same noise, other label, other image.


def test_cli_sample_with_labels(tmp_path):
  from conftest import run_cli
  wd = tmp_path / "run"
  r = run_cli("train", "cgan_digits", "--workdir", wd, "--set", "data.batch_size=8", "--set", "model.g_width=8",
              "--set", "model.d_width=8", "--set", "train.steps=2", "--set", "train.eval_every=0", "--no-progress")
  assert r.returncode == 0, r.stderr
  r = run_cli("sample", "--workdir", wd, "--num", 4, "--labels", "4,5", "--out", tmp_path / "s.npz")
  assert r.returncode == 0, r.stderr
  out = np.load(tmp_path / "s.npz")
  assert out["images"].shape == (4, 32, 32, 1)
  np.testing.assert_array_equal(out["labels"], [4, 5, 4, 5])
  np.testing.assert_array_equal(out["cond_labels"], [4, 5])
  r = run_cli("sample", "--workdir", wd, "--num", 4, "--labels", "4,x", "--out", tmp_path / "t.npz")
  assert r.returncode == 2 and "--labels expects comma-separated integers" in r.stderr
