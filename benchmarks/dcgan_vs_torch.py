"""DCGAN training throughput: mmgen_jax vs a PyTorch reference of exactly the same model, in one invocation.

The reference mirrors `dcgan_digits` (see models/dcgan.py): G = Linear -> BN -> ReLU -> (conv3x3 to 4C, pixel
shuffle, BN, ReLU) x n -> conv3x3 -> tanh; D = (conv4x4 stride 2 pad 1, LeakyReLU 0.2) x n -> Linear; hinge loss;
Adam(2e-4, 0.5, 0.999); one G forward per step, D update on the detached fakes, then the G update through the
updated D. Both sides run on the CPU with the same threads, same batch, same data shapes.

  pip install -e '.[bench]'    # torch (on this machine: pip install torch==2.13.0 takes the local CPU build)
  python benchmarks/dcgan_vs_torch.py [--batch 64] [--resolutions 32,64] [--steps 30]

Prints one JSON line per (framework, resolution): images/s, ms/step, compile/first-step seconds, and the ratio.
"""
import argparse
import json
import time

import jax
import numpy as np

from mmgen_jax import parallel
from mmgen_jax.config import apply_overrides, get_config
from mmgen_jax.models import dcgan
from mmgen_jax.train import trainer


def jax_rate(config, batch, steps):
  mesh = parallel.make_mesh(jax.devices()[:1])
  images = np.random.default_rng(0).integers(0, 256, (batch, config.data.image_size, config.data.image_size, 1),
                                             dtype=np.uint8)
  init, _ = trainer.build_state(dcgan, config, mesh, {"image": images})
  state = init()
  step = trainer.make_train_step(dcgan, config, mesh)
  data = parallel.to_global({"image": images}, mesh)
  t = time.perf_counter()
  state, m = step(state, data)
  jax.block_until_ready(m)
  first = time.perf_counter() - t
  t = time.perf_counter()
  for _ in range(steps):
    state, m = step(state, data)
  jax.block_until_ready(m)
  return (time.perf_counter() - t) / steps, first


def torch_rate(config, batch, steps):
  import torch
  from torch import nn

  m, res = config.model, config.data.image_size
  n = int(np.log2(res)) - 2
  gw, dw, z_dim = m.g_width, m.d_width, m.z_dim

  class Generator(nn.Module):
    def __init__(self):
      super().__init__()
      f = gw * 2 ** (n - 1)
      self.f = f
      self.fc, self.bn0 = nn.Linear(z_dim, 16 * f), nn.BatchNorm2d(f, momentum=0.1)
      blocks, cin = [], f
      for i in range(n):
        cout = gw * 2 ** (n - 2 - i) if i < n - 1 else gw // 2
        blocks += [nn.Conv2d(cin, 4 * cout, 3, padding=1), nn.PixelShuffle(2), nn.BatchNorm2d(cout), nn.ReLU()]
        cin = cout
      self.blocks = nn.Sequential(*blocks, nn.Conv2d(cin, 1, 3, padding=1), nn.Tanh())

    def forward(self, z):
      return self.blocks(torch.relu(self.bn0(self.fc(z).view(-1, self.f, 4, 4))))

  layers, cin = [], 1
  for i in range(n):
    layers += [nn.Conv2d(cin, dw * 2 ** i, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    cin = dw * 2 ** i
  discriminator = nn.Sequential(*layers, nn.Flatten(), nn.Linear(cin * 16, 1))
  generator = Generator()
  opt_g = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
  opt_d = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
  real = torch.rand(batch, 1, res, res) * 2 - 1

  def step():
    fake = generator(torch.randn(batch, z_dim))
    logits = discriminator(torch.cat([real, fake.detach()]))
    d_loss = torch.relu(1 - logits[:batch]).mean() + torch.relu(1 + logits[batch:]).mean()
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    g_loss = -discriminator(fake).mean()
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()

  t = time.perf_counter()
  step()
  first = time.perf_counter() - t
  t = time.perf_counter()
  for _ in range(steps):
    step()
  return (time.perf_counter() - t) / steps, first


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--batch", type=int, default=64)
  p.add_argument("--resolutions", default="32,64")
  p.add_argument("--steps", type=int, default=30)
  args = p.parse_args()
  import torch
  for res in map(int, args.resolutions.split(",")):
    config = apply_overrides(get_config("dcgan_digits"), [f"data.image_size={res}", f"data.batch_size={args.batch}"])
    rows = {}
    for name, fn in (("mmgen_jax", jax_rate), ("torch_eager", torch_rate)):
      sec, first = fn(config, args.batch, args.steps)
      rows[name] = sec
      print(json.dumps({"framework": name, "resolution": res, "batch": args.batch, "ms_per_step": round(sec * 1e3, 2),
                        "images_per_s": round(args.batch / sec, 1), "first_step_s": round(first, 2),
                        "threads": torch.get_num_threads(), "device": "cpu"}))
    print(json.dumps({"resolution": res, "jax_over_torch": round(rows["torch_eager"] / rows["mmgen_jax"], 3)}))


if __name__ == "__main__":
  main()
