"""Calibration of a classifier's probabilities: negative log-likelihood, expected calibration error, and
the temperature T that makes softmax(logits / T) honest (fitted on a validation split)."""

from __future__ import annotations

from typing import Any

import numpy as np

from loopwright.serving.triage import softmax


def nll(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of integer `labels` under softmax(`logits`)."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Sum over equal-width confidence bins of |accuracy - mean confidence|, weighted by the bin's share."""
    if len(labels) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    # Bin b holds confidences in (b/bins, (b+1)/bins]; a confidence of exactly 0 cannot occur.
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in np.unique(which):
        mask = which == b
        ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising NLL of softmax(logits / T), searched on log T in [1/20, 20]."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(
        lambda log_t: nll(logits / np.exp(log_t), labels), bounds=(np.log(0.05), np.log(20.0)), method="bounded"
    )
    return float(np.exp(result.x))


def calibration_scores(logits: np.ndarray, labels: np.ndarray, temperature: float, bins: int) -> dict[str, Any]:
    """Accuracy, ECE and NLL before and after temperature `temperature`, and the mean calibrated confidence."""
    raw, calibrated = softmax(logits), softmax(logits / temperature)
    return {
        "n": int(len(labels)),
        "accuracy": float((raw.argmax(axis=1) == labels).mean()) if len(labels) else 0.0,
        "ece_uncalibrated": expected_calibration_error(raw, labels, bins),
        "ece": expected_calibration_error(calibrated, labels, bins),
        "nll_uncalibrated": nll(logits, labels) if len(labels) else 0.0,
        "nll": nll(logits / temperature, labels) if len(labels) else 0.0,
        "mean_confidence": float(calibrated.max(axis=1).mean()) if len(labels) else 0.0,
    }

