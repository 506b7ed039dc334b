"""A seeded, synthetic source of weekly demand data, produced in time windows.

Shaped like a retailer's sales history: one row per week, region and product (5 regions x
20 products = 100 series), with the week's price, whether the product was on promotion and
the region's store traffic; `units_sold` is the target. A window holds
max(1, round(rows / 100)) weeks of every series (Python's round, so halves go to the even
number), which makes the default 20,000 rows 200 weeks x 100 series; other row counts are
rounded to whole weeks. Window w covers the weeks right after window w - 1, on one
calendar of Mondays that starts on 2022-01-03 (and, in datetime64[ns], ends in 2262: at the
default size that is windows 0 to 61; a window past it is a ValueError).

Demand is log-linear: a level per region and product, a gentle upward trend, yearly
seasonality that peaks near the end of the year, a price elasticity of -1.5 against the
product's base price, +30% on promotion and the square root of traffic; units are Poisson
around it. Window 0 is the reference; each later window puts prices 4% and traffic 6% higher
(compounded) on top of the trends, so the drift job has something to find and a model trained on an
earlier window underestimates the newer weeks. Vectorised: a million rows take well under a
second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REGIONS = ["north", "south", "east", "west", "central"]
PRODUCTS = [
    "apples",
    "bread",
    "butter",
    "cereal",
    "cheese",
    "chicken",
    "coffee",
    "detergent",
    "eggs",
    "juice",
    "milk",
    "nuts",
    "olive-oil",
    "pasta",
    "rice",
    "shampoo",
    "soap",
    "tea",
    "tissues",
    "yogurt",
]
FIRST_WEEK = np.datetime64("2022-01-03", "D")  # a Monday, so every week starts on one

# Fixed effects, not drawn from the seed: the seed changes the noise, not the market.
# Base prices sit in a fairly narrow band, so that the per-window price drift is large
# against the spread of prices (a wide band would hide it from the drift check).
BASE_PRICE = np.array(
    [3.4, 3.0, 4.4, 4.0, 5.8, 6.2, 7.2, 6.6, 3.6, 3.8,
     3.1, 5.4, 6.9, 3.2, 3.5, 4.9, 3.3, 4.6, 3.9, 3.0]
)  # fmt: skip
BASE_UNITS = np.array(
    [140.0, 190.0, 60.0, 75.0, 45.0, 55.0, 35.0, 25.0, 120.0, 80.0,
     220.0, 30.0, 20.0, 110.0, 90.0, 28.0, 50.0, 40.0, 65.0, 150.0]
)  # fmt: skip
REGION_DEMAND = np.array([1.10, 0.90, 1.00, 1.15, 0.80])  # tastes, beyond what traffic explains
REGION_PRICE = np.array([1.04, 0.95, 1.00, 1.08, 0.97])  # price level of the region
REGION_TRAFFIC = np.array([12_000.0, 9_000.0, 10_500.0, 11_500.0, 7_500.0])  # visits a week

ELASTICITY = -1.5  # units fall 1.5% for each 1% the price is above the product's base price
PROMOTION_SHARE = 0.15
PROMOTION_UPLIFT = 1.30
TRAFFIC_POWER = 0.5  # more visitors, more sales, with diminishing returns
TRAFFIC_REFERENCE = 10_000.0
# Gentle on purpose: demand about 3% higher per window (200 weeks), so an error in units
# (MAE) of a model retrained on a later window stays comparable with the champion's.
DEMAND_TREND = 0.0002  # log units a week: about +1% a year
TRAFFIC_TREND = 0.0001  # log visits a week: about +0.5% a year
SEASON_PEAK_WEEK = 51  # the holiday season
# Steps per window, compounded: prices have no trend of their own, traffic's comes on top.
PRICE_DRIFT = 1.04
TRAFFIC_DRIFT = 1.06


def _iso_week(mondays: np.ndarray) -> np.ndarray:
    """ISO week number (1..53) of each Monday: the week belongs to the year of its Thursday."""
    thursdays = mondays + np.timedelta64(3, "D")
    new_year = thursdays.astype("datetime64[Y]").astype("datetime64[D]")
    return ((thursdays - new_year).astype(np.int64) // 7 + 1).astype(np.int64)


def generate(rows: int, window: int = 0, seed: int = 0) -> pd.DataFrame:
    """About `rows` rows (whole weeks of all series) of time window `window`.

    The same arguments give the same frame.
    """
    if rows < 1 or window < 0:
        raise ValueError(f"rows must be >= 1 and window >= 0 (got rows={rows}, window={window})")
    n_regions, n_products = len(REGIONS), len(PRODUCTS)
    weeks = max(1, round(rows / (n_regions * n_products)))
    first = window * weeks  # index of the window's first week on the continuous calendar
    # datetime64[ns] ends in April 2262; refuse rather than let the dates wrap around.
    last_day = pd.Timestamp.max.date()
    if 7 * (first + weeks - 1) > (last_day - FIRST_WEEK.item()).days:
        raise ValueError(
            f"window {window} of {weeks} weeks would end after {last_day};"
            " use fewer rows or an earlier window"
        )
    rng = np.random.default_rng([seed, window])

    # One row per (week, region, product), week-major, so rows are in time order.
    t = np.arange(first, first + weeks, dtype=np.int64)
    mondays = FIRST_WEEK + (7 * t).astype("timedelta64[D]")
    week_of_year = _iso_week(mondays)
    # Seasonality follows the week of year, so a model can learn it from that column.
    season = np.cos(2 * np.pi * (week_of_year - SEASON_PEAK_WEEK) / 52.0)

    # Traffic belongs to a region and week; every product of the region sees the same value.
    traffic_rw = (
        REGION_TRAFFIC[None, :]
        * np.exp(TRAFFIC_TREND * t + 0.08 * season)[:, None]
        * TRAFFIC_DRIFT**window
        * rng.lognormal(0.0, 0.07, (weeks, n_regions))
    ).round(1)

    n = weeks * n_regions * n_products
    week_index = np.repeat(np.arange(weeks), n_regions * n_products)
    region_code = np.tile(np.repeat(np.arange(n_regions), n_products), weeks)
    product_code = np.tile(np.arange(n_products), weeks * n_regions)
    traffic = traffic_rw[week_index, region_code]

    base_price = BASE_PRICE[product_code]
    # The noise is what lets a model see the elasticity within one series.
    price = (
        base_price * REGION_PRICE[region_code] * PRICE_DRIFT**window * rng.lognormal(0, 0.06, n)
    ).round(2)
    promotion = (rng.random(n) < PROMOTION_SHARE).astype(np.int64)

    log_units = (
        np.log(BASE_UNITS[product_code] * REGION_DEMAND[region_code])
        + DEMAND_TREND * t[week_index]
        + 0.25 * season[week_index]
        + ELASTICITY * np.log(price / base_price)
        + np.log(PROMOTION_UPLIFT) * promotion
        + TRAFFIC_POWER * np.log(traffic / TRAFFIC_REFERENCE)
    )
    units_sold = rng.poisson(np.exp(log_units)).astype(np.float64)

    return pd.DataFrame(
        {
            "week": mondays[week_index].astype("datetime64[ns]"),
            "region": pd.Categorical.from_codes(region_code, categories=REGIONS),
            "product": pd.Categorical.from_codes(product_code, categories=PRODUCTS),
            "week_of_year": week_of_year[week_index],
            "price": price,
            "promotion": promotion,
            "traffic": traffic,
            "units_sold": units_sold,
        }
    )
