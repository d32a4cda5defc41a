"""Reference values of the special functions the drift tests use, from SciPy.

Prints Rust array literals for crates/modelwatch-engine/src/drift/special/tests.rs.
Environment: tools/.venv-scipy with scipy==1.17.1 numpy==2.4.6 (python3.11 -m venv
tools/.venv-scipy && tools/.venv-scipy/bin/pip install scipy==1.17.1 numpy==2.4.6).
"""

import numpy as np
import scipy
from scipy import special, stats

assert scipy.__version__ == "1.17.1", scipy.__version__
assert np.__version__ == "2.4.6", np.__version__


def rows(name, items):
    print(f"const {name}: &[{'(' + ', '.join(['f64'] * len(items[0])) + ')'}] = &[")
    for it in items:
        print("    (" + ", ".join(repr(float(v)) for v in it) + "),")
    print("];")


xs = [-40.0, -38.5, -20.0, -8.3, -5.5, -3.0, -1.5, -1.0, -0.7, -0.3, -1e-5, 0.0,
      1e-7, 0.2, 0.5, 0.9999, 1.2, 1.41, 2.0, 2.5, 4.0, 6.0, 8.0, 8.2, 9.0, 12.0, 38.0]
rows("NDTR", [(x, special.ndtr(x)) for x in xs])
rows("ERFC", [(x, special.erfc(x)) for x in [-3.0, -0.5, 0.3, 0.99, 1.0, 1.5, 5.0, 7.9, 8.1, 20.0]])

chi = []
for df in [1, 2, 3, 4, 5, 7, 10, 19, 41, 44, 60, 99, 150, 399, 401, 1000, 5000]:
    for x in [1e-6, 0.05, 0.3, 0.9, 1.0, 1.3, 2.1, 3.84, 7.5, df * 0.5, df * 0.8, df * 0.95,
              df * 1.0, df * 1.1, df * 1.3, df * 2.0, df + 40.0, 150.0, 900.0]:
        chi.append((x, df, stats.chi2.sf(x, df)))
rows("CHI2_SF", chi)

lg = [0.5, 1.0, 1.5, 2.0, 2.5, 3.7, 10.5, 12.9, 13.0, 13.5, 50.5, 999.5, 1000.0, 1500.5,
      2.0e8, 1e-3, 0.25]
rows("LGAM", [(x, special.gammaln(x)) for x in lg])

ts = []
for df in [1, 2, 3, 5, 8, 17, 30, 98, 200, 1998, 19998, 199998]:
    for t in [-40.0, -6.0, -2.2, -1.0, -0.3, -1e-4, 0.0, 1e-6, 0.01, 0.2, 0.7, 1.0, 1.96,
              2.6, 4.0, 9.0, 25.0, 60.0]:
        ts.append((t, df, stats.t.sf(t, df)))
rows("T_SF", ts)
