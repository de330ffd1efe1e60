"""Sample grids as PNG files (captioned when a family produces text), and grids of clips as animated GIFs."""
import math
import os
import textwrap

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def make_grid(images, cols=None, pad=2):
  """uint8 [N, H, W, C] -> one uint8 image [rows*(H+pad)+pad, cols*(W+pad)+pad, C] on a black background."""
  images = np.asarray(images)
  n, h, w, c = images.shape
  cols = cols or math.ceil(math.sqrt(n))
  rows = math.ceil(n / cols)
  grid = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.uint8)
  for i, im in enumerate(images):
    r, k = divmod(i, cols)
    grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + k * (w + pad): pad + k * (w + pad) + w] = im
  return grid


def _to_image(grid, scale):
  """uint8 [H, W, C] -> a PIL image enlarged `scale` times (nearest: pixels stay sharp)."""
  im = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
  return im.resize((im.width * scale, im.height * scale), Image.NEAREST) if scale > 1 else im


def save_grid(path, images, cols=None, scale=2):
  """Writes a grid of uint8 [N, H, W, C] images to `path` (PNG), enlarged `scale` times for viewing."""
  im = _to_image(make_grid(images, cols), scale)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  im.save(path)


def save_gif(path, videos, cols=None, scale=2, frame_ms=250, pad=2):
  """Writes uint8 clips [N, T, H, W, C] to `path` as one animated GIF of T frames (frame t: the grid of every
  clip's frame t, `pad` pixels apart), looping, enlarged `scale` times."""
  videos = np.asarray(videos)
  frames = [_to_image(make_grid(videos[:, t], cols, pad), scale) for t in range(videos.shape[1])]
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  frames[0].save(path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)


def save_captioned_grid(path, images, texts, cols=None, scale=3, lines=2):
  """A PNG grid of uint8 [N, H, W, C] images with each one's text (str [N]) printed below it, word-wrapped to at
  most `lines` lines."""
  images = np.asarray(images)
  n, h, w, _ = images.shape
  cols = cols or math.ceil(math.sqrt(n))
  cell_w, cell_h = max(w * scale, 96), h * scale + 13 * lines + 2  # The default bitmap font: ~13 px a line.
  canvas = Image.new("RGB", (cols * cell_w, math.ceil(n / cols) * cell_h), "white")
  draw, font = ImageDraw.Draw(canvas), ImageFont.load_default()
  chars = max(cell_w // 6, 1)  # The default bitmap font is about 6 px per character.
  for i, (im, text) in enumerate(zip(images, texts)):
    r, k = divmod(i, cols)
    tile = Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im).convert("RGB")
    canvas.paste(tile.resize((w * scale, h * scale), Image.NEAREST), (k * cell_w, r * cell_h))
    wrapped = textwrap.wrap(str(text), chars)[:lines]
    draw.multiline_text((k * cell_w + 2, r * cell_h + h * scale + 1), "\n".join(wrapped), fill="black", font=font)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  canvas.save(path)


def write_samples(prefix, out):
  """Writes a family's sample output for people: `prefix`.png, a grid of out['images'] (captioned with out['text']
  when the family produces text; one row per sample of out['panels'] uint8 [N, K, H, W, C] when the family gives
  panels, e.g. a clip, its condition and the generated frame), and `prefix`.txt with one text per line in grid
  order."""
  if "panels" in out:
    panels = np.asarray(out["panels"])
    save_grid(prefix + ".png", panels.reshape((-1,) + panels.shape[2:]), cols=panels.shape[1])
  elif "text" in out:
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    with open(prefix + ".txt", "w") as f:
      f.writelines(f"{t}\n" for t in np.asarray(out["text"]).tolist())
    if "images" in out:
      save_captioned_grid(prefix + ".png", out["images"], np.asarray(out["text"]).tolist())
  elif "images" in out:
    save_grid(prefix + ".png", out["images"])


def to_rgb(images):
  """uint8 [..., 1 or 3] -> [..., 3] (grey replicated), so panels of mixed channel counts share one grid."""
  images = np.asarray(images)
  return np.repeat(images, 3, -1) if images.shape[-1] == 1 else images


def panels(*columns):
  """uint8 [n, len(columns), H, W, 3]: one row per example, the given [n, H, W, 1 or 3] images side by side (what
  `write_samples` draws as one row per example)."""
  return np.stack([to_rgb(c) for c in columns], 1)
