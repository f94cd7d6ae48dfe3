import { Matrix, QrDecomposition, SingularValueDecomposition } from 'ml-matrix';
import type { Rng } from '../util/random.js';

/**
 * Float64 decompositions of a base weight on the host, for the PiSSA and OLoRA initialisations.
 * ml-matrix supplies Householder QR and Golub–Kahan SVD (ports of JAMA); this file only adapts
 * shapes and conventions to torch.linalg's (reduced factors, singular values descending).
 */

export interface Dense {
  rows: number;
  cols: number;
  /** Row-major values. */
  data: Float32Array | Float64Array;
}

function toMatrix(w: Dense): Matrix {
  const m = new Matrix(w.rows, w.cols);
  for (let i = 0; i < w.rows; i++) for (let j = 0; j < w.cols; j++) m.set(i, j, w.data[i * w.cols + j]);
  return m;
}

function fromMatrix(m: Matrix): Dense {
  const rows = m.rows;
  const cols = m.columns;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = m.get(i, j);
  return { rows, cols, data };
}

/**
 * Reduced QR, as torch.linalg.qr(W) (mode "reduced"): Q `[m, k]` with orthonormal columns and
 * R `[k, n]` upper triangular, k = min(m, n), W = Q·R. Householder reflections with LAPACK's sign
 * convention (R's diagonal has the opposite sign of the pivot column's leading entry).
 * When m < n, the reflections only ever read the first m columns, so Q comes from their QR and
 * R = Qᵀ·W.
 */
export function qrReduced(w: Dense): { Q: Dense; R: Dense } {
  const W = toMatrix(w);
  if (w.rows >= w.cols) {
    const qr = new QrDecomposition(W);
    return { Q: fromMatrix(qr.orthogonalMatrix), R: fromMatrix(qr.upperTriangularMatrix) };
  }
  const qr = new QrDecomposition(W.subMatrix(0, w.rows - 1, 0, w.rows - 1));
  const Q = qr.orthogonalMatrix;
  return { Q: fromMatrix(Q), R: fromMatrix(Q.transpose().mmul(W)) };
}

export interface TruncatedSvd {
  /** Left singular vectors `[m, r]`. */
  U: Dense;
  /** Singular values, descending, length r. */
  S: Float64Array;
  /** Right singular vectors `[n, r]` (W ≈ U·diag(S)·Vᵀ). */
  V: Dense;
}

function truncate(svd: SingularValueDecomposition, r: number): TruncatedSvd {
  const U = svd.leftSingularVectors;
  const V = svd.rightSingularVectors;
  return {
    U: fromMatrix(U.subMatrix(0, U.rows - 1, 0, r - 1)),
    S: Float64Array.from(svd.diagonal.slice(0, r)),
    V: fromMatrix(V.subMatrix(0, V.rows - 1, 0, r - 1)),
  };
}

/** The top-r singular triplets of W from its full thin SVD (torch.linalg.svd(W, full_matrices=False)). */
export function svdTop(w: Dense, r: number): TruncatedSvd {
  if (r > Math.min(w.rows, w.cols)) throw new Error(`internal: rank ${r} exceeds min(${w.rows}, ${w.cols})`);
  return truncate(new SingularValueDecomposition(toMatrix(w), { autoTranspose: true }), r);
}

/**
 * Randomized rank-q SVD with `niter` subspace iterations (Halko, Martinsson & Tropp 2011,
 * Algorithm 4.4), as torch.svd_lowrank(W, q, niter) computes it: a Gaussian test matrix, a QR
 * re-orthonormalisation after every product, then the exact SVD of the small projected matrix.
 * Like torch, it factors the transpose when that keeps the projected matrix smaller.
 */
export function svdLowRank(w: Dense, q: number, niter: number, rng: Rng): TruncatedSvd {
  const W = toMatrix(w);
  const transpose = w.rows < w.cols || w.cols > q;
  const A = transpose ? W.transpose() : W; // basis of A's range, [rowsA, q]
  const n = A.columns;
  const R = new Matrix(n, q);
  for (let i = 0; i < n; i++) for (let j = 0; j < q; j++) R.set(i, j, rng.normal());
  const orth = (X: Matrix) => new QrDecomposition(X).orthogonalMatrix;
  let Q = orth(A.mmul(R));
  const At = A.transpose();
  for (let i = 0; i < niter; i++) {
    Q = orth(At.mmul(Q));
    Q = orth(A.mmul(Q));
  }
  if (transpose) {
    // Q spans Wᵀ's range (W's row space): W·Q = U·S·Vhᵀ, and W ≈ U·S·(Q·Vh)ᵀ.
    const small = new SingularValueDecomposition(W.mmul(Q), { autoTranspose: true });
    const t = truncate(small, q);
    return { U: t.U, S: t.S, V: fromMatrix(Q.mmul(toMatrix(t.V))) };
  }
  const small = new SingularValueDecomposition(Q.transpose().mmul(W), { autoTranspose: true });
  const t = truncate(small, q);
  return { U: fromMatrix(Q.mmul(toMatrix(t.U))), S: t.S, V: t.V };
}
