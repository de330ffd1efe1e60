"""Sample grids as PNG files."""
import math
import os

import numpy as np
from PIL import Image


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


def save_grid(path, images, cols=None, scale=2):
  """Writes a grid of uint8 [N, H, W, C] images to `path` (PNG), enlarged `scale` times for viewing."""
  grid = make_grid(images, cols)
  im = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
  if scale > 1:
    im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  im.save(path)
