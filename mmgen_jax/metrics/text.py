"""Text metrics: corpus BLEU-4 (Papineni et al. 2002, no smoothing) and exact match, on whitespace tokens."""
import collections
import math


def _ngrams(tokens, n):
  return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _tokens(text):
  return text.split() if isinstance(text, str) else list(text)


def corpus_bleu(hypotheses, references, max_n=4):
  """Corpus BLEU in [0, 1].

  hypotheses: list of strings (or token lists); references: for each hypothesis, a list of reference strings.
  Clipped n-gram precisions are pooled over the corpus; the brevity penalty uses each hypothesis's closest
  reference length (ties to the shorter), as in the original BLEU and NLTK's corpus_bleu.
  """
  if len(hypotheses) != len(references):
    raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
  matches, totals = [0] * max_n, [0] * max_n
  hyp_len = ref_len = 0
  for hyp, refs in zip(hypotheses, references):
    hyp, refs = _tokens(hyp), [_tokens(r) for r in refs]
    hyp_len += len(hyp)
    ref_len += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
    for n in range(1, max_n + 1):
      counts = _ngrams(hyp, n)
      best = collections.Counter()
      for r in refs:
        best |= _ngrams(r, n)
      matches[n - 1] += sum(min(c, best[g]) for g, c in counts.items())
      totals[n - 1] += max(len(hyp) - n + 1, 0)
  if min(matches) == 0:
    return 0.0
  log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n
  brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / max(hyp_len, 1))
  return brevity * math.exp(log_precision)


def exact_match(hypotheses, references):
  """Fraction of hypotheses equal (after whitespace normalisation) to one of their references."""
  norm = lambda s: " ".join(_tokens(s))
  hits = [norm(h) in {norm(r) for r in refs} for h, refs in zip(hypotheses, references)]
  return sum(hits) / max(len(hits), 1)
