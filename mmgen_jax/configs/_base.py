"""What every zoo config shares: the common blocks, and the one smoke-test shrink (not a config: leading
underscore)."""
from mmgen_jax.config import Config

# The GAN configs' loss and optimizer (Radford et al.'s Adam settings).
GAN_LOSS = dict(name="hinge", gp_weight=10.0)
GAN_OPTIM = dict(g_lr=2e-4, d_lr=2e-4, b1=0.5, b2=0.999)


def zoo_config(family, description, *, data, model, optim, ema, train, **groups):
  """A Config with seed 0, float32 compute (`model.compute_dtype`: 'bfloat16' computes in bfloat16 with float32
  parameters, `layers/precision.py`), the train/test splits (all of the train split: `data.per_class` = k keeps k
  examples per class, drawn with `data.subset_seed`), checkpoint retention (2 latest + the best), logging every 100
  steps and, on a CPU, one device per core (`train.cpu_devices` = N caps the count; 0: no cap) unless `data` /
  `train` say otherwise; `groups` adds blocks such as `loss` or `eval`."""
  return Config(family=family, description=description, seed=0,
                data={"split": "train", "eval_split": "test", "per_class": 0, "subset_seed": 0, **data},
                model={"compute_dtype": "float32", **model},
                optim=optim, ema=ema,
                train={"log_every": 100, "keep": 2, "keep_best": 1, "cpu_devices": 0, **train}, **groups)


def shrink_for_smoke(config, *, batch_size, num_grid, **model):
  """The smoke-test version of `config` (in place): 3 steps of a tiny batch, a checkpoint at steps 2 and 3, the EMA
  from step 1, no evaluation (the zoo smoke test evaluates directly); `model` shrinks the networks."""
  config.data.batch_size = batch_size
  config.model.update(model)
  config.ema.start_step = 1
  config.train.update(steps=3, log_every=1, sample_every=3, ckpt_every=2, eval_every=0, num_grid=num_grid)
  return config
