"""Any-to-any generation on `any_digits`: each real digit as an image, a caption, a spoken clip (eSpeak NG voices,
test voices never heard in training) and a moving-digit video share one latent (product of experts); any subset
of them infers it, and all four are decoded from it (speech through Griffin-Lim).

  mmgen-jax train any2any_digits --workdir workdirs/any2any_digits
  python -c "import numpy as np; np.savez('c.npz', text=np.array(['a handwritten seven', 'the digit 3']))"
  mmgen-jax sample --workdir workdirs/any2any_digits --num 2 --cond c.npz --export out/   # PNG, GIF, WAV, TXT
  python benchmarks/any_to_any.py --workdir workdirs/any2any_digits
"""
from mmgen_jax.configs._base import shrink_for_smoke, zoo_config


def get_config(smoke=False):
  config = zoo_config(
      "any2any", "any-to-any VAE (image + caption + speech + video, product of experts) on the real digits",
      # augment: "speech_shift" rolls each clip the speech expert reads by up to 0.2 s, "speech_masks" removes two
      # random mel bands and two moments of up to 50 ms from it (SpecAugment): both for unseen voices (measured in
      # docs/results/any2any.md).
      data=dict(source="any_digits", image_size=32, channels=1, batch_size=32,
                augment=["speech_shift", "speech_masks"]),
      # weights: the log-likelihood weight of each modality, in model.modalities' order (a caption has ~8 tokens
      # against 1,024 pixels, 4,096 video pixels and 8,064 log-mel values). Speech's is low: a heavier log-mel term
      # claims the shared latent for the voice and timing, and z from speech then tells the word less (measured:
      # speech -> image 39% at 0.5, 70% at 0.1, 87% at 0.02; docs/results/any2any.md).
      # text_depth: transformer blocks of the caption expert and of the caption decoder.
      # fitted_prior_*: prior samples come from a mixture of 20 Gaussians fitted by EM, in the train step, to the last
      # 2,048 joint-posterior codes, refitted from k-means++ seeds every 500 steps (models/any2any.generation_prior).
      # prior_expert: conditional samples from the given modalities' experts times that fitted mixture, in place of
      # the N(0, I) the ELBO trains with (measured: speech -> video 79.9 -> 85.1%; docs/results/any2any.md).
      # speech_word_form: the speech decoder also reads the clip's word form ("seven", "number seven", ...), drawn
      # from the training frequencies when sampling: averaged over forms, "five" is heard as "nine".
      # speech_frame_stride: the speech decoder outputs every third frame and interpolates: a third of its largest
      # layer, as well heard (benchmarks/speech_decoder_study.py; docs/results/any2any.md).
      # labelled_experts, label_from: every expert's mean of z also classifies the digit (the dataset's label), by
      # one linear readout for all four (cross-entropy weighted by label_weight): the digit then lies along the
      # same directions of z whichever modality placed it. Taught only through the decoders, the speech expert left
      # speech -> image at 80-92% over three seeds; with a readout of its own features ("features") 90-93% over
      # four; with the shared readout of z 95-97% over four (docs/results/any2any.md).
      # speech_word_span: the speech decoder's target is stretched in time so that the word spans 70 frames (0.56 s,
      # the training words' median length): the average over talkers of one word then keeps its sounds apart.
      model=dict(modalities=["image", "text", "speech", "video"], vocab=[], latent_dim=32, widths=[16, 32, 64],
                 text_dim=64, text_depth=2, max_len=12, memory_tokens=4, video_frames=4,
                 weights=[1.0, 50.0, 0.02, 0.5], private_dim=8, speech_wide=False, speech_decoder="dense",
                 speech_hidden=1024, speech_frame_stride=3, speech_word_span=70, cross_private="auxiliary",
                 aux_prior_scale=3.0, beta=1.0, prior_components=20, griffin_lim_iterations=32,
                 fitted_prior_components=20, fitted_prior_bank=2048, fitted_prior_refit_every=500,
                 prior_expert="generation", speech_word_form=True,
                 labelled_experts=["image", "text", "speech", "video"], num_labels=10, label_weight=50.0,
                 label_from="latent"),
      # video_whole_pixels: sampled clips move their sprite by whole pixels, as real clips do (training renders at
      # fractional positions for the gradient; there interpolation blurs the sprite differently in each frame).
      infer=dict(video_whole_pixels=True),
      optim=dict(lr=1e-3, grad_clip=10.0),
      ema=dict(decay=0.999, start_step=500),
      # cpu_devices: on a CPU the step runs as one device, not one per core: split in two, each device transposes
      # and all-reduces the gradient of the speech decoder's 8.3M-weight output layer (measured: 447 against 548 ms a
      # step on 2 cores; benchmarks/README.md).
      train=dict(cpu_devices=1, steps=2500, sample_every=2500, ckpt_every=1250, best_metric="coherence",
                 best_mode="max", eval_every=2500, eval_num=1000, num_grid=20),
  )
  if smoke:  # Two memory tokens: with one, attention over them is moot.
    shrink_for_smoke(config, batch_size=8, num_grid=4, latent_dim=4, widths=[4, 8, 8], text_dim=16, text_depth=1,
                     memory_tokens=2, prior_components=3, private_dim=2, griffin_lim_iterations=2,
                     speech_hidden=16, fitted_prior_components=3, fitted_prior_bank=16,
                     fitted_prior_refit_every=2)
  return config
