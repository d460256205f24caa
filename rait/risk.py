"""What answering costs at an operating point: abstention as a classifier of the unanswerable questions, the
hallucination rate among attempted answers, scores that charge a wrong answer more than a refusal, and the
selective risk of answering the most confident questions only.

- **Abstention precision, recall and F1** (AbstentionBench, Kirichenko et al. 2025; facebookresearch/AbstentionBench
  @e291841, ``analysis/tables.py`` ``AbstentionF1ScoreTable``: scikit-learn's ``precision_score``,
  ``recall_score`` and ``f1_score`` of ``is_abstention`` against ``prompt_should_abstain``, per dataset). The
  positive class is a refusal; a question should be refused when it is not answerable (the record's
  ``unanswerable``). Computed here from the four counts, as scikit-learn defines them (tested equal), because an
  evaluation scores 1,000 bootstrap resamples and scikit-learn's input checks cost milliseconds a call
  (``rait.calibration`` measured it). Where scikit-learn warns and returns 0 (no refusal for precision, no
  unanswerable question for recall), rait returns None: not measured is not zero.
- **False-refusal rate**: the refusals among the answerable questions (the over-refusal AbstentionBench's and
  the CRaFT family's critics count).
- **Hallucination rate** (HalluLens, Bang et al. 2025: hallucination "when not refused"): the wrong answers
  (wrong or unparsed, ``rait.metrics``) among the attempted ones, refusals left out.
- **Penalty score at a confidence target t** (Kalai, Nachum, Vempala and Zhang, "Why Language Models
  Hallucinate", 2025, its proposal of explicit confidence targets: a right answer scores 1, "I don't know" 0 and
  a wrong answer -t/(1 - t)): the mean over all questions. Answering is worth it exactly when the chance of being
  right exceeds t.
- **Selective risk at a coverage and coverage at a risk** (Geifman and El-Yaniv, "Selective Classification for
  Deep Neural Networks", 2017), read from the accuracy-coverage curve ``rait.calibration`` draws (most confident
  first; answers of equal confidence in expectation over their orders, as its AURC): the risk (1 − accuracy) of
  the ⌈c n⌉ most confident answers, and the largest coverage k/n whose risk is at most r (0 when none is). For
  answers without a confidence there is one operating point: coverage 1 − refusal rate at the hallucination rate.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from rait.errors import RaitError

# "wrong" everywhere: wrong or unparsed (an unparsed multiple-choice answer is an answer, and not the right one)
WRONG = frozenset({"wrong", "unparsed"})
COVERAGES = (0.5, 0.8, 0.9)
RISKS = (0.05, 0.1, 0.2)


def share(count: int, total: int) -> float | None:
    """A fraction, None for an empty denominator: not measured is not zero."""
    return count / total if total else None


def abstention(grades: Sequence[str], answerable: Sequence[bool]) -> dict:
    """Abstention precision, recall and F1 (a refusal the positive class, an unanswerable question the one to
    refuse) and the false-refusal rate (refused among the answerable)."""
    pairs = list(zip(grades, answerable, strict=True))
    refused_unanswerable = sum(g == "refusal" and not a for g, a in pairs)
    refused = sum(g == "refusal" for g, _ in pairs)
    unanswerable = sum(not a for _, a in pairs)
    precision, recall = share(refused_unanswerable, refused), share(refused_unanswerable, unanswerable)
    # scikit-learn's f1_score: 2 TP / (2 TP + FP + FN), defined whenever there is a refusal or an unanswerable
    f1 = share(2 * refused_unanswerable, refused + unanswerable)
    answerable_refused = sum(g == "refusal" and a for g, a in pairs)
    return {"abstention_precision": precision, "abstention_recall": recall, "abstention_f1": f1,
            "false_refusal_rate": share(answerable_refused, sum(a for _, a in pairs))}


def hallucination_rate(grades: Sequence[str]) -> float | None:
    """Wrong answers among the attempted (not refused) ones; None when every question was refused."""
    attempted = [g for g in grades if g != "refusal"]
    return share(sum(g in WRONG for g in attempted), len(attempted))


def check_target(t: float, where: str = "a penalty score") -> float:
    if isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t < 1:
        raise RaitError(f"{where}: its confidence target lies strictly between 0 and 1 (a wrong answer costs "
                        f"t/(1 - t) points), got {t!r}")
    return float(t)


def check_targets(targets: Sequence[float], where: str = "penalty targets") -> tuple[float, ...]:
    """The confidence targets of the penalty scores, checked: each strictly between 0 and 1, none twice (two
    columns of one name)."""
    if isinstance(targets, str | bytes) or not isinstance(targets, Sequence):
        raise RaitError(f"{where}: expected a list of confidence targets, got {targets!r}")
    checked = tuple(check_target(t, where) for t in targets)
    twice = sorted(name for name, count in Counter(map(penalty_name, checked)).items() if count > 1)
    if twice:
        raise RaitError(f"{where}: {', '.join(twice)} asked for twice; give each confidence target once")
    return checked


# The default targets, Kalai et al.'s examples; the workflow's are the config key grading.penalty_targets, so that
# every evaluation of a run has the same columns. These three are the summary's registered metrics.
PENALTY_TARGETS = (0.5, 0.75, 0.9)


def penalty_name(t: float) -> str:
    """The metric's name: the target in percent (0.75 -> penalty_75, 0.995 -> penalty_99.5)."""
    percent = round(t * 100, 6)
    return f"penalty_{int(percent) if percent == int(percent) else percent}"


def penalty_score(grades: Sequence[str], t: float) -> float | None:
    """Mean over all questions of +1 for a right answer, 0 for a refusal and -t/(1 - t) for a wrong one."""
    check_target(t)
    if not grades:
        return None
    cost = t / (1 - t)
    return sum(1.0 if g == "correct" else 0.0 if g == "refusal" else -cost for g in grades) / len(grades)


def _risk_at_each_coverage(accuracy_at: np.ndarray) -> np.ndarray:
    return 1.0 - np.asarray(accuracy_at, dtype=float)


def risk_at_coverage(accuracy_at: Sequence[float], coverage: float) -> float | None:
    """The risk of the ⌈coverage n⌉ most confident answers (``accuracy_at``: the accuracy of the k most
    confident, k = 1..n, ``rait.calibration``); None when there are no answers."""
    n = len(accuracy_at)
    if not n:
        return None
    k = max(1, math.ceil(round(coverage * n, 9)))
    return float(_risk_at_each_coverage(accuracy_at)[k - 1])


def coverage_at_risk(accuracy_at: Sequence[float], risk: float) -> float | None:
    """The largest share k/n of the most confident answers whose risk is at most ``risk`` (0.0 when even the
    most confident one's is above it); None when there are no answers."""
    n = len(accuracy_at)
    if not n:
        return None
    within = np.flatnonzero(_risk_at_each_coverage(accuracy_at) <= risk + 1e-12)
    return float((within[-1] + 1) / n) if len(within) else 0.0


def coverage_name(kind: str, value: float) -> str:
    return f"{kind}_{round(value * 100)}"


def selective(accuracy_at: Sequence[float] | None) -> dict:
    """risk_at_coverage_{50,80,90} and coverage_at_risk_{5,10,20} (None without confidences)."""
    values = {}
    for coverage in COVERAGES:
        values[coverage_name("risk_at_coverage", coverage)] = (
            None if accuracy_at is None else risk_at_coverage(accuracy_at, coverage))
    for risk in RISKS:
        values[coverage_name("coverage_at_risk", risk)] = (
            None if accuracy_at is None else coverage_at_risk(accuracy_at, risk))
    return values
