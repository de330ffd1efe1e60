"""Data expansion: do a few-shot generator's samples make a classifier trained on few labelled digits better?

For k labelled real digits per class (k in --ks, each drawn from the train split with every seed in --seeds by
`data.per_class` / `data.subset_seed`), the digits classifier architecture (`metrics/classifier.py`, --steps Adam
steps of batch 32) is trained on each of these training sets and tested on the whole held-out test split:

  real                   the k-shot subset alone
  real+aug               the subset with classic augmentation in every batch: random shifts (up to 10%), rotations
                         (up to 15 degrees), scaling (0.9-1.1) and elastic distortion (`layers/augment.py`)
  real+cgan xR           the subset plus R x k samples per class (R = 1; also 4 for the k in --ratio-ks) of
                         `cgan_digits_fewshot` trained on that same subset and nothing else (a generator that saw
                         more real data would leak it); samples the real+aug classifier does not assign to their
                         class are dropped (of 3x as many draws: `generated`)
  real+cvae xR           the same with `cvae_digits_fewshot` (a conditional VAE)
  real+aug+cgan x1       rows 2 and 3 together: real and generated examples, classic augmentation on the real
  real+aug+cvae x1
  hand-crafted linear    HSV histogram + pooled Sobel edges + pooled Gabor energy (`layers/image_features.py`),
                         standardised, with scikit-learn's logistic regression: the hand-crafted baseline

Each (k, seed) subset's results are kept in --workdir as JSON (a rerun resumes), then the table (mean +- std over the
seeds) and the plot of accuracy against k are written to --out. Also in --out: a grid of one subset's real digits
and its two generators' samples. On 2 CPU cores a (k, seed) subset takes 6-8 minutes, the default 20 of them about
2 hours of one core each (run disjoint --ks in two processes; `--report-only` tabulates what is done).

  pip install -e '.[bench]'    # matplotlib, for the plot
  python benchmarks/data_expansion.py [--ks 5,10,20,50] [--seeds 0,1,2,3,4] [--workdir workdirs/data_expansion]
"""
import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

import mmgen_jax
from mmgen_jax.cli import enable_compilation_cache
from mmgen_jax.config import get_config
from mmgen_jax.data import open_source, per_class_subset
from mmgen_jax.layers import augment, image_features
from mmgen_jax.metrics import classifier
from mmgen_jax.models import get_family
from mmgen_jax.train import trainer
from mmgen_jax.train.images import save_grid

GENERATORS = {"cgan": "cgan_digits_fewshot", "cvae": "cvae_digits_fewshot"}
RATIOS = (1, 4)
OVERSAMPLE = 3
NUM_CLASSES = 10


def classic_augment(rng, images):
  """Shifts, rotations, scaling and elastic distortion of float [B, H, W, C] digits in [0, 255] (black ground)."""
  return augment.random_affine_elastic(rng, images, max_shift=0.1, max_rotation=15.0, scale_range=(0.9, 1.1),
                                       elastic_alpha=1.0, elastic_sigma=4.0, fill=0.0)


def fit(train, steps, seed, aug):
  return classifier.fit(train, NUM_CLASSES, steps, progress=False, batch_size=32, seed=seed,
                        augment=classic_augment if aug else None)


def fit_and_test(train, test, steps, seed, aug):
  return classifier.accuracy(fit(train, steps, seed, aug), test, NUM_CLASSES)


@jax.jit
def _handcrafted(images):
  x = images.astype(jnp.float32) / 255.0
  b = x.shape[0]
  pooled = lambda maps, cells: jax.image.resize(maps, (b, cells, cells, maps.shape[-1]), "linear").reshape(b, -1)
  return jnp.concatenate([image_features.hsv_histogram(x), pooled(image_features.sobel(x), 8),
                          pooled(image_features.gabor_energy(x), 4)], -1)


def handcrafted_linear(train, test):
  """Test accuracy of logistic regression on standardised colour/edge/texture features."""
  from sklearn.linear_model import LogisticRegression
  from sklearn.pipeline import make_pipeline
  from sklearn.preprocessing import StandardScaler

  model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
  model.fit(np.asarray(_handcrafted(train["image"])), train["label"])
  return float(model.score(np.asarray(_handcrafted(test["image"])), test["label"]))


def train_generator(name, k, seed, workdir):
  """Trains the zoo's few-shot config `name` on the (k, seed) subset only (resumes a finished run) -> Sampler."""
  config = get_config(name)
  config.data.update(per_class=k, subset_seed=seed)
  config.train.update(eval_every=0, sample_every=config.train.steps, ckpt_every=config.train.steps)
  trainer.train(config, workdir, get_family(config.family), progress=False)
  return mmgen_jax.load(workdir)


def generated(sampler, per_class, seed, judge):
  """({'image': uint8 [10 * per_class, ...], 'label'}, accepted fraction): per_class samples of every class that
  `judge` (the classifier trained on the same k-shot subset with classic augmentation) assigns to the class asked
  for, from OVERSAMPLE times as many draws (a class short of accepted samples repeats them; one with none keeps its
  draws)."""
  labels = np.repeat(np.arange(NUM_CLASSES, dtype=np.int32), per_class * OVERSAMPLE)
  images = np.asarray(sampler.sample(jax.random.PRNGKey(1000 + seed), len(labels), labels=labels)["images"])
  logits = jax.jit(classifier.DomainClassifier(NUM_CLASSES).apply)(judge, images)[1]
  accepted = np.argmax(logits, -1) == labels
  keep = []
  for c in range(NUM_CLASSES):
    mine = np.flatnonzero(labels == c)
    good = mine[accepted[mine]] if accepted[mine].any() else mine
    keep.append(np.resize(good, per_class))
  keep = np.concatenate(keep)
  return {"image": images[keep], "label": labels[keep].astype(np.int64)}, float(accepted.mean())


def union(real, extra):
  """real and generated examples in one training set; classic augmentation (when on) applies to the real ones only:
  the generators already learnt the subset's transformed versions (`data.augment` in their configs)."""
  out = {key: np.concatenate([real[key], extra[key]]) for key in ("image", "label")}
  out["augment"] = np.concatenate([np.ones(len(real["label"]), bool), np.zeros(len(extra["label"]), bool)])
  return out


def run_subset(k, seed, args, test, train_source):
  path = os.path.join(args.workdir, f"k{k}_seed{seed}.json")
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  start = time.perf_counter()
  real = per_class_subset(train_source, k, seed).arrays
  real = {"image": real["image"], "label": real["label"]}
  judge = fit(real, args.steps, seed, aug=True)
  acc = {"real": fit_and_test(real, test, args.steps, seed, aug=False),
         "real+aug": classifier.accuracy(judge, test, NUM_CLASSES),
         "hand-crafted linear": handcrafted_linear(real, test)}
  samples, accepted = {}, {}
  for gen, config_name in GENERATORS.items():
    sampler = train_generator(config_name, k, seed, os.path.join(args.workdir, f"{gen}_k{k}_seed{seed}"))
    pool, accepted[gen] = generated(sampler, max(RATIOS) * k, seed, judge)
    samples[gen] = pool
    for ratio in RATIOS if k in args.ratio_ks else RATIOS[:1]:
      keep = np.concatenate([np.flatnonzero(pool["label"] == c)[:ratio * k] for c in range(NUM_CLASSES)])
      extra = {key: v[keep] for key, v in pool.items()}
      acc[f"real+{gen} x{ratio}"] = fit_and_test(union(real, extra), test, args.steps, seed, aug=False)
      if ratio == 1:
        acc[f"real+aug+{gen} x1"] = fit_and_test(union(real, extra), test, args.steps, seed, aug=True)
  if k == min(args.ks) and seed == min(args.seeds):
    show = lambda s: np.concatenate([s["image"][s["label"] == c][:k] for c in range(NUM_CLASSES)])
    for name, images in (("real", show(real)), *((g, show(p)) for g, p in samples.items())):
      save_grid(os.path.join(args.out, f"k{k}_{name}.png"), images, cols=k, scale=2)
  result = {"k": k, "seed": seed, "accuracy": acc, "accepted": accepted, "seconds": time.perf_counter() - start}
  with open(path, "w") as f:
    json.dump(result, f, indent=1)
  return result


ROW_ORDER = ["real", "real+aug", *(f"real+{g} x{r}" for g in GENERATORS for r in RATIOS),
             *(f"real+aug+{g} x1" for g in GENERATORS), "hand-crafted linear"]


def report(results, args):
  ks = sorted({r["k"] for r in results})
  table = {row: {k: [r["accuracy"][row] * 100 for r in results if r["k"] == k and row in r["accuracy"]] for k in ks}
           for row in ROW_ORDER}
  runs = {k: sum(r["k"] == k for r in results) for k in ks}
  lines = ["| training set | " + " | ".join(f"k = {k} ({runs[k]} seeds)" for k in ks) + " |",
           "|---" * (len(ks) + 1) + "|"]
  for row in ROW_ORDER:
    cells = [f"{np.mean(v):.1f} ± {np.std(v):.1f}" if v else "—" for v in (table[row][k] for k in ks)]
    lines.append(f"| {row} | " + " | ".join(cells) + " |")
  lines.append("")
  for gen in GENERATORS:  # Paired by seed: the same subset with and without the generated examples.
    gain = {k: np.subtract(table[f"real+aug+{gen} x1"][k], table["real+aug"][k]) for k in ks}
    lines.append(f"- real+aug+{gen} x1 minus real+aug, points (paired by seed): " + ", ".join(
        f"k = {k}: {np.mean(gain[k]):+.1f} ± {np.std(gain[k]):.1f}" for k in ks))
  accepted = {g: np.mean([r["accepted"][g] for r in results]) * 100 for g in GENERATORS}
  lines.append("- Samples the subset's own real+aug classifier assigns to the class asked for (the kept ones): " +
               ", ".join(f"{g} {a:.0f}%" for g, a in accepted.items()) + ".")
  seeds = sorted({r["seed"] for r in results})
  lines.append(f"- Seeds {seeds}; {args.steps} classifier steps of batch 32; test split of {args.num_test} digits; "
               f"{sum(r['seconds'] for r in results) / 60:.0f} min of compute.")
  text = "\n".join(lines)
  print(text)
  with open(os.path.join(args.out, "table.md"), "w") as f:
    f.write(text + "\n")
  with open(os.path.join(args.out, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
  try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
  except ImportError:
    print("matplotlib is not installed (pip install -e '.[bench]'): no plot")
    return
  fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
  for row in ROW_ORDER:
    have = [k for k in ks if table[row][k]]
    means = [np.mean(table[row][k]) for k in have]
    stds = [np.std(table[row][k]) for k in have]
    ax.errorbar(have, means, yerr=stds, marker="o", capsize=3, label=row,
                linestyle="--" if "x4" in row or "linear" in row else "-")
  ax.set_xscale("log")
  ax.minorticks_off()
  ax.set_xticks(ks, [str(k) for k in ks])
  ax.set_xlabel("real labelled examples per class (k)")
  ax.set_ylabel("test accuracy (%)")
  ax.set_title("digits classifier trained on k-shot subsets (mean ± std over seeds)")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7, loc="lower right")
  fig.tight_layout()
  fig.savefig(os.path.join(args.out, "accuracy_vs_k.png"))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--ks", default="5,10,20,50")
  parser.add_argument("--seeds", default="0,1,2,3,4")
  parser.add_argument("--steps", type=int, default=400, help="classifier training steps (batch 32)")
  parser.add_argument("--ratio-ks", default="5,10", help="the k where x4 as many generated examples are also tried")
  parser.add_argument("--workdir", default="workdirs/data_expansion")
  parser.add_argument("--out", default="docs/results/data_expansion")
  parser.add_argument("--report-only", action="store_true", help="tabulate the (k, seed) runs already in --workdir")
  args = parser.parse_args()
  args.ks = [int(k) for k in args.ks.split(",")]
  args.seeds = [int(s) for s in args.seeds.split(",")]
  args.ratio_ks = [int(k) for k in args.ratio_ks.split(",")]
  enable_compilation_cache()  # Every subset trains the same programs: compile them once.
  os.makedirs(args.workdir, exist_ok=True)
  os.makedirs(args.out, exist_ok=True)
  train_source = open_source("digits", "train")
  test = open_source("digits", "test").arrays
  test = {"image": test["image"], "label": test["label"]}
  args.num_test = len(test["label"])
  results = []
  for k in args.ks:
    for seed in args.seeds:
      done = os.path.exists(os.path.join(args.workdir, f"k{k}_seed{seed}.json"))
      if args.report_only and not done:
        continue
      r = run_subset(k, seed, args, test, train_source)
      print(f"k={k} seed={seed} ({r['seconds']:.0f} s): " + ", ".join(
          f"{row} {100 * r['accuracy'][row]:.1f}" for row in ROW_ORDER if row in r["accuracy"]), flush=True)
      results.append(r)
  report(results, args)


if __name__ == "__main__":
  main()
