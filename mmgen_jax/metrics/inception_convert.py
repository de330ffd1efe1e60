"""Converts pytorch-fid's FID Inception weights (pt_inception-2015-12-05-6726825d.pth) to our .npz.

  pip install torch   # optional extra, only for this conversion
  python -m mmgen_jax.metrics.inception_convert pt_inception-2015-12-05-6726825d.pth ~/.cache/mmgen_jax/inception/fid_inception_v3.npz

The .pth is read with torch.load(weights_only=True): tensors only, no arbitrary unpickling.
"""
import os
import sys

import jax
import numpy as np

from mmgen_jax.metrics import inception


def convert_state_dict(state_dict):
  """{torch name: numpy array} -> {flax keystr: numpy array} for `FIDInceptionV3` variables."""
  out = {}
  for name, value in state_dict.items():
    value = np.asarray(value, np.float32)
    *path, leaf = name.split(".")
    if leaf == "num_batches_tracked":
      continue
    collection, key = "params", leaf
    if path[-1] == "conv" and leaf == "weight":
      key, value = "kernel", value.transpose(2, 3, 1, 0)  # [out, in, kh, kw] -> [kh, kw, in, out]
    elif path[-1] == "bn":
      key = {"weight": "scale", "bias": "bias", "running_mean": "mean", "running_var": "var"}[leaf]
      collection = "batch_stats" if leaf.startswith("running") else "params"
    elif path == ["fc"]:
      key, value = ("kernel", value.T) if leaf == "weight" else ("bias", value)
    else:
      raise ValueError(f"unexpected weight {name!r}: is this pytorch-fid's FID Inception file?")
    out["".join(f"['{p}']" for p in [collection, *path, key])] = value
  return out


def main(argv):
  if len(argv) != 2:
    print(__doc__, file=sys.stderr)
    return 2
  import torch  # Optional: only this converter needs it.
  state_dict = {k: v.numpy() for k, v in torch.load(argv[0], map_location="cpu", weights_only=True).items()}
  flat = convert_state_dict(state_dict)
  template = {jax.tree_util.keystr(k): v.shape for k, v in
              jax.tree_util.tree_leaves_with_path(jax.eval_shape(inception.init_variables))}
  bad = {k for k in template if k not in flat or flat[k].shape != template[k]}
  if bad:
    print(f"error: {len(bad)} arrays missing or mis-shaped, e.g. {sorted(bad)[0]}", file=sys.stderr)
    return 2
  os.makedirs(os.path.dirname(os.path.abspath(argv[1])), exist_ok=True)
  np.savez(argv[1], **flat)
  print(f"wrote {argv[1]} ({len(flat)} arrays)")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
