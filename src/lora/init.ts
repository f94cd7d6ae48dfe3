import { deriveSeed, Rng } from '../util/random.js';
import { qrReduced, svdLowRank, svdTop } from './linalg.js';

/**
 * PEFT's default A init: nn.init.kaiming_uniform_(A, a=√5), whose bound works out to
 * √(6 / ((1 + a²)·fan_in)) = 1/√fan_in. Seeded per module so runs are reproducible.
 */
export function kaimingUniformA(r: number, inFeatures: number, seed: number, moduleName: string): Float32Array {
  const rng = new Rng(deriveSeed(seed, `lora_A:${moduleName}`));
  const bound = 1 / Math.sqrt(inFeatures);
  const a = new Float32Array(r * inFeatures);
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-bound, bound);
  return a;
}

/** PEFT's "gaussian" init: A ~ N(0, (1/r)²). */
export function gaussianA(r: number, inFeatures: number, seed: number, moduleName: string): Float32Array {
  const rng = new Rng(deriveSeed(seed, `lora_A:${moduleName}`));
  const a = new Float32Array(r * inFeatures);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal() / r;
  return a;
}

/** B starts at zero so that the adapted model equals the base model before training. */
export function zerosB(outFeatures: number, r: number): Float32Array {
  return new Float32Array(outFeatures * r);
}

/** init_lora_weights=false: B like nn.Linear's default too (Kaiming-uniform, fan_in = r), so the adapter is not a no-op. */
export function kaimingUniformB(outFeatures: number, r: number, seed: number, moduleName: string): Float32Array {
  return kaimingUniformA(outFeatures, r, seed, `lora_B:${moduleName}`);
}

export interface BaseMutatingInit {
  A: Float32Array; // [r, in]
  B: Float32Array; // [out, r]
  /** The new frozen base W − scale·B·A, `[out, in]`. */
  residual: Float32Array;
}

function residualOf(W: Float32Array, A: Float64Array, B: Float64Array, out: number, inF: number, r: number, scale: number): Float32Array {
  const res = new Float32Array(W.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += B[o * r + k] * A[k * inF + i];
      res[o * inF + i] = W[o * inF + i] - scale * s;
    }
  }
  return res;
}

/**
 * PiSSA (Meng et al. 2024) as PEFT's pissa_init: W = U·S·Vᵀ, keep the top r triplets,
 * A = diag(√(S_r/scale))·V_rᵀ, B = U_r·diag(√(S_r/scale)), so scale·B·A = U_r·S_r·V_rᵀ, and the
 * frozen base becomes the residual W − scale·B·A. `niter` null: exact SVD; a number: randomized
 * SVD with that many subspace iterations (pissa_niter_N), seeded per module.
 */
export function pissaInit(W: Float32Array, out: number, inF: number, r: number, scale: number, niter: number | null, seed: number, moduleName: string): BaseMutatingInit {
  const w = { rows: out, cols: inF, data: W };
  const { U, S, V } = niter === null ? svdTop(w, r) : svdLowRank(w, r, niter, new Rng(deriveSeed(seed, `pissa:${moduleName}`)));
  const A = new Float64Array(r * inF);
  const B = new Float64Array(out * r);
  for (let k = 0; k < r; k++) {
    const s = Math.sqrt(S[k] / scale);
    for (let i = 0; i < inF; i++) A[k * inF + i] = s * V.data[i * r + k];
    for (let o = 0; o < out; o++) B[o * r + k] = U.data[o * r + k] * s;
  }
  return { A: Float32Array.from(A), B: Float32Array.from(B), residual: residualOf(W, A, B, out, inF, r, scale) };
}

/**
 * OLoRA (Büyükakyüz 2024) as PEFT's olora_init: W = Q·R (reduced QR), B = Q[:, :r],
 * A = R[:r, :], base ← W − scale·B·A (PEFT does not divide by the scale here, unlike PiSSA).
 */
export function oloraInit(W: Float32Array, out: number, inF: number, r: number, scale: number): BaseMutatingInit {
  const { Q, R } = qrReduced({ rows: out, cols: inF, data: W });
  const k = Q.cols;
  if (r > k) throw new Error(`internal: OLoRA rank ${r} exceeds min(${out}, ${inF})`);
  const A = new Float64Array(r * inF);
  const B = new Float64Array(out * r);
  for (let j = 0; j < r; j++) {
    for (let i = 0; i < inF; i++) A[j * inF + i] = R.data[j * inF + i];
    for (let o = 0; o < out; o++) B[o * r + j] = Q.data[o * k + j];
  }
  return { A: Float32Array.from(A), B: Float32Array.from(B), residual: residualOf(W, A, B, out, inF, r, scale) };
}
