"""Domain classifiers for the embedded datasets: small CNNs trained on the train split, cached on disk.

They give the features for classifier-feature FID/KID/precision/recall, the class probabilities for an
Inception-Score-style score, and the class accuracy of conditional samples. The params are .npz (no pickle) with the
held-out test accuracy beside them in JSON. The package ships the weights every published number was measured with
(`metrics/weights/`), so FIDs compare across machines and nothing trains at first use; a classifier without shipped
weights (a new dataset or recipe version) is trained once (fixed seed and batch order) and cached per machine.
`python -m mmgen_jax.metrics.classifier NAME` trains one into the cache.
"""
import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import tqdm

from mmgen_jax.checkpoint import write_json
from mmgen_jax.files import atomic_write
from mmgen_jax.data import batch_indices, open_source
from mmgen_jax.errors import UserError
from mmgen_jax.layers.conv import Conv
from mmgen_jax.locks import file_lock

# name -> (dataset, number of classes, training steps); bump the version when the recipe changes.
CLASSIFIERS = {"digits": ("digits", 10, 800)}
VERSION = 1


class DomainClassifier(nn.Module):
  """uint8 images [B, H, W, C] -> (features [B, 128], logits [B, num_classes])."""
  num_classes: int = 10

  @nn.compact
  def __call__(self, images):
    x = images.astype(jnp.float32) / 127.5 - 1.0
    for width in (16, 32, 64):
      x = nn.relu(Conv(width, (3, 3))(x))
      x = nn.max_pool(x, (2, 2), (2, 2))
    x = jnp.mean(x, axis=(1, 2))
    features = nn.relu(nn.Dense(128)(x))
    return features, nn.Dense(self.num_classes)(features)


def cache_dir():
  return os.environ.get("MMGEN_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "mmgen_jax"))


def flatten_params(params):
  """{key path string: numpy array}: a params pytree as .npz entries (no pickle)."""
  return {jax.tree_util.keystr(k): np.asarray(v) for k, v in jax.tree_util.tree_leaves_with_path(params)}


def unflatten_params(flat, template):
  """The pytree of `template` (arrays or ShapeDtypeStructs) filled from `flatten_params`' entries."""
  return jax.tree_util.tree_map_with_path(lambda k, _: jnp.asarray(flat[jax.tree_util.keystr(k)]), template)


def random_shift(rng, images):
  """The recipe's augmentation: the whole batch of float [B, H, W, C] rolled by one random shift of +-2 px."""
  shift = jax.random.randint(rng, (2,), -2, 3)
  return jnp.roll(images, shift, axis=(1, 2))


def fit(arrays, num_classes, steps, progress=True, desc="training the classifier", *, batch_size=64,
        augment=random_shift, seed=0):
  """The domain classifier trained on arrays {'image': uint8 [N, H, W, C], 'label': int [N]} (batches of
  `batch_size`, Adam with cosine decay from 2e-3) for `steps` steps -> params.

  augment(rng, images float32 [B, H, W, C] in [0, 255]) -> images, inside the jitted step, or None: the default
  shifts make the features also cover slightly misplaced generated digits; with arrays['augment'] (bool [N]) only
  the examples it marks are augmented. seed: the initialisation, batch order and augmentation draws (the shipped
  weights: 0)."""
  model = DomainClassifier(num_classes)
  params = jax.jit(model.init)(jax.random.PRNGKey(seed), arrays["image"][:1])  # Eagerly: one program per initialiser.
  tx = optax.adam(optax.cosine_decay_schedule(2e-3, steps))
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, images, labels, marked, rng):
    images = images.astype(jnp.float32)
    if augment is not None:
      images = jnp.where(marked[:, None, None, None], augment(rng, images), images)

    def loss_fn(p):
      return optax.softmax_cross_entropy_with_integer_labels(model.apply(p, images)[1], labels).mean()

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  n = len(arrays["label"])
  marked = np.asarray(arrays.get("augment", np.ones(n, bool)), bool)
  for s in tqdm.trange(steps, desc=desc, disable=not progress, leave=False):
    idx = batch_indices(n, batch_size, seed, s)
    rng = jax.random.fold_in(jax.random.PRNGKey(seed), s) if seed else jax.random.PRNGKey(s)
    params, opt_state, _ = step(params, opt_state, arrays["image"][idx], arrays["label"][idx], marked[idx], rng)
  return params


def accuracy(params, arrays, num_classes):
  """The fraction of arrays' images (uint8 [N, H, W, C]) whose most likely class is their label."""
  logits = jax.jit(DomainClassifier(num_classes).apply)(params, arrays["image"])[1]
  return float(np.mean(np.argmax(logits, -1) == arrays["label"]))


def _train(name, progress=True):
  dataset, num_classes, steps = CLASSIFIERS[name]
  params = fit(open_source(dataset, "train").arrays, num_classes, steps, progress,
               desc=f"training the {name} classifier (once)")
  return params, accuracy(params, open_source(dataset, "test").arrays, num_classes)


def shipped_path(name):
  """Where the package's own weights of classifier `name` are (without the .npz / .json suffix)."""
  return os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", f"{name}-v{VERSION}")


def trained_path(name, progress=True):
  """The machine's cached classifier `name` (trained first if absent), without the .npz / .json suffix."""
  dataset = CLASSIFIERS[name][0]
  path = os.path.join(cache_dir(), "classifiers", f"{name}-v{VERSION}")
  with file_lock(path + ".lock"):  # One process trains; the others wait and load its cache.
    if not (os.path.exists(path + ".npz") and os.path.exists(path + ".json")):
      params, accuracy = _train(name, progress)
      with atomic_write(path + ".npz", "wb") as f:
        np.savez(f, **flatten_params(params))
      write_json(path + ".json", {"test_accuracy": accuracy, "dataset": dataset, "version": VERSION})
  return path


class FeatureExtractor:
  """Jitted, batched `features(images)` -> [N, 128] and `probs(images)` -> [N, K] for a domain classifier."""

  def __init__(self, name, progress=True):
    if name not in CLASSIFIERS:
      raise UserError(f"no domain classifier for dataset {name!r}: classifier metrics exist for "
                      f"{', '.join(CLASSIFIERS)}; for other data use the Inception extractor")
    _, num_classes, _ = CLASSIFIERS[name]
    model = DomainClassifier(num_classes)
    template = jax.eval_shape(model.init, jax.random.PRNGKey(0), np.zeros((1, 32, 32, 1), np.uint8))
    path = shipped_path(name)
    if not os.path.exists(path + ".npz"):
      path = trained_path(name, progress)
    with np.load(path + ".npz", allow_pickle=False) as f:
      flat = dict(f)
    params = unflatten_params(flat, template)
    with open(path + ".json") as f:
      self.test_accuracy = json.load(f)["test_accuracy"]
    self.name, self.params = name, params
    self._apply = jax.jit(model.apply)

  def __call__(self, images, batch_size=500):
    """uint8 [N, H, W, C] -> (features [N, 128], class probabilities [N, K]) as numpy, in jitted batches."""
    feats, probs = [], []
    for i in range(0, len(images), batch_size):
      chunk = np.asarray(images[i:i + batch_size])
      pad = batch_size - len(chunk)  # A fixed batch shape: one compilation for every call.
      f, logits = self._apply(self.params, np.pad(chunk, [(0, pad)] + [(0, 0)] * (chunk.ndim - 1)))
      feats.append(np.asarray(f)[:len(chunk)])
      probs.append(np.asarray(jax.nn.softmax(logits))[:len(chunk)])
    return np.concatenate(feats), np.concatenate(probs)


if __name__ == "__main__":
  import sys
  print(trained_path(sys.argv[1]) + ".npz")
