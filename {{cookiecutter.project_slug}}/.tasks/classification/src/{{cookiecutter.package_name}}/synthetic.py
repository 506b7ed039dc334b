"""A seeded, synthetic source of customer churn data, produced in time windows.

Shaped like the public telecom churn data: tenure, contract, charges,
payment method, support calls, region. Churn is driven by a few of the
columns, so a model has something real to learn. Window 0 is the reference;
each later window drifts a little further (higher charges, more support
calls, more month-to-month contracts), so the drift job has something to
find. Vectorised: a million rows take about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTRACTS = ["month-to-month", "one-year", "two-year"]
PAYMENT_METHODS = ["electronic-check", "mailed-check", "bank-transfer", "credit-card"]
INTERNET_SERVICES = ["dsl", "fiber", "none"]
REGIONS = ["north", "south", "east", "west"]


def _choice(
    rng: np.random.Generator, values: list[str], weights: list[float], n: int
) -> pd.Categorical:
    probabilities = np.asarray(weights) / np.sum(weights)
    codes = rng.choice(len(values), size=n, p=probabilities)
    return pd.Categorical.from_codes(codes, categories=values)


def generate(rows: int, window: int = 0, seed: int = 0) -> pd.DataFrame:
    """`rows` customers of time window `window`; the same arguments give the same frame."""
    if rows < 1 or window < 0:
        raise ValueError(f"rows must be >= 1 and window >= 0 (got rows={rows}, window={window})")
    rng = np.random.default_rng([seed, window])
    drift = float(window)

    contract = _choice(rng, CONTRACTS, [0.55 + 0.04 * drift, 0.25, 0.20], rows)
    payment = _choice(rng, PAYMENT_METHODS, [0.34, 0.22, 0.22, 0.22], rows)
    internet = _choice(rng, INTERNET_SERVICES, [0.34, 0.44, 0.22], rows)
    region = _choice(rng, REGIONS, [0.3, 0.25, 0.25, 0.2], rows)

    contract_code = np.asarray(contract.codes)
    # Longer contracts go with longer tenure.
    tenure = np.clip(rng.gamma(1.4 + 1.1 * contract_code, 12.0, rows), 0, 72).round()
    service_price = np.array([45.0, 75.0, 20.0])[np.asarray(internet.codes)]
    monthly = np.clip(
        service_price + rng.normal(12.0 + 4.0 * drift, 12.0, rows), 18.0, 130.0
    ).round(2)
    total = (monthly * tenure * rng.uniform(0.95, 1.05, rows)).round(2)
    support_calls = rng.poisson(1.1 + 0.25 * drift, rows).astype(np.int64)
    usage = np.round(rng.lognormal(2.6, 0.7, rows) * (internet.codes != 2), 2)

    region_effect = np.array([0.0, 0.25, -0.1, 0.1])[np.asarray(region.codes)]
    logit = (
        -1.3
        + 1.4 * (contract_code == 0)
        - 0.035 * tenure
        + 0.018 * (monthly - 65.0)
        + 0.38 * support_calls
        + 0.55 * (np.asarray(payment.codes) == 0)
        + 0.30 * (np.asarray(internet.codes) == 1)
        + region_effect
    )
    churned = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    return pd.DataFrame(
        {
            "tenure_months": tenure.astype(np.int64),
            "monthly_charges": monthly,
            "total_charges": total,
            "support_calls": support_calls,
            "data_usage_gb": usage,
            "contract": contract,
            "payment_method": payment,
            "internet_service": internet,
            "region": region,
            "churned": churned,
        }
    )
