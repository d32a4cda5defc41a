//! The special functions SciPy's tests rely on, ported from the Cephes routines SciPy 1.17
//! uses so that they round as SciPy does: the normal distribution (`ndtr`, `erf`, `erfc`),
//! the incomplete gamma functions and the chi-square survival function (`igam`, `igamc`,
//! `chi2_sf`), log-gamma (`lgam`), the incomplete beta function and Student's t survival
//! function (`incbet`, `t_sf`), and the modified Bessel function of the second kind of small
//! order (`kv`, for Cramér-von Mises).
//!
//! - `poly.rs`: Cephes's polynomial evaluation.
//! - `normal.rs`, `gamma.rs`, `igam.rs` (+ `igam_coeff.rs`, the asymptotic series' table),
//!   `beta.rs`, `bessel_k.rs` (AMOS's K_ν for real arguments).

// The constants are Cephes's, written as published (more digits than an f64 holds).
#![allow(clippy::excessive_precision)]

mod bessel_k;
mod beta;
mod gamma;
mod igam;
mod igam_coeff;
mod normal;
mod poly;

pub use bessel_k::kv;
pub use beta::{incbet, t_sf};
pub use gamma::{gamma, lgam};
pub use igam::{chi2_sf, igam, igamc};
pub use normal::{erf, erfc, ndtr};

#[cfg(test)]
mod tests;
