"""A synthetic bank-marketing dataset, shaped like the UCI "Bank Marketing" file.

Every row is generated from a random seed; no row of the real data is stored
here. What is hard-coded are small tables of marginal statistics derived from
the public file (category frequencies, per-group means, the handful of
macro-economic readings per campaign period), so the sample has the same 21
columns, names, order, dtypes and value sets as ``bankmarketing_train.csv``,
realistic distributions, about 11% ``yes`` in the target ``y``, and a
learnable signal: ``y`` is drawn from a logistic model over call duration,
the outcome of the previous campaign, the economic period, the contact type,
age and the number of contacts in this campaign.

Example::

    >>> from slipway.samples import bank_marketing
    >>> df = bank_marketing(n_rows=1000, seed=1)
    >>> df.shape
    (1000, 21)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = ["COLUMNS", "bank_marketing", "write_bank_marketing_csv"]

COLUMNS: tuple[str, ...] = (
    "age",
    "job",
    "marital",
    "education",
    "default",
    "housing",
    "loan",
    "contact",
    "month",
    "day_of_week",
    "duration",
    "campaign",
    "pdays",
    "previous",
    "poutcome",
    "emp.var.rate",
    "cons.price.idx",
    "cons.conf.idx",
    "euribor3m",
    "nr.employed",
    "y",
)

YES_RATE = 0.112

# job: (frequency, age mean, age std, age min, age max)
_JOBS: dict[str, tuple[float, float, float, int, int]] = {
    "admin.": (0.2547, 38.2, 8.9, 20, 72),
    "blue-collar": (0.2232, 39.4, 8.8, 20, 80),
    "technician": (0.1646, 38.5, 8.7, 20, 69),
    "services": (0.0957, 37.9, 9.0, 20, 60),
    "management": (0.0706, 42.3, 9.3, 21, 80),
    "retired": (0.0427, 62.0, 10.4, 23, 98),
    "entrepreneur": (0.0367, 41.8, 8.9, 20, 69),
    "self-employed": (0.0339, 39.9, 9.5, 21, 65),
    "housemaid": (0.0255, 45.7, 10.5, 21, 85),
    "unemployed": (0.0237, 40.0, 9.3, 21, 66),
    "student": (0.0208, 25.8, 5.0, 17, 45),
    "unknown": (0.0079, 44.9, 10.7, 24, 81),
}

# marital status by age band (upper bounds 30, 45, 60, inf): divorced, married, single, unknown
_MARITAL_VALUES = ("divorced", "married", "single", "unknown")
_AGE_BANDS = (30, 45, 60)
_MARITAL_BY_AGE = (
    (0.032, 0.330, 0.636, 0.002),
    (0.102, 0.623, 0.273, 0.002),
    (0.171, 0.751, 0.075, 0.003),
    (0.185, 0.775, 0.038, 0.002),
)

_EDUCATION = {
    "university.degree": 0.2959,
    "high.school": 0.2289,
    "basic.9y": 0.1473,
    "professional.course": 0.128,
    "basic.4y": 0.1009,
    "basic.6y": 0.0564,
    "unknown": 0.0422,
    "illiterate": 0.0005,
}
_DEFAULT = {"no": 0.7905, "unknown": 0.2094, "yes": 0.0001}
_HOUSING = {"yes": 0.5233, "no": 0.4531, "unknown": 0.0236}
_LOAN = {"no": 0.8255, "yes": 0.1509, "unknown": 0.0236}
_DAY_OF_WEEK = {"thu": 0.2114, "mon": 0.2041, "tue": 0.1985, "wed": 0.1948, "fri": 0.1913}
_POUTCOME = {"nonexistent": 0.8611, "failure": 0.1053, "success": 0.0336}

# Campaign periods: month, emp.var.rate, cons.price.idx, cons.conf.idx, nr.employed,
# relative frequency, share of cellular contacts, common euribor3m readings, yes rate.
_PERIODS: tuple[tuple[str, float, float, float, float, int, float, tuple[float, ...], float], ...] = (
    ("apr", -1.8, 93.075, -47.1, 5099.1, 1586, 0.93, (1.405, 1.365, 1.41), 0.175),
    ("apr", -1.8, 93.749, -34.6, 5008.7, 114, 0.88, (0.642, 0.644, 0.645), 0.544),
    ("aug", -2.9, 92.201, -31.4, 5076.2, 492, 0.90, (0.883, 0.884, 0.873), 0.352),
    ("aug", -1.7, 94.027, -38.3, 4991.6, 140, 0.74, (0.904, 0.898, 0.9), 0.493),
    ("aug", 1.4, 93.444, -36.1, 5228.1, 3278, 0.97, (4.963, 4.964, 4.965), 0.053),
    ("dec", -3.0, 92.713, -33.0, 5023.5, 108, 0.87, (0.715, 0.707, 0.706), 0.546),
    ("jul", -2.9, 92.469, -33.6, 5076.2, 112, 0.87, (1.029, 1.072, 1.044), 0.348),
    ("jul", -1.7, 94.215, -40.3, 4991.6, 205, 0.80, (0.896, 0.827, 0.861), 0.585),
    ("jul", 1.4, 93.918, -42.7, 5228.1, 4309, 0.85, (4.962, 4.963, 4.961), 0.060),
    ("jun", -2.9, 92.963, -40.8, 5076.2, 480, 0.91, (1.26, 1.262, 1.268), 0.362),
    ("jun", -1.7, 94.055, -39.8, 4991.6, 145, 0.72, (0.72, 0.702, 0.761), 0.462),
    ("jun", 1.4, 94.465, -41.8, 5228.1, 2778, 0.00, (4.961, 4.959, 4.864), 0.045),
    ("mar", -1.8, 92.843, -50.0, 5099.1, 169, 0.95, (1.811, 1.531, 1.687), 0.450),
    ("mar", -1.8, 93.369, -34.8, 5008.7, 170, 0.82, (0.652, 0.655, 0.646), 0.547),
    ("may", -1.8, 92.893, -46.2, 5099.1, 3724, 0.92, (1.266, 1.281, 1.25), 0.088),
    ("may", -1.8, 93.876, -40.0, 5008.7, 147, 0.80, (0.682, 0.699, 0.697), 0.524),
    ("may", 1.1, 93.994, -36.4, 5191.0, 4961, 0.00, (4.857, 4.856, 4.86), 0.033),
    ("nov", -3.4, 92.649, -30.1, 5017.5, 226, 0.87, (0.714, 0.715, 0.716), 0.504),
    ("nov", -1.1, 94.767, -50.8, 4963.6, 78, 0.88, (1.05, 1.049, 1.046), 0.462),
    ("nov", -0.1, 93.2, -42.0, 5195.8, 2326, 0.90, (4.076, 4.12, 4.153), 0.053),
    ("oct", -3.4, 92.431, -26.9, 5017.5, 274, 0.88, (0.739, 0.742, 0.74), 0.394),
    ("oct", -1.1, 94.601, -49.5, 4963.6, 133, 0.84, (0.982, 0.972, 0.977), 0.421),
    ("oct", -0.1, 93.798, -40.4, 5195.8, 42, 0.00, (4.968, 5.0, 4.912), 0.571),
    ("sep", -3.4, 92.379, -29.8, 5017.5, 164, 0.88, (0.803, 0.797, 0.781), 0.366),
    ("sep", -1.1, 94.199, -37.5, 4963.6, 192, 0.80, (0.879, 0.878, 0.886), 0.500),
)

# Contacts in this campaign (1..10; the rest is a geometric tail up to 56).
_CAMPAIGN = (0.43, 0.257, 0.1306, 0.0628, 0.0395, 0.0229, 0.0153, 0.0094, 0.0066, 0.0052)
# Days since the previous campaign, when there was a contact.
_PDAYS = {
    3: 0.288,
    6: 0.265,
    4: 0.08,
    2: 0.047,
    7: 0.045,
    9: 0.044,
    12: 0.04,
    5: 0.031,
    10: 0.029,
    13: 0.021,
    11: 0.019,
    15: 0.017,
    1: 0.016,
    0: 0.012,
    14: 0.01,
    8: 0.009,
    16: 0.007,
    17: 0.006,
    18: 0.005,
    21: 0.002,
    19: 0.002,
    22: 0.002,
    26: 0.001,
    27: 0.001,
}
_FAILURE_WITH_PDAYS = 0.034
# Number of previous contacts (1..7) given the previous outcome.
_PREVIOUS = {
    "failure": (0.876, 0.096, 0.021, 0.006, 0.001, 0.0, 0.0),
    "success": (0.617, 0.249, 0.092, 0.029, 0.009, 0.002, 0.001),
}
# Call duration in seconds: log-normal around the real median (179 s).
_DURATION_LOG_MEAN, _DURATION_LOG_STD, _DURATION_MAX = 5.19, 0.88, 4918


def bank_marketing(n_rows: int = 5000, seed: int = 0) -> pd.DataFrame:
    """Generate ``n_rows`` synthetic bank-marketing rows, deterministic for ``seed``.

    Columns, order and dtypes match the real file as read by ``pandas.read_csv``
    (int64 / float64 / str); ``y`` is ``"yes"`` for about 11% of rows.
    """
    if n_rows < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}

    job = _choice(rng, list(_JOBS), [v[0] for v in _JOBS.values()], n_rows)
    cols["age"] = _ages(rng, job)
    cols["job"] = job
    band = np.searchsorted(np.asarray(_AGE_BANDS), cols["age"], side="left")
    cols["marital"] = _conditional_choice(rng, _MARITAL_VALUES, _MARITAL_BY_AGE, band)
    for name, table in (
        ("education", _EDUCATION),
        ("default", _DEFAULT),
        ("housing", _HOUSING),
        ("loan", _LOAN),
    ):
        cols[name] = _choice(rng, list(table), list(table.values()), n_rows)

    period = rng.choice(len(_PERIODS), size=n_rows, p=_normalise([p[5] for p in _PERIODS]))
    cellular = rng.random(n_rows) < np.asarray([p[6] for p in _PERIODS])[period]
    cols["contact"] = np.where(cellular, "cellular", "telephone").astype(object)
    cols["month"] = np.asarray([p[0] for p in _PERIODS], dtype=object)[period]
    cols["day_of_week"] = _choice(rng, list(_DAY_OF_WEEK), list(_DAY_OF_WEEK.values()), n_rows)

    duration = np.exp(rng.normal(_DURATION_LOG_MEAN, _DURATION_LOG_STD, n_rows))
    cols["duration"] = np.clip(np.rint(duration), 0, _DURATION_MAX).astype(np.int64)
    cols["campaign"] = _campaign(rng, n_rows)
    poutcome = _choice(rng, list(_POUTCOME), list(_POUTCOME.values()), n_rows)
    cols["pdays"], cols["previous"] = _history(rng, poutcome)
    cols["poutcome"] = poutcome

    for i, name in enumerate(("emp.var.rate", "cons.price.idx", "cons.conf.idx"), start=1):
        cols[name] = np.asarray([p[i] for p in _PERIODS], dtype=np.float64)[period]
    readings = np.asarray([p[7] for p in _PERIODS], dtype=np.float64)
    cols["euribor3m"] = readings[period, rng.integers(0, readings.shape[1], n_rows)]
    cols["nr.employed"] = np.asarray([p[4] for p in _PERIODS], dtype=np.float64)[period]

    p_yes = _yes_probability(cols, period)
    cols["y"] = np.where(rng.random(n_rows) < p_yes, "yes", "no").astype(object)

    return pd.DataFrame({name: _as_column(cols[name]) for name in COLUMNS}, index=pd.RangeIndex(n_rows))


def write_bank_marketing_csv(path: str | Path, n_rows: int = 5000, seed: int = 0) -> Path:
    """Write :func:`bank_marketing` as a comma-separated file with a header; return the path.

    The layout is the real file's (unquoted values, ``.`` decimals), and
    ``pandas.read_csv`` gives back exactly ``bank_marketing(n_rows, seed)``.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(bank_marketing(n_rows=n_rows, seed=seed), preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            table = table.set_column(i, field.name, _float_text(table.column(i)))
    # pyarrow's writer is ~10x faster than DataFrame.to_csv (1M rows in ~2 s); no value
    # contains a comma or a quote, so nothing needs quoting.
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with out.open("wb") as fh:
        fh.write((",".join(COLUMNS) + "\n").encode())
        pacsv.write_csv(table, fh, write_options=options)
    return out


def _float_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # pyarrow writes 5191.0 as "5191"; keep the ".0" so a float column reads back as float
    # even when every value in a small sample happens to be whole.
    text = pc.cast(column, pa.string())
    whole = pc.equal(column, pc.floor(column))
    return pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)


def _normalise(weights: list[float] | tuple[float, ...]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


def _choice(rng: np.random.Generator, values: list[str], weights: list[float], n: int) -> np.ndarray:
    idx = rng.choice(len(values), size=n, p=_normalise(weights))
    return np.asarray(values, dtype=object)[idx]


def _conditional_choice(
    rng: np.random.Generator, values: tuple[str, ...], table: tuple[tuple[float, ...], ...], group: np.ndarray
) -> np.ndarray:
    # Inverse-CDF per row: one uniform draw against the cumulative row of its group.
    cdf = np.cumsum(np.asarray(table), axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(size=(len(group),))
    idx = (u[:, None] > cdf[group]).sum(axis=1)
    return np.asarray(values, dtype=object)[np.minimum(idx, len(values) - 1)]


def _ages(rng: np.random.Generator, job: np.ndarray) -> np.ndarray:
    stats = np.asarray([v[1:] for v in _JOBS.values()], dtype=np.float64)
    code = pd.Categorical(job, categories=list(_JOBS)).codes
    mean, std, low, high = (stats[code, i] for i in range(4))
    # A right-skewed spread (ages bunch below the mean, with a long tail of older clients).
    z = rng.gamma(4.0, 0.5, job.shape[0]) - 2.0
    return np.clip(np.rint(mean + std * z), low, high).astype(np.int64)


def _campaign(rng: np.random.Generator, n: int) -> np.ndarray:
    head = np.asarray(_CAMPAIGN)
    probs = np.append(head, 1.0 - head.sum())
    out = rng.choice(np.arange(1, len(probs) + 1), size=n, p=probs)
    tail = out == len(probs)
    out[tail] = np.minimum(len(probs) + rng.geometric(0.15, int(tail.sum())) - 1, 56)
    return out.astype(np.int64)


def _history(rng: np.random.Generator, poutcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = poutcome.shape[0]
    pdays = np.full(n, 999, dtype=np.int64)
    previous = np.zeros(n, dtype=np.int64)
    for outcome, probs in _PREVIOUS.items():
        rows = poutcome == outcome
        previous[rows] = rng.choice(np.arange(1, 8), size=int(rows.sum()), p=_normalise(probs))
    contacted = (poutcome == "success") | ((poutcome == "failure") & (rng.random(n) < _FAILURE_WITH_PDAYS))
    days = rng.choice(list(_PDAYS), size=int(contacted.sum()), p=_normalise(list(_PDAYS.values())))
    pdays[contacted] = days
    return pdays, previous


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return np.log(p / (1.0 - p))


def _yes_probability(cols: dict[str, np.ndarray], period: np.ndarray) -> np.ndarray:
    period_yes = np.asarray([p[8] for p in _PERIODS])
    score = (
        2.1 * (np.log1p(cols["duration"]) - _DURATION_LOG_MEAN)
        + 0.8 * (_logit(period_yes)[period] - _logit(YES_RATE))
        + np.select([cols["poutcome"] == "success", cols["poutcome"] == "failure"], [2.5, 0.3], 0.0)
        - 0.5 * (cols["contact"] == "telephone")
        + 1.0 * (cols["age"] > 60)
        + 0.4 * (cols["age"] <= 25)
        - 0.06 * (cols["campaign"] - 1)
        + 0.3 * (cols["job"] == "student")
    )
    if score.size == 0:
        return score
    # Shift the intercept so the expected yes-rate is YES_RATE whatever the sample.
    low, high = -20.0, 20.0
    for _ in range(50):
        mid = (low + high) / 2.0
        if np.mean(1.0 / (1.0 + np.exp(-(score + mid)))) < YES_RATE:
            low = mid
        else:
            high = mid
    return np.asarray(1.0 / (1.0 + np.exp(-(score + low))))


def _as_column(values: np.ndarray) -> pd.Series:
    if values.dtype == object:
        return pd.Series(values, dtype="str")
    return pd.Series(values)
