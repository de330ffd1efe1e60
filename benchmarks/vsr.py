"""x4 video super-resolution on held-out videos, each run beside bicubic in the same run.

For each workdir (`vsr` runs: with propagation, and the single-frame baseline): PSNR/SSIM on the Y channel with a
4-pixel border crop (BasicSR's protocol) over every frame of the 128 test clips, and of bicubic upsampling; then
clips 4x longer than training's (24 frames) through the rolled scan: their PSNR, ms per frame, and the compiled
program's memory (XLA's own accounting: temporaries, arguments, outputs) at T = 6 and T = 24. Pictures in --out:
per clip, the middle frame as LR (nearest x4) | bicubic | ours | HR.

  python benchmarks/vsr.py --workdir workdirs/vsr_photos --workdir workdirs/vsr_photos_single
"""
import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

import mmgen_jax
from mmgen_jax.data import videos
from mmgen_jax.models import vsr
from mmgen_jax.train.images import panels
from mmgen_jax.train.images import save_grid

LONG = 4 * videos.FRAMES


def memory(config, variables, frames):
  """XLA's memory accounting of `upscale` on one clip of `frames` 16x16 frames, in MB."""
  lr = jax.ShapeDtypeStruct((1, frames, 16, 16, 3), jnp.uint8)
  stats = jax.jit(lambda v, x: vsr.upscale(config, v, x)).lower(variables, lr).compile().memory_analysis()
  return {"temp_mb": stats.temp_size_in_bytes / 1e6, "output_mb": stats.output_size_in_bytes / 1e6,
          "argument_mb": stats.argument_size_in_bytes / 1e6}


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", action="append", required=True)
  p.add_argument("--out", default="docs/results/vsr")
  args = p.parse_args()
  os.makedirs(args.out, exist_ok=True)
  long_clips = videos.camera_videos("test", 16, LONG, seed=99)
  report = {}
  for workdir in args.workdir:
    model = mmgen_jax.load(workdir)
    config, name = model.config, os.path.basename(os.path.normpath(workdir))
    scores = vsr.evaluate(config, model.state)
    run = jax.jit(lambda v, lr: vsr.upscale(config, v, lr))
    jax.block_until_ready(run(model.variables, long_clips["lr_video"]))  # Compile.
    start = time.perf_counter()
    long_out = np.asarray(run(model.variables, long_clips["lr_video"]))
    ms_per_frame = 1e3 * (time.perf_counter() - start) / (16 * LONG)
    long_scores = vsr.frame_scores(long_out, long_clips["hr_video"])
    long_bicubic = vsr.frame_scores(vsr.bicubic(long_clips["lr_video"]), long_clips["hr_video"])
    out = model.sample(0, 4)
    mid = videos.FRAMES // 2
    lr = np.asarray(out["lr_video"])[:, mid]
    grid = panels(np.repeat(np.repeat(lr, 4, 1), 4, 2), vsr.bicubic(np.asarray(out["lr_video"]))[:, mid],
                  out["images"], np.asarray(out["hr_video"])[:, mid])
    save_grid(os.path.join(args.out, f"{name}.png"), grid.reshape((-1,) + grid.shape[2:]), cols=4)
    report[name] = {
        "propagation": bool(config.model.propagation), "step": int(model.step),
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in scores.items()},
        "margin_over_bicubic_db": round(scores["psnr"] - scores["bicubic_psnr"], 2),
        f"long_{LONG}_frames": {"psnr": round(long_scores["psnr"], 3), "bicubic_psnr": round(long_bicubic["psnr"], 3),
                                "ms_per_frame": round(ms_per_frame, 2)},
        "memory_T6": memory(config, model.variables, videos.FRAMES),
        f"memory_T{LONG}": memory(config, model.variables, LONG)}
    print(json.dumps({name: report[name]}), flush=True)
  single = [r["psnr"] for r in report.values() if not r["propagation"]]
  if single:  # The second bar: propagation against the same network on single frames.
    for r in report.values():
      if r["propagation"]:
        r["margin_over_single_frame_db"] = round(r["psnr"] - max(single), 2)
  print(json.dumps(report, indent=1))


if __name__ == "__main__":
  main()
