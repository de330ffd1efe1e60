"""Feed-forward style transfer against its baselines, on held-out content photos and held-out style images.

For every pair of a test photo (`photos` test split: coffee, rocket; centre crops of --size) and a test style
(`data/styles.py` TEST_STYLES, never seen in training; centre crops of --size), each method makes one image:

  feed-forward   the trained `style` model of each --workdir (one forward pass, timed after compilation)
  Gatys          optimisation-based transfer (Gatys et al. 2016) with the same loss network: Adam on the pixels from
                 the content image, content loss (the model's AdaIN depth) + --gatys-style-weight x Gram style loss
                 (four maps) + the model's colour term, --gatys-steps steps; the quality ceiling and the speed
                 floor. Also with the other loss networks of --loss-networks: which style losses each gives
  histogram      skimage.exposure.match_histograms of the content to the style (colour only)
  content        the content image unchanged

and is scored by `metrics/style_distance.py` (Gabor-Gram texture + HSV-histogram colour distance to the style
image, features no model here trains on) and by the SSIM of its luminance to the content's. Writes a Markdown table,
a grid (rows: contents, columns: styles) and a strength sweep to --out (images.md, images.json, grid.png,
strength.png).

With --video-workdir (a `style_videos` model; repeat it, and --workdir, for several training runs), also on the
held-out `video_styles` clips: the per-frame models (--workdir) against those trained with the temporal term, by
style distance, SSIM and the warping error between consecutive stylised frames (the camera's exact flow), and the
mean of the runs of each kind, with GIFs (video.md, video.json, clips.gif). --only runs one of the two.

  python benchmarks/style_transfer.py --workdir workdirs/style_photos --video-workdir workdirs/style_videos
  python benchmarks/style_transfer.py --only video --workdir workdirs/style_photos --workdir workdirs/style_photos_s1 \
      --video-workdir workdirs/style_videos --video-workdir workdirs/style_videos_s1   # runs trained with --set seed=1
"""
import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import tqdm

import mmgen_jax
from mmgen_jax.data import photos, styles
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.data.sources import split_arrays
from mmgen_jax.layers.style_stats import colour_loss, content_loss, gram_style_loss
from mmgen_jax.metrics import loss_network
from mmgen_jax.models import style as style_family
from mmgen_jax.train.images import save_gif, save_grid


def centre_crop(image, size):
  """float [H, W, 3] in [0, 1] -> uint8 [size, size, 3]: resized so the short side is `size`, centre-cropped."""
  image = styles.resize_short_side(image, size)
  y, x = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
  return np.clip(np.round(image[y:y + size, x:x + size] * 255.0), 0, 255).astype(np.uint8)


def make_gatys(steps, style_weight, depth, colour_weight, lr=0.02):
  """A jitted (loss_net params, content uint8 [H, W, 3], style uint8 [H', W', 3]) -> uint8 [H, W, 3]: Adam on the
  pixels (from the content) for content (map `depth`) + style_weight x Gram style loss + colour_weight x colour
  loss (the feed-forward model's colour term). Compiled once per image size, whatever the pair or loss network."""
  tx = optax.adam(lr)

  @jax.jit
  def run(loss_net, content, style_image):
    c, s = to_float(content[None]), to_float(style_image[None])
    target_content = style_family.encode(loss_net, c)[depth - 1]
    target_style = style_family.encode(loss_net, s)

    def loss_fn(x):
      maps = style_family.encode(loss_net, x)
      return jnp.sum(content_loss(maps[depth - 1], target_content)
                     + style_weight * gram_style_loss(maps, target_style) + colour_weight * colour_loss(x, s))

    def step(carry, _):
      x, opt_state = carry
      grads = jax.grad(loss_fn)(x)
      updates, opt_state = tx.update(grads, opt_state, x)
      return (jnp.clip(optax.apply_updates(x, updates), -1.0, 1.0), opt_state), None

    (x, _), _ = jax.lax.scan(step, (c, tx.init(c)), None, length=steps)
    return to_uint8(x)[0]

  return run


def video_table(models, video_models, out_dir, num_gif=4):
  """Markdown rows for the held-out `video_styles` clips: each per-frame model (`style_photos` runs) and each
  temporal one (`style_videos` runs), then the temporal runs' mean against the per-frame runs' (a training run's
  flicker varies by ~20% with its seed: one run of each is not enough to compare); writes clips.gif (rows: content,
  the first per-frame run, the first temporal run)."""
  arrays = split_arrays("video_styles", "test")
  rows, outputs = {}, {}
  for name, model in [*models.items(), *video_models.items()]:
    rows[name] = style_family.clip_metrics(model.config, model.variables, arrays)
    outputs[name] = np.asarray(model.sample(0, num_gif, video=arrays["video"][:num_gif],
                                            style=arrays["style"][:num_gif])["video"])
  lines = ["| model | run | style distance | luminance SSIM to content | warping error (levels of 255) |",
           "|---|---|---|---|---|"]
  kind = lambda name: "per-frame" if name in models else "temporal"
  lines += [f"| {kind(name)} | `{name}` | {r['style_distance']:.3f} | {r['content_ssim']:.3f} | "
            f"{r['warping_error']:.2f} |" for name, r in rows.items()]
  lines.append(f"| content (resampling alone) | | | | {next(iter(rows.values()))['content_warping_error']:.2f} |")
  mean = lambda names, key: float(np.mean([rows[n][key] for n in names]))
  drop = 1 - mean(video_models, "warping_error") / mean(models, "warping_error")
  change = mean(video_models, "style_distance") / mean(models, "style_distance") - 1
  drops = [1 - rows[v]["warping_error"] / rows[m]["warping_error"] for v in video_models for m in models]
  lines.append(f"\ntemporal ({len(video_models)} runs) vs per-frame ({len(models)} runs), means: warping error "
               f"{100 * drop:.0f}% lower (pairs of runs: {100 * min(drops):.0f}% to {100 * max(drops):.0f}%), style "
               f"distance {100 * change:+.0f}% ({next(iter(rows.values()))['num']} clips of "
               f"{arrays['video'].shape[1]} frames)")
  clips = np.concatenate([arrays["video"][:num_gif], outputs[next(iter(models))], outputs[next(iter(video_models))]])
  save_gif(os.path.join(out_dir, "clips.gif"), clips, cols=num_gif, scale=2)
  return lines, rows


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", action="append", required=True, help="a trained style_photos workdir (repeat)")
  parser.add_argument("--size", type=int, default=256)
  parser.add_argument("--gatys-steps", type=int, default=300)
  parser.add_argument("--gatys-style-weight", type=float, default=1e3)
  parser.add_argument("--loss-networks", default="patches,autoencoder,random",
                      help="Gatys with each of these loss networks (metrics/loss_network.py): which style losses "
                           "they give")
  parser.add_argument("--video-workdir", action="append",
                      help="a trained style_videos workdir (repeat: several runs): the video table and GIFs")
  parser.add_argument("--only", choices=("images", "video"), help="run one of the two tables")
  parser.add_argument("--out", default="docs/results/style")
  args = parser.parse_args()
  os.makedirs(args.out, exist_ok=True)
  models = {os.path.basename(os.path.normpath(w)): mmgen_jax.load(w) for w in args.workdir}
  if args.only != "video":
    image_table(args, models)
  if args.video_workdir and args.only != "images":
    video_models = {os.path.basename(os.path.normpath(w)): mmgen_jax.load(w) for w in args.video_workdir}
    lines, rows = video_table(models, video_models, args.out)
    write_table(args.out, "video", ["Held-out `video_styles` clips:", ""] + lines, rows)


def write_table(out_dir, name, lines, rows):
  """Prints the Markdown lines and writes them to OUT/NAME.md, the rows to OUT/NAME.json."""
  text = "\n".join(lines)
  print(text)
  with open(os.path.join(out_dir, f"{name}.md"), "w") as f:
    f.write(text + "\n")
  with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
    json.dump(rows, f, indent=1)


def image_table(args, models):
  """The image table (images.md / images.json), grid.png and strength.png."""
  from skimage.exposure import match_histograms

  contents = [centre_crop(p, args.size) for p in photos.split_photos("test")]
  style_images = [centre_crop(s, args.size) for s in styles.split_styles("test")]
  pairs = [(c, s) for c in contents for s in style_images]
  outputs, seconds = {}, {}
  for name, model in models.items():
    # The forward pass alone, as Gatys' optimisation is timed: the family's jitted sampler on device arrays.
    forward = jax.jit(lambda v, c, s, config=model.config: style_family.sample(config, v, None, 1, image=c, style=s))
    device_pairs = [(jnp.asarray(c[None]), jnp.asarray(s[None])) for c, s in pairs]
    jax.block_until_ready(forward(model.variables, *device_pairs[0]))  # Compile first.
    start = time.perf_counter()
    results = [jax.block_until_ready(forward(model.variables, c, s)["images"][0]) for c, s in device_pairs]
    seconds[f"feed-forward ({name})"] = (time.perf_counter() - start) / len(pairs)
    outputs[f"feed-forward ({name})"] = [np.asarray(r) for r in results]
  first = next(iter(models.values()))
  print(f"feed-forward: {seconds} s per image", flush=True)
  gatys = make_gatys(args.gatys_steps, args.gatys_style_weight, first.config.model.adain_depth,
                     first.config.loss.colour_weight)
  for recipe in args.loss_networks.split(","):
    loss_net = loss_network.load(recipe)
    jax.block_until_ready(gatys(loss_net, *pairs[0]))  # Compilation is not part of the timing.
    start = time.perf_counter()
    results = [np.asarray(gatys(loss_net, c, s)) for c, s in tqdm.tqdm(pairs, desc=f"Gatys ({recipe})")]
    name = "Gatys" if recipe == first.config.model.loss_network else f"Gatys ({recipe} loss network)"
    seconds[name] = (time.perf_counter() - start) / len(pairs)
    outputs[name] = results
  start = time.perf_counter()
  outputs["histogram matching"] = [np.clip(np.round(match_histograms(c, s, channel_axis=-1)), 0, 255).astype(
      np.uint8) for c, s in pairs]
  seconds["histogram matching"] = (time.perf_counter() - start) / len(pairs)
  outputs["content"] = [c for c, _ in pairs]
  seconds["content"] = 0.0

  table = {}
  for method, images in outputs.items():
    table[method] = {**style_family.pair_metrics(np.stack(images), np.stack([c for c, _ in pairs]),
                                                 np.stack([s for _, s in pairs])),
                     "seconds_per_image": seconds[method]}
  lines = [f"| method | style distance | texture | colour | luminance SSIM to content | s / image ({args.size}px) |",
           "|---|---|---|---|---|---|"]
  for method, row in table.items():
    lines.append(f"| {method} | {row['style_distance']:.3f} | {row['texture_distance']:.3f} | "
                 f"{row['colour_distance']:.3f} | "
                 f"{row['content_ssim']:.3f} | {row['seconds_per_image']:.3g} |")
  for name in models:
    ff = table[f"feed-forward ({name})"]
    lines.append(f"\n{name}: style distance {ff['style_distance'] / table['Gatys']['style_distance']:.2f}x Gatys', "
                 f"{ff['style_distance'] / table['histogram matching']['style_distance']:.2f}x histogram "
                 f"matching's; {table['Gatys']['seconds_per_image'] / ff['seconds_per_image']:.0f}x faster than "
                 f"Gatys")
  write_table(args.out, "images", lines, table)

  # Grid: one row per content, its styles' results; then the same for Gatys. Strength sweep for the first pair.
  ff_name = f"feed-forward ({next(iter(models))})"
  grid = [np.stack([np.full_like(contents[0], 255)] + style_images)]  # Header row: a blank, then the styles.
  for i, c in enumerate(contents):
    row = outputs[ff_name][i * len(style_images):(i + 1) * len(style_images)]
    grid.append(np.stack([c] + row))
  for i, c in enumerate(contents):
    row = outputs["Gatys"][i * len(style_images):(i + 1) * len(style_images)]
    grid.append(np.stack([c] + row))
  save_grid(os.path.join(args.out, "grid.png"), np.concatenate(grid), cols=len(style_images) + 1, scale=1)
  alphas = np.linspace(0.0, 1.0, 5, dtype=np.float32)
  sweep = [np.asarray(first.sample(0, 1, image=contents[0], style=style_images[0], alpha=a)["images"][0])
           for a in alphas]
  save_grid(os.path.join(args.out, "strength.png"), np.stack(sweep + [style_images[0]]), cols=6, scale=1)


if __name__ == "__main__":
  main()
