#!/usr/bin/env python3
"""Generate golden cases for modelwatch-engine's CBPE port from NannyML 0.13.1 itself.

Writes crates/modelwatch-engine/tests/golden/cbpe/:

- one `<case>.json` per seeded case: the reference rows (score, y_true), the analysis rows
  (score, y_pred), the chunk size, NannyML's calibration decision
  (`nannyml.calibration.needs_calibration`, also checked against the fitted CBPE's own), and
  NannyML's estimated accuracy, precision, recall, f1 and roc_auc per analysis chunk (NaN as
  null), from `CBPE(metrics=[...], chunk_size=K, problem_type="classification_binary")`;
- `isotonic.json`: scikit-learn's `IsotonicRegression(out_of_bounds="clip", increasing=True)`
  fitted on x with ties and y 0/1 or real: its thresholds and its predictions at query points.

The Rust test `tests/it/cbpe.rs` replays every file. `--survey N` also prints how often
NannyML's calibration decision is "calibrate" over N seeded references of each kind (the
figure that says how often the engine's `calibration = "auto"` agrees with NannyML).

Usage:
    python3 tools/cbpe_reference.py                 # creates tools/.venv-nannyml if needed
    python3 tools/cbpe_reference.py --python /path/to/venv/bin/python --survey 50

Every version is pinned below; the interpreter must have them, the script re-runs itself
under it. NML_DISABLE_USAGE_LOGGING=1 keeps NannyML from sending usage telemetry.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

PINNED = {
    "nannyml": "0.13.1",
    "numpy": "2.4.6",
    "pandas": "3.1.1",
    "scikit-learn": "1.9.1",
    "scipy": "1.17.1",
    "statsmodels": "0.15.0",  # imported by nannyml/plots, not declared by nannyml
}
REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "crates" / "modelwatch-engine" / "tests" / "golden" / "cbpe"
VENV = REPO / "tools" / ".venv-nannyml"
METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc"]


def reference_python(explicit: str | None) -> str:
    """--python, $NANNYML_PYTHON, or tools/.venv-nannyml (created and filled when missing)."""
    chosen = explicit or os.environ.get("NANNYML_PYTHON")
    if chosen:
        return chosen
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    check = subprocess.run(
        [str(python), "-c", "import nannyml, statsmodels"],
        capture_output=True,
        env={**os.environ, "NML_DISABLE_USAGE_LOGGING": "1"},
    )
    if check.returncode != 0:
        pins = [f"{name}=={version}" for name, version in PINNED.items()]
        subprocess.run([str(python), "-m", "pip", "install", *pins], check=True)
    return str(python)


def under_reference_python() -> bool:
    try:
        import importlib.metadata as metadata

        return all(metadata.version(name) == version for name, version in PINNED.items())
    except Exception:  # noqa: BLE001 - any missing package means "not this interpreter"
        return False


# ---------------------------------------------------------------------------------------------
# Cases (run under the reference interpreter)


def unique_scores(rng, n, a, b, decimals=6):
    """n distinct scores in (0, 1): Beta(a, b) draws rounded to `decimals`, duplicates redrawn."""
    import numpy as np

    seen = set()
    out = []
    while len(out) < n:
        for value in np.round(rng.beta(a, b, n), decimals):
            value = float(value)
            if 0.0 < value < 1.0 and value not in seen:
                seen.add(value)
                out.append(value)
                if len(out) == n:
                    break
    return np.asarray(out)


def make_cases():
    """(name, description, chunk_size, reference scores, y_true, analysis scores, y_pred)."""
    import numpy as np

    cases = []

    def add(name, description, chunk_size, s_ref, y_ref, s_ana, y_pred):
        cases.append(
            (
                name,
                description,
                chunk_size,
                np.asarray(s_ref, dtype=float),
                np.asarray(y_ref, dtype=int),
                np.asarray(s_ana, dtype=float),
                np.asarray(y_pred, dtype=int),
            )
        )

    rng = np.random.default_rng(1301)
    s = unique_scores(rng, 2200, 2, 2)
    y = (rng.random(2200) < s).astype(int)
    add("well_calibrated", "P(y=1|s) = s; y_pred = s >= 0.5; 1200 analysis rows, chunks of 250",
        250, s[:1000], y[:1000], s[1000:], s[1000:] >= 0.5)

    # The first seed from 1320 on for which NannyML finds calibration useless (about half of
    # the seeds, for calibrated scores): its decision without a shortcut is "no calibration".
    from nannyml.calibration import IsotonicCalibrator, needs_calibration

    seed = 1320
    while True:
        rng = np.random.default_rng(seed)
        s = unique_scores(rng, 1500, 2, 2)
        y = (rng.random(1500) < s).astype(int)
        if not needs_calibration(y[:800], s[:800], IsotonicCalibrator()):
            break
        seed += 1
    add(f"well_calibrated_declined", f"P(y=1|s) = s (seed {seed}); NannyML declines calibration; y_pred = s >= 0.45",
        200, s[:800], y[:800], s[800:], s[800:] >= 0.45)

    rng = np.random.default_rng(1302)
    s = unique_scores(rng, 2200, 2, 2)
    y = (rng.random(2200) < s**3).astype(int)
    add("miscalibrated", "P(y=1|s) = s^3 (overconfident); y_pred = s >= 0.5",
        250, s[:1000], y[:1000], s[1000:], s[1000:] >= 0.5)

    add("miscalibrated_threshold_0_3", "as miscalibrated, y_pred = s >= 0.3",
        300, s[:1000], y[:1000], s[1000:], s[1000:] >= 0.3)

    rng = np.random.default_rng(1303)
    s = unique_scores(rng, 2200, 0.7, 0.7)
    logit = np.log(s / (1 - s))
    y = (rng.random(2200) < 1 / (1 + np.exp(-0.5 * logit))).astype(int)
    s_ana = unique_scores(np.random.default_rng(13031), 1300, 4, 2)
    s_ana = np.asarray([v for v in s_ana if v not in set(s[:1000])][:1100])
    add("underconfident_with_shift", "P(y=1|s) = sigmoid(logit(s) / 2); analysis scores drift to Beta(4, 2); y_pred = s >= 0.6",
        400, s[:1000], y[:1000], s_ana, s_ana >= 0.6)

    rng = np.random.default_rng(1304)
    s = unique_scores(rng, 2000, 1, 1)
    y = (s >= 0.5).astype(int)
    add("separable_reference", "reference roc_auc = 1 > 0.999 (no calibration); y_pred = s >= 0.5",
        300, s[:900], y[:900], s[900:], s[900:] >= 0.5)

    rng = np.random.default_rng(1305)
    s = unique_scores(rng, 1900, 2, 5)
    add("one_class_reference", "every reference label is 0 (no calibration); y_pred = s >= 0.4",
        250, s[:800], np.zeros(800, dtype=int), s[800:], s[800:] >= 0.4)

    rng = np.random.default_rng(1306)
    s = np.round(rng.beta(2, 2, 2200), 2)
    y = (rng.random(2200) < s**2).astype(int)
    add("tied_scores", "scores rounded to 2 decimals (ties everywhere); P(y=1|s) = s^2; y_pred = s >= 0.5",
        250, s[:1000], y[:1000], s[1000:], s[1000:] >= 0.5)

    rng = np.random.default_rng(1307)
    s = unique_scores(rng, 1000, 1, 1)
    y = np.where(s < 0.3, 0, (rng.random(1000) < s).astype(int))
    low = unique_scores(np.random.default_rng(13071), 400, 1, 1) * 0.25
    low = np.asarray([v for v in np.round(low, 7) if v not in set(s)][:150])
    s_ana = np.concatenate([s[600:1000], low])
    y_pred = np.concatenate([s[600:1000] >= 0.5, np.zeros(len(low), dtype=bool)])
    add("degenerate_last_chunk", "calibrated to 0 below 0.3; the last chunk has only scores below 0.25 and no predicted positive (precision, recall, f1 undefined, NannyML: 0; roc_auc NaN)",
        200, s[:600], y[:600], s_ana, y_pred)
    return cases


def run_case(case):
    import numpy as np
    import pandas as pd
    import nannyml
    from nannyml.calibration import IsotonicCalibrator, needs_calibration

    name, description, chunk_size, s_ref, y_ref, s_ana, y_pred = case
    decision = bool(needs_calibration(y_ref, s_ref, IsotonicCalibrator()))
    reference = pd.DataFrame(
        {"y_pred_proba": s_ref, "y_pred": (s_ref >= 0.5).astype(int), "y_true": y_ref}
    )
    analysis = pd.DataFrame({"y_pred_proba": s_ana, "y_pred": y_pred.astype(int)})
    estimator = nannyml.CBPE(
        y_pred_proba="y_pred_proba",
        y_pred="y_pred",
        y_true="y_true",
        metrics=METRICS,
        chunk_size=chunk_size,
        problem_type="classification_binary",
    )
    estimator.fit(reference)
    assert estimator.needs_calibration == decision, name
    result = estimator.estimate(analysis).filter(period="analysis").to_df()
    chunks = []
    for row in range(len(result)):
        estimated = {}
        for metric in METRICS:
            value = float(result[(metric, "value")].iloc[row])
            estimated[metric] = None if np.isnan(value) else value
        chunks.append(
            {
                "start": int(result[("chunk", "start_index")].iloc[row]),
                "end": int(result[("chunk", "end_index")].iloc[row]),
                "estimated": estimated,
            }
        )
    return {
        "name": name,
        "description": description,
        "versions": PINNED,
        "chunk_size": chunk_size,
        "needs_calibration": decision,
        "reference": {"scores": s_ref.tolist(), "y_true": y_ref.tolist()},
        "analysis": {"scores": s_ana.tolist(), "y_pred": y_pred.astype(int).tolist()},
        "chunks": chunks,
    }


def isotonic_cases():
    import numpy as np
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(1310)
    cases = []

    def add(name, x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        model = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(x, y)
        queries = np.concatenate(
            [
                [x.min() - 1.0, x.max() + 1.0],
                model.X_thresholds_,
                np.linspace(x.min(), x.max(), 57),
                np.round(rng.random(40), 4),
            ]
        )
        cases.append(
            {
                "name": name,
                "x": x.tolist(),
                "y": y.tolist(),
                "x_thresholds": model.X_thresholds_.tolist(),
                "y_thresholds": model.y_thresholds_.tolist(),
                "queries": queries.tolist(),
                "predictions": [
                    float(v) for v in model.predict(queries)
                ],
            }
        )

    x = np.round(rng.beta(2, 2, 300), 2)
    add("ties_binary", x, (rng.random(300) < x**2).astype(int))
    x = np.round(rng.random(200) * 10, 1)
    add("ties_real", x, np.sin(x / 3) + rng.normal(0, 0.4, 200))
    x = rng.random(150)
    add("distinct_binary", x, (rng.random(150) < x).astype(int))
    add("decreasing_real", np.arange(20.0), 20.0 - np.arange(20.0) + rng.normal(0, 0.1, 20))
    add("near_equal_x", [1e-3, 1e-3 + 5e-16, 1e-3 + 4e-15, 0.2, 0.2, 0.7], [1, 0, 0, 1, 0, 1])
    add("single_point", [0.4], [1])
    add("one_distinct_x", [0.4, 0.4, 0.4], [1, 0, 0])
    add("two_points", [0.1, 0.9], [1, 0])
    return cases


def survey(count):
    """How often needs_calibration says "calibrate" for references of each kind."""
    import numpy as np
    from nannyml.calibration import IsotonicCalibrator, needs_calibration

    kinds = {
        "calibrated P(y|s)=s": lambda rng, s: rng.random(len(s)) < s,
        "overconfident P(y|s)=s^3": lambda rng, s: rng.random(len(s)) < s**3,
        "underconfident sigmoid(logit/2)": lambda rng, s: rng.random(len(s))
        < 1 / (1 + np.exp(-0.5 * np.log(s / (1 - s)))),
    }
    for kind, labels in kinds.items():
        for n in (500, 2000):
            calibrate = 0
            for seed in range(count):
                rng = np.random.default_rng(seed)
                s = np.clip(rng.beta(2, 2, n), 1e-6, 1 - 1e-6)
                y = labels(rng, s).astype(int)
                calibrate += bool(needs_calibration(y, s, IsotonicCalibrator()))
            print(f"survey: {kind}, n={n}: calibrate in {calibrate}/{count}")


def generate(survey_count: int) -> None:
    os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
    import warnings

    warnings.simplefilter("ignore")
    OUT.mkdir(parents=True, exist_ok=True)
    for case in make_cases():
        record = run_case(case)
        path = OUT / f"{record['name']}.json"
        path.write_text(json.dumps(record, separators=(",", ":")) + "\n")
        print(f"{path.relative_to(REPO)}: needs_calibration={record['needs_calibration']}")
    path = OUT / "isotonic.json"
    path.write_text(json.dumps({"versions": PINNED, "cases": isotonic_cases()}, separators=(",", ":")) + "\n")
    print(f"{path.relative_to(REPO)}")
    if survey_count:
        survey(survey_count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="interpreter with the pinned versions installed")
    parser.add_argument("--survey", type=int, default=0, metavar="N",
                        help="also survey NannyML's calibration decision over N seeds per kind")
    args = parser.parse_args()
    if os.environ.get("CBPE_REFERENCE_CHILD") == "1":
        if not under_reference_python():
            sys.exit(f"{sys.executable} lacks the pinned versions: {PINNED}")
        generate(args.survey)
        return
    python = reference_python(args.python)
    command = [python, __file__]
    if args.survey:
        command += ["--survey", str(args.survey)]
    env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "CBPE_REFERENCE_CHILD": "1"}
    sys.exit(subprocess.run(command, env=env).returncode)


if __name__ == "__main__":
    main()
