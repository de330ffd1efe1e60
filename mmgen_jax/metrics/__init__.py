"""Quality metrics: distribution metrics over pluggable features, PSNR/SSIM, likelihood bounds, text metrics."""
from mmgen_jax.metrics.distribution import (RunningMoments, fid_from_features, frechet_distance, inception_score,
                                            kernel_inception_distance, precision_recall)
from mmgen_jax.metrics.image import psnr, rgb_to_y, ssim
from mmgen_jax.metrics.likelihood import elbo, iwae_bound, nll_estimate
from mmgen_jax.metrics.text import corpus_bleu, exact_match
