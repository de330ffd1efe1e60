"""DCGAN training throughput: mmgen_jax vs a PyTorch reference of exactly the same model, in one invocation.

The reference mirrors `dcgan_digits` (see models/dcgan.py): G = Linear -> BN -> ReLU -> (conv3x3 to 4C, pixel
shuffle, BN, ReLU) x n -> conv3x3 -> tanh; D = (conv4x4 stride 2 pad 1, LeakyReLU 0.2) x n -> Linear; hinge loss;
Adam(2e-4, 0.5, 0.999); one G forward per step, D update on the detached fakes, then the G update through the
updated D. Both sides run on the CPU with the same cores, same batch, same data shapes: PyTorch with one intra-op
thread per core, mmgen_jax as the trainer runs, one device per core each taking a slice of the batch
(`parallel.split_cpu_into_devices`; MMGEN_CPU_DEVICES=1 measures XLA's single CPU device).

  pip install -e '.[bench]'    # torch (on this machine: pip install torch==2.13.0 takes the local CPU build)
  python benchmarks/dcgan_vs_torch.py [--batch 64] [--resolutions 32,64] [--steps 30]
  python benchmarks/dcgan_vs_torch.py --batch 512 --dtype bfloat16 --torch eager,compile   # on a GPU

Prints one JSON line per (framework, resolution): images/s, ms/step, compile/first-step seconds, and the ratio. On
an accelerator with a known peak it also prints the model FLOPs utilisation: XLA's FLOP count of the compiled step
(`cost_analysis` of the step lowered for the CPU: a GPU's compiled cuDNN convolutions count 0 FLOPs) per
second over the device's dense peak for the compute dtype. On a CPU it first measures the machine's fp32
matrix-product rate (`cpu_matmul_gflops`) and gives each row's FLOP rate as a fraction of it (`of_matmul_rate`):
the ratio to PyTorch that the CPU's arithmetic leaves room for. Without torch installed the reference rows say so
and the JAX rows still print.
"""
import argparse
import functools
import json
import time

import jax
import numpy as np

from mmgen_jax import parallel
from mmgen_jax.config import apply_overrides, get_config
from mmgen_jax.models import dcgan
from mmgen_jax.train import trainer

from zoo_speed import train_step_flops


# Dense peak TFLOP/s by device kind and compute dtype (vendor datasheets, no sparsity).
PEAK_TFLOPS = {"NVIDIA H100 80GB HBM3": {"bfloat16": 989.4, "float32": 66.9},
               "NVIDIA H100 PCIe": {"bfloat16": 756.0, "float32": 51.2},
               "NVIDIA H200": {"bfloat16": 989.4, "float32": 66.9}}


def jax_rate(config, batch, steps):
  mesh = parallel.batch_mesh(batch)
  images = np.random.default_rng(0).integers(0, 256, (batch, config.data.image_size, config.data.image_size, 1),
                                             dtype=np.uint8)
  init, _ = trainer.build_state(dcgan, config, mesh)
  state = init()
  step = trainer.make_train_step(dcgan, config, mesh)
  data = parallel.to_global({"image": images}, mesh)
  t = time.perf_counter()
  step = step.lower(state, data).compile()
  state, m = step(state, data)
  jax.block_until_ready(m)
  first = time.perf_counter() - t
  t = time.perf_counter()
  for _ in range(steps):
    state, m = step(state, data)
  jax.block_until_ready(m)
  return (time.perf_counter() - t) / steps, first, train_step_flops(dcgan, config, state, data)


def torch_rate(config, batch, steps, mode="eager"):
  import torch
  from torch import nn

  device = "cuda" if torch.cuda.is_available() and jax.default_backend() == "gpu" else "cpu"
  autocast = config.model.compute_dtype == "bfloat16"

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
  generator, discriminator = Generator().to(device), discriminator.to(device)
  opt_g = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
  opt_d = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
  real = torch.rand(batch, 1, res, res, device=device) * 2 - 1
  g_fwd, d_fwd = (torch.compile(generator), torch.compile(discriminator)) if mode == "compile" else (generator,
                                                                                                    discriminator)

  def step():
    with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
      fake = g_fwd(torch.randn(batch, z_dim, device=device))
      logits = d_fwd(torch.cat([real, fake.detach()]))
    d_loss = torch.relu(1 - logits[:batch].float()).mean() + torch.relu(1 + logits[batch:].float()).mean()
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
      g_loss = -d_fwd(fake).float().mean()
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()

  def sync():
    if device == "cuda":
      torch.cuda.synchronize()

  t = time.perf_counter()
  step()
  sync()
  first = time.perf_counter() - t
  t = time.perf_counter()
  for _ in range(steps):
    step()
  sync()
  return (time.perf_counter() - t) / steps, first, None


def cpu_matmul_gflops(n=2048, reps=10):
  """This machine's fp32 matrix-product rate (GFLOP/s) right now: the best of XLA's and PyTorch's n x n product.

  The roof for the CPU rows: a step of F FLOPs cannot take less than F / this rate, since a convolution network's
  step is convolutions (matrix products at best) plus memory-bound elementwise work."""
  import jax.numpy as jnp

  rates = []
  a = jnp.ones((n, n), jnp.float32)
  product = jax.jit(lambda a: a @ a)
  candidates = [lambda: product(a).block_until_ready()]
  try:
    import torch
    t = torch.ones(n, n)
    candidates.append(lambda: t @ t)
  except ImportError:
    pass
  for run in candidates:
    run()
    start = time.perf_counter()
    for _ in range(reps):
      run()
    rates.append(2 * n ** 3 * reps / (time.perf_counter() - start) / 1e9)
  return max(rates)


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--batch", type=int, default=64)
  p.add_argument("--resolutions", default="32,64")
  p.add_argument("--steps", type=int, default=30)
  p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"), help="compute dtype (params fp32)")
  p.add_argument("--set", action="append", default=[], help="config override, e.g. model.g_width=64")
  p.add_argument("--torch", default="eager", help="reference modes, comma-separated: eager, compile; '' for none")
  args = p.parse_args()
  parallel.split_cpu_into_devices(args.batch)  # As the trainer runs on a CPU: one device per core.
  try:
    import torch
    threads = torch.get_num_threads()
  except ImportError:
    torch, threads = None, None
  device = jax.devices()[0].device_kind
  peak = PEAK_TFLOPS.get(device, {}).get(args.dtype)
  roof = cpu_matmul_gflops() if jax.default_backend() == "cpu" else None
  if roof:
    print(json.dumps({"device": device, "matmul_gflops_per_s": round(roof, 1)}), flush=True)
  step_flops = {}
  for res in map(int, args.resolutions.split(",")):
    config = apply_overrides(get_config("dcgan_digits"), [f"data.image_size={res}", f"data.batch_size={args.batch}",
                                                          f"model.compute_dtype={args.dtype}", *args.set])
    rows = {}
    runs = [("mmgen_jax", jax_rate)] + [(f"torch_{mode}", functools.partial(torch_rate, mode=mode))
                                        for mode in filter(None, args.torch.split(","))]
    for name, fn in runs:
      base = {"framework": name, "resolution": res, "batch": args.batch, "dtype": args.dtype, "device": device,
              "g_width": config.model.g_width, "d_width": config.model.d_width}
      if name.startswith("torch") and torch is None:
        print(json.dumps({**base, "skipped": "torch is not installed here (pip install -e '.[bench]')"}))
        continue
      sec, first, flops = fn(config, args.batch, args.steps)
      rows[name] = sec
      flops = flops or step_flops.get(res)  # The same model: PyTorch's step does the same FLOPs as ours.
      step_flops[res] = flops
      row = {**base, "ms_per_step": round(sec * 1e3, 3), "images_per_s": round(args.batch / sec, 1),
             "first_step_s": round(first, 2), "torch_threads": threads}
      if name == "mmgen_jax":
        row["jax_devices"] = parallel.batch_mesh(args.batch).devices.size
      if flops:
        row["step_gflops"] = round(flops / 1e9, 2)
        row["tflops_per_s"] = round(flops / sec / 1e12, 2)
        if peak:
          row["mfu"] = round(flops / sec / 1e12 / peak, 4)
        if roof:  # Fraction of this CPU's matrix-product rate the whole step runs at.
          row["of_matmul_rate"] = round(flops / sec / 1e9 / roof, 3)
      print(json.dumps(row), flush=True)
    for name in rows:
      if name != "mmgen_jax":
        print(json.dumps({"resolution": res, f"jax_over_{name}": round(rows[name] / rows["mmgen_jax"], 3)}))


if __name__ == "__main__":
  main()
