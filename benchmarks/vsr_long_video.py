"""Long-video super-resolution in bounded memory: `mmgen-jax sample` on videos of 30, 100 and 300 frames of 180x320
(-> 720x1280), in overlapping chunks (`infer.chunk_frames`, `vsr.host_sample`), in chunks that carry the recurrent
state across (`infer.carry_state`, `vsr.stream_video`) and whole, each run in a fresh process.

  python benchmarks/vsr_long_video.py --workdir workdirs/vsr_photos [--frames 30,100,300] [--carried 30,100,300]
      [--whole 30,100]
  python benchmarks/vsr_long_video.py --workdir workdirs/vsr_photos --frames 100 --carried 100 --whole 100 \
      --size 90x160

Per run, one JSON line: frames, how (chunks, carried or whole), wall seconds (compile included) and seconds per
frame, the process's peak resident memory (VmHWM) and how much of it the input and output clips are (uint8, they
grow with the length whatever the chunking), and XLA's own memory for one chunk's program (temp buffers, from the
compiled program's memory analysis). Then, for the lengths run whole too, how far each chunked output is from the whole
video's: max abs difference, the share of identical values, and the PSNR between the two (uint8 levels); and how
far each strays from the bicubic upsampling per frame (the lowest PSNR over the frames, and over the last tenth):
a model trained on 6-frame clips whose propagation drifts over long videos shows there.
The video: a slow pan with zoom over scikit-image's `astronaut` photo, each frame cut out and area-downsampled to
180x320 by default (a camera moving over a real scene; no ground truth is needed to compare the two ways).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

SIZE = (180, 320)


def pan_video(frames, size=SIZE, seed=0):
  """uint8 [1, frames, h, w, 3]: a window panning and zooming slowly over the astronaut photo, downsampled."""
  from skimage import data
  from skimage.transform import resize

  photo = data.astronaut() / 255.0
  h, w = size
  rng = np.random.default_rng(seed)
  drift = rng.uniform(0.2, 0.5, 2)
  out = []
  for t in range(frames):
    scale = 1.4 + 0.3 * np.sin(t / 40)  # Source pixels per output pixel.
    ch, cw = int(h * scale), int(w * scale)
    y = int((photo.shape[0] - ch) * (0.5 + 0.45 * np.sin(drift[0] * t / 10)))
    x = int((photo.shape[1] - cw) * (0.5 + 0.45 * np.sin(drift[1] * t / 10 + 1)))
    crop = photo[max(y, 0):max(y, 0) + ch, max(x, 0):max(x, 0) + cw]
    out.append(resize(crop, (h, w, 3), anti_aliasing=True))
  return (np.clip(np.asarray(out), 0, 1) * 255).round().astype(np.uint8)[None]


def peak_rss_mib():
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith("VmHWM:"):
        return int(line.split()[1]) / 1024
  return float("nan")


HOWS = ("chunks", "carried", "whole")


def run_one(workdir, frames, how, out_path, size=SIZE):
  """In this (fresh) process: upscale a `frames`-long pan `how` (one of HOWS), write the output to out_path, print
  one JSON line."""
  import jax

  from mmgen_jax.models import vsr
  from mmgen_jax.sampler import load

  settings = {"chunks": [], "carried": ["infer.carry_state=true"], "whole": ["infer.chunk_frames=0"]}[how]
  model = load(workdir, settings=settings)
  lr = pan_video(frames, size)
  start = time.perf_counter()
  video = np.asarray(model.sample(0, 1, lr_video=lr)["video"])
  seconds = time.perf_counter() - start
  f = model.config.infer
  piece = jax.ShapeDtypeStruct((1, frames if how == "whole" else min(frames, f.chunk_frames), *size, 3), np.uint8)
  if how == "carried":  # The chunk program of the second sweep (the first runs less).
    frame = jax.ShapeDtypeStruct((1, *size, 3), np.uint8)
    state = jax.ShapeDtypeStruct((1, *size, model.config.model.width), np.float32)
    context = {"before": frame, "after": frame, "backward": state, "forward": state}
    compiled = jax.jit(lambda v, x, c: vsr.upscale_chunk(model.config, v, x, c)).lower(
        model.variables, piece, context).compile()
  else:
    compiled = jax.jit(lambda v, x: vsr.upscale(model.config, v, x)).lower(model.variables, piece).compile()
  np.save(out_path, video)
  print(json.dumps({
      "frames": frames, "how": {"chunks": f"chunks of {f.chunk_frames} (+{f.chunk_overlap} each side)",
                                "carried": f"chunks of <= {f.chunk_frames}, state carried", "whole": "whole"}[how],
      "seconds": round(seconds, 1), "seconds_per_frame": round(seconds / frames, 3),
      "peak_rss_mib": round(peak_rss_mib()), "clips_mib": round((lr.nbytes + video.nbytes) / 2 ** 20),
      "xla_temp_mib_per_piece": round(compiled.memory_analysis().temp_size_in_bytes / 2 ** 20),
      "compute_dtype": model.config.model.get("compute_dtype", "float32")}), flush=True)


def psnr(a, b, axis=None):
  mse = np.mean((a.astype(np.float64) - b) ** 2, axis=axis)
  return np.round(10 * np.log10(255 ** 2 / np.maximum(mse, 1e-12)), 2)


def compare(chunked, whole, frames, size):
  from mmgen_jax.models import vsr

  a, b = np.load(chunked)[0].astype(np.int16), np.load(whole)[0].astype(np.int16)
  base = vsr.bicubic(pan_video(frames, size))[0].astype(np.int16)
  per_frame = lambda x: psnr(x.reshape(frames, -1), base.reshape(frames, -1), axis=1)
  tail = max(1, frames // 10)
  return {"max_abs_difference": int(np.abs(a - b).max()), "identical": round(float(np.mean(a == b)), 5),
          "psnr_db": float(psnr(a, b)),
          "vs_bicubic_lowest_psnr": {"chunked": float(per_frame(a).min()), "whole": float(per_frame(b).min())},
          "vs_bicubic_last_tenth_psnr": {"chunked": float(per_frame(a)[-tail:].mean().round(2)),
                                         "whole": float(per_frame(b)[-tail:].mean().round(2))}}


def main():
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True)
  p.add_argument("--frames", default="30,100,300", help="lengths run in overlapping chunks (the default sampler)")
  p.add_argument("--carried", default="30,100,300", help="lengths run in chunks that carry the state across")
  p.add_argument("--whole", default="30,100", help="lengths also run as one whole video, to compare")
  p.add_argument("--size", default="x".join(map(str, SIZE)), help="LR frame size HxW")
  p.add_argument("--one", nargs=3, metavar=("FRAMES", "HOW", "OUT"), help=argparse.SUPPRESS)
  args = p.parse_args()
  size = tuple(int(v) for v in args.size.split("x"))
  if args.one:
    return run_one(args.workdir, int(args.one[0]), args.one[1], args.one[2], size)
  tmp = tempfile.mkdtemp(prefix="vsr_long_")
  lengths = lambda text: [int(n) for n in text.split(",") if n]
  runs = [(n, how) for how, text in zip(HOWS, (args.frames, args.carried, args.whole)) for n in lengths(text)]
  path = lambda frames, how: os.path.join(tmp, f"{frames}_{how}.npy")
  for frames, how in runs:
    subprocess.run([sys.executable, __file__, "--workdir", args.workdir, "--size", args.size, "--one", str(frames),
                    how, path(frames, how)], check=True)
  for frames, how in runs:
    if how != "whole" and os.path.exists(path(frames, "whole")):
      print(json.dumps({"frames": frames, "size": args.size, "how": how, "vs_whole": compare(
          path(frames, how), path(frames, "whole"), frames, size)}))
  shutil.rmtree(tmp)


if __name__ == "__main__":
  main()
