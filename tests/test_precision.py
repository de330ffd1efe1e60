"""Mixed precision in every family: with model.compute_dtype=bfloat16, every convolution and matmul of the train
step takes bfloat16 operands, while parameters and optimizer state stay float32 (before and after the step), and
the step returns the state with the very types it took (else every run compiles its step twice).

The step is only lowered (traced to StableHLO), not compiled: each family costs a trace, not an XLA compile. That one
bf16 step also trains and its model samples and evaluates is the zoo smoke test's job (`BF16_SMOKE_CONFIGS`).
"""
import inspect
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mmgen_jax.config import apply_overrides, get_config, list_configs
from mmgen_jax.data import host_batches, masks, open_source
from mmgen_jax.errors import UserError
from mmgen_jax.layers import audio, augment, code_density, image_features, style_stats
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.models import get_family

# An op line of the lowered module: `stablehlo.convolution(...)` or `stablehlo.dot_general ...`, its operand types at
# the end, `: (tensor<AxBxf32>, tensor<...>) -> tensor<...>`, then (with debug info) its source location.
_OP = re.compile(r"stablehlo\.(convolution|dot_general)\b.*?:\s*\(tensor<([^>]*)>,\s*tensor<([^>]*)>\)")
# Every family, and within one every set of modules its configs use (cgan's four condition encoders, the
# conditional VAE's label embeddings, inpainting's two first guesses); the other configs reuse these with other data
# or sizes (vgan_photos' warp head and style_videos' temporal term include what vgan_digits and style_photos use).
PRECISION_CONFIGS = ("any2any_digits", "audio2img_digits", "cae_digits", "caption_digits", "cgan_digits",
                     "cvae_digits_fewshot", "dcgan_digits", "edges2faces", "features2img_digits", "inpaint_faces",
                     "inpaint_photos", "mvae_digits", "style_videos", "text2img_digits", "vae_digits", "vgan_photos",
                     "vsr_photos")


_LOC_ALIAS = re.compile(r"^(#loc\d+) = loc\((.*)\)$")
_SOURCE = re.compile(r'"([^"]*mmgen_jax/[^"]*\.py)":(\d+)')


def _sources(text, aliases, depth=0):
  """The mmgen_jax file:line places a location (with its #loc aliases followed) names, innermost call first."""
  places = [f"{path.split('mmgen_jax/')[-1]}:{line}" for path, line in _SOURCE.findall(text)]
  if depth < 20:
    for alias in re.findall(r"#loc\d+", text):
      places += _sources(aliases.get(alias, ""), aliases, depth + 1)
  return places


def matmul_operand_types(hlo_text):
  """[(op, lhs element type, rhs element type, where)] of every convolution and dot_general; `where` is the
  mmgen_jax source lines that made it (with debug info) or the op's text."""
  lines = hlo_text.splitlines()
  aliases = dict(m.groups() for m in map(_LOC_ALIAS.match, lines) if m)
  found = []
  for line in lines:
    match = _OP.search(line)
    if match:
      op, lhs, rhs = match.groups()
      where = " <- ".join(dict.fromkeys(_sources(line[match.end():], aliases))) or line.strip()[:300]
      found.append((op, lhs, rhs, where))
  return found


# Code whose own convolutions and matmuls stay float32 on purpose: fixed measurements and data preparation, not
# learnt layers (modules, or functions of them). Matrix-vector products are exempt too (spectral norm's power
# iteration: its u vector is float32 state, and vectors are too small to matter for speed).
FLOAT32_BY_DESIGN = (
    augment,  # Data augmentation's resampling of the training images.
    masks,  # The random hole masks of inpainting.
    image_features.convolve, image_features.to_gray,  # Fixed Sobel/Gabor/grey features, checked against skimage.
    style_stats,  # Feature statistics and Gram matrices of the style losses (reductions).
    audio.log_mel_spectrogram,  # Log-mel targets of the audio likelihoods, computed from the data.
    code_density,  # EM statistics of the fitted prior over a model's codes (no gradient flows).
)


def _source_ranges(objects):
  """{file relative to mmgen_jax/: [(first line, last line)]} of modules and functions."""
  ranges = {}
  for obj in objects:
    lines, first = inspect.getsourcelines(obj)
    path = inspect.getsourcefile(obj).split("mmgen_jax/")[-1]
    ranges.setdefault(path, []).append((max(first, 1), max(first, 1) + len(lines) - 1))
  return ranges


_EXEMPT = _source_ranges(FLOAT32_BY_DESIGN)


def _float32_by_design(where):
  """Whether the op's innermost mmgen_jax source line lies in FLOAT32_BY_DESIGN's code."""
  path, _, line = where.split(" <- ")[0].partition(":")
  return line.isdigit() and any(a <= int(line) <= b for a, b in _EXEMPT.get(path, ()))


def _is_vector(tensor_type):
  """'1x512xf32' -> True: at most one dimension above 1 (a matrix-vector product's vector)."""
  return sum(int(d) > 1 for d in tensor_type.split("x")[:-1]) <= 1


def _first_batch(family, config):
  d = config.data
  source = open_source(d.source, d.split, d.image_size, d.channels, d.get("frames"))
  config = family.prepare_config(config, source)
  batch = next(host_batches(source, d.batch_size, 0, features=family.input_features(config), use_tf=False))
  return config, family.encode_inputs(config, batch)


def _float_dtypes(tree):
  return {str(x.dtype) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)}


def _types(tree):
  """{path: (shape, dtype, weak_type)} of a tree of abstract arrays: what jit keys its compiled programs on."""
  return {jax.tree_util.keystr(path): (x.shape, str(x.dtype), bool(getattr(x, "weak_type", False)))
          for path, x in jax.tree_util.tree_leaves_with_path(tree)}


@pytest.mark.parametrize("name", PRECISION_CONFIGS)
def test_bf16_train_step_multiplies_in_bf16_and_keeps_state_in_float32(name):
  config = apply_overrides(get_config(name, smoke=True), ["model.compute_dtype=bfloat16"])  # As `--set` does.
  family = get_family(config.family)
  config, batch = _first_batch(family, config)
  state = jax.eval_shape(lambda: family.init_state(config, jax.random.PRNGKey(0)))
  assert _float_dtypes(state) == {"float32"}
  traced = jax.jit(lambda s, b: family.train_step(config, s, b, jax.random.PRNGKey(1))).trace(state, batch)
  new_state, metrics = traced.out_info
  assert _float_dtypes(new_state) == {"float32"}, "the step changed the dtype of params or optimizer state"
  # A state leaf whose type the step changes (a weakly typed init, say) makes the second step compile the step again.
  before, after = _types(state), _types(new_state)
  changed = [f"{k}: {before[k]} -> {after[k]}" for k in before if before[k] != after.get(k)]
  assert not changed and before.keys() == after.keys(), "the step changes the state's types:\n" + "\n".join(changed)
  assert _float_dtypes(metrics) <= {"float32"}, "losses and metrics are reported in float32"
  ops = matmul_operand_types(traced.lower().as_text(debug_info=True))
  checked = [op for op in ops if not (_is_vector(op[1]) or _is_vector(op[2]) or _float32_by_design(op[3]))]
  assert checked, "no convolution or matmul found: the pattern no longer matches StableHLO's text"
  in_f32 = [f"{op} ({lhs}, {rhs}) at {where}" for op, lhs, rhs, where in checked
            if not (lhs.endswith("xbf16") and rhs.endswith("xbf16"))]
  assert not in_f32, f"{len(in_f32)} of {len(checked)} convolutions/matmuls not in bf16:\n" + "\n".join(
      dict.fromkeys(in_f32))


def test_float32_compute_is_the_plain_apply_and_bf16_returns_float32():
  import flax.linen as nn

  module = nn.Dense(3)
  x = jnp.ones((2, 4), jnp.float32)
  variables = module.init(jax.random.PRNGKey(0), x)
  np.testing.assert_array_equal(mixed_apply(module, variables, x), module.apply(variables, x))
  out = mixed_apply(module, variables, x, dtype=jnp.bfloat16)
  assert out.dtype == jnp.float32
  # Computed from bf16-rounded operands: close to the float32 result, but not equal to it.
  reference = module.apply(jax.tree.map(lambda p: p.astype(jnp.bfloat16).astype(jnp.float32), variables),
                           x.astype(jnp.bfloat16).astype(jnp.float32))
  np.testing.assert_allclose(out, reference, rtol=1e-2, atol=1e-2)


def test_every_config_takes_the_compute_dtype_from_the_command_line():
  """`mmgen-jax train CONFIG --set model.compute_dtype=bfloat16` for every config, full and smoke (a config that
  rebuilt its model group without the key refused it as unknown)."""
  for name in list_configs():
    for smoke in (False, True):
      config = apply_overrides(get_config(name, smoke=smoke), ["model.compute_dtype=bfloat16"])
      assert compute_dtype(config) == jnp.bfloat16, name


def test_an_unknown_compute_dtype_is_one_error_line():
  config = get_config("cgan_digits", smoke=True)
  config.model.compute_dtype = "float16"
  with pytest.raises(UserError, match="model.compute_dtype=bfloat16"):
    compute_dtype(config)


def test_every_family_is_checked():
  from mmgen_jax.models import list_families
  assert sorted({get_config(name).family for name in PRECISION_CONFIGS}) == list_families()
