//! The quadratic form dᵀ·A⁺·d with the pseudo-inverse of a symmetric 4×4 matrix, and that
//! pseudo-inverse's rank, as `numpy.linalg.pinv` and `matrix_rank` (through SciPy's array API
//! wrappers, cutoff 4·ε times the largest singular value) give them. The singular values of a
//! symmetric matrix are the sizes of its eigenvalues, found here by cyclic Jacobi rotations.

/// Eigenvalues and eigenvectors (as columns) of the symmetric matrix `a`.
fn jacobi(mut a: [[f64; 4]; 4]) -> ([f64; 4], [[f64; 4]; 4]) {
    let mut v = [[0.0; 4]; 4];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    let scale: f64 = a.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
    for _ in 0..64 {
        let off: f64 = (0..4)
            .flat_map(|p| (p + 1..4).map(move |q| (p, q)))
            .map(|(p, q)| a[p][q] * a[p][q])
            .sum::<f64>()
            .sqrt();
        if off <= scale * f64::EPSILON * 1e-3 {
            break;
        }
        for p in 0..3 {
            for q in p + 1..4 {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (kp, kq) = (row[p], row[q]);
                    row[p] = c * kp - s * kq;
                    row[q] = s * kp + c * kq;
                }
                let (row_p, row_q) = (a[p], a[q]);
                for k in 0..4 {
                    a[p][k] = c * row_p[k] - s * row_q[k];
                    a[q][k] = s * row_p[k] + c * row_q[k];
                }
                for row in v.iter_mut() {
                    let (kp, kq) = (row[p], row[q]);
                    row[p] = c * kp - s * kq;
                    row[q] = s * kp + c * kq;
                }
            }
        }
    }
    ([a[0][0], a[1][1], a[2][2], a[3][3]], v)
}

/// dᵀ·A⁺·d and the rank of A⁺ for a symmetric `a`: eigenvalues whose size is at most 4·ε times
/// the largest are dropped, as NumPy's pseudo-inverse drops those singular values.
pub(super) fn pseudo_inverse_form(a: [[f64; 4]; 4], d: [f64; 4]) -> (f64, usize) {
    let (values, vectors) = jacobi(a);
    let largest = values.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let cutoff = 4.0 * f64::EPSILON * largest;
    let mut form = 0.0;
    let mut rank = 0;
    for (k, value) in values.iter().enumerate() {
        if value.abs() > cutoff {
            let projection: f64 = (0..4).map(|i| vectors[i][k] * d[i]).sum();
            form += projection * projection / value;
            rank += 1;
        }
    }
    (form, rank)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_rank_form_is_the_inverse_one() {
        // A diagonal matrix with one coupling: A = [[2,1,0,0],[1,2,0,0],[0,0,3,0],[0,0,0,4]].
        let a = [
            [2.0, 1.0, 0.0, 0.0],
            [1.0, 2.0, 0.0, 0.0],
            [0.0, 0.0, 3.0, 0.0],
            [0.0, 0.0, 0.0, 4.0],
        ];
        // A⁻¹ on the first block is [[2,-1],[-1,2]]/3; d = (1, 0, 3, 2).
        let (form, rank) = pseudo_inverse_form(a, [1.0, 0.0, 3.0, 2.0]);
        assert_eq!(rank, 4);
        assert!((form - (2.0 / 3.0 + 3.0 + 1.0)).abs() < 1e-14, "{form}");
    }

    #[test]
    fn rank_one_keeps_one_direction() {
        // A = u·uᵀ with u = (1, 2, 0, 0); d = u: dᵀA⁺d = 1.
        let u = [1.0, 2.0, 0.0, 0.0];
        let a: [[f64; 4]; 4] = std::array::from_fn(|i| std::array::from_fn(|j| u[i] * u[j]));
        let (form, rank) = pseudo_inverse_form(a, u);
        assert_eq!(rank, 1);
        assert!((form - 1.0).abs() < 1e-14, "{form}");
    }
}
