//! The special functions SciPy's tests rely on (ports of the Cephes routines SciPy uses):
//! the normal distribution, the chi-square and Student's t survival functions, Bessel
//! functions. PLACEHOLDER: filled in with the tests that need them.
