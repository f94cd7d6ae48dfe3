/**
 * Fused layer ops: rotary embedding, RMSNorm, LayerNorm, gelu_new, the SiLU-gated MLP product and attention's
 * scale + mask + softmax, each one kernel forward and one backward instead of the 5–15 kernels
 * (and as many tape nodes) tfjs runs for the composed ops. A backend opts in by registering the
 * kernels named in {@link FUSED_KERNELS} (src/engine/native-fused.ts does for wasm with the native
 * ops addon); where they are not registered every function here returns null and the layers run
 * their composed ops. The kernels must give the composed ops' values and gradients bit for bit:
 * the gradients below are the composed ops' gradient chains, computed by the backward kernels in
 * tfjs's order (tests/model/fused-ops.test.ts compares both paths).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../util/tfjs-setup.js';

export const FUSED_KERNELS = {
  rope: 'LoraStudyFusedRope',
  ropeGrad: 'LoraStudyFusedRopeGrad',
  rmsNorm: 'LoraStudyFusedRmsNorm',
  rmsNormPass: 'LoraStudyFusedRmsNormPass',
  addRmsNorm: 'LoraStudyFusedAddRmsNorm',
  rmsNormGrad: 'LoraStudyFusedRmsNormGrad',
  rmsNormGradW: 'LoraStudyFusedRmsNormGradW',
  layerNorm: 'LoraStudyFusedLayerNorm',
  layerNormPass: 'LoraStudyFusedLayerNormPass',
  addLayerNorm: 'LoraStudyFusedAddLayerNorm',
  layerNormGrad: 'LoraStudyFusedLayerNormGrad',
  layerNormGradParam: 'LoraStudyFusedLayerNormGradParam',
  geluNew: 'LoraStudyFusedGeluNew',
  geluNewGrad: 'LoraStudyFusedGeluNewGrad',
  siluMul: 'LoraStudyFusedSiluMul',
  siluMulGrad: 'LoraStudyFusedSiluMulGrad',
  attentionSoftmax: 'LoraStudyFusedAttentionSoftmax',
  attentionSoftmaxGrad: 'LoraStudyFusedAttentionSoftmaxGrad',
  attention: 'LoraStudyFusedAttention',
  attentionGrad: 'LoraStudyFusedAttentionGrad',
} as const;

/** Whether the current backend runs the fused kernels. */
export function fusedOpsAvailable(): boolean {
  return tf.getKernel(FUSED_KERNELS.rope, tf.getBackend()) !== undefined;
}

/** Whether the current backend runs this fused kernel (each layer's own check: a backend may register a subset). */
const has = (name: string): boolean => tf.getKernel(name, tf.getBackend()) !== undefined;

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor | tf.Tensor[] =>
  tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor | tf.Tensor[];
const isF32 = (...ts: tf.Tensor[]): boolean => ts.every((t) => t.dtype === 'float32');
const noGradient = (what: string) => (): tf.Tensor => {
  throw new Error(`fused ops: ${what} has no gradient here (it is a constant of the layer)`);
};

/**
 * Rotary embedding of x `[B, H, T, d]` with tables `[B|1, 1, T, r]` (rope.ts applyRope's chain:
 * x·cos + rotate_half(x)·sin on the first r dims, the rest passed through), or null when the
 * backend has no fused kernel or the shapes are not these.
 */
export function fusedRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor | null {
  if (!fusedOpsAvailable() || x.rank !== 4 || cos.rank !== 4 || !isF32(x, cos, sin)) return null;
  const [B, , T, d] = x.shape;
  const r = cos.shape[3] as number;
  if (r > d || r % 2 !== 0 || cos.shape[2] !== T || cos.shape[1] !== 1 || !(cos.shape[0] === 1 || cos.shape[0] === B)) return null;
  if (!tf.util.arraysEqual(cos.shape, sin.shape)) return null;
  return run(FUSED_KERNELS.rope, { x, cos, sin }) as tf.Tensor;
}

tf.registerGradient({
  kernelName: FUSED_KERNELS.rope,
  inputsToSave: ['cos', 'sin'],
  gradFunc: (dy, saved) => {
    const [cos, sin] = saved;
    return {
      x: () => run(FUSED_KERNELS.ropeGrad, { dy: dy as tf.Tensor, cos, sin }) as tf.Tensor,
      cos: noGradient('the rotary cos table'),
      sin: noGradient('the rotary sin table'),
    };
  },
});

/**
 * RMSNorm `w · x / √(mean(x²) + ε)` over the last axis (norms.ts rmsNorm's chain), or null.
 * With `pass`, also returns x itself as a second tensor (the same buffer) for the caller's residual
 * add to read: x's gradient then sums the residual's, the product's and the square's contributions
 * in the order tfjs does when the residual add reads x directly, which a one-output op cannot.
 */
export function fusedRmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number, pass: true): [tf.Tensor, tf.Tensor] | null;
export function fusedRmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number, pass: false): tf.Tensor | null;
export function fusedRmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number, pass: boolean): tf.Tensor | [tf.Tensor, tf.Tensor] | null {
  if (!fusedOpsAvailable() || x.rank < 1 || weight.rank !== 1 || weight.shape[0] !== x.shape[x.rank - 1] || !isF32(x, weight)) return null;
  if (x.size === 0) return null;
  const out = run(pass ? FUSED_KERNELS.rmsNormPass : FUSED_KERNELS.rmsNorm, { x, weight }, { eps });
  return pass ? (out as [tf.Tensor, tf.Tensor]) : (out as tf.Tensor);
}

function rmsNormGrad(dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) {
  const [dy, dres] = Array.isArray(dys) ? dys : [dys, undefined];
  const [x, weight] = saved;
  return {
    x: () => run(FUSED_KERNELS.rmsNormGrad, dres ? { dy, dres, x, weight } : { dy, x, weight }, attrs) as tf.Tensor,
    weight: () => run(FUSED_KERNELS.rmsNormGradW, { dy, x }, attrs) as tf.Tensor,
  };
}
for (const kernelName of [FUSED_KERNELS.rmsNorm, FUSED_KERNELS.rmsNormPass]) {
  tf.registerGradient({ kernelName, inputsToSave: ['x', 'weight'], gradFunc: rmsNormGrad });
}

/**
 * A pre-norm block's residual add and the norm that reads its sum: [RMSNorm(a + b), a + b], or
 * null. The sum is the residual stream the next residual add reads (as fusedRmsNorm's
 * pass-through), so its gradient sums in tfjs's order; a and b each get the sum's gradient, as
 * Add's gradient gives them.
 */
export function fusedAddRmsNorm(a: tf.Tensor, b: tf.Tensor, weight: tf.Tensor, eps: number): [tf.Tensor, tf.Tensor] | null {
  if (!fusedOpsAvailable() || !tf.util.arraysEqual(a.shape, b.shape) || a.rank < 1 || weight.rank !== 1 || weight.shape[0] !== a.shape[a.rank - 1]) return null;
  if (!isF32(a, b, weight) || a.size === 0) return null;
  return run(FUSED_KERNELS.addRmsNorm, { a, b, weight }, { eps }) as [tf.Tensor, tf.Tensor];
}

tf.registerGradient({
  kernelName: FUSED_KERNELS.addRmsNorm,
  inputsToSave: ['weight'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    const [dy, dres] = dys as tf.Tensor[];
    const [weight, sum] = saved;
    const dsum = run(FUSED_KERNELS.rmsNormGrad, { dy, dres, x: sum, weight }, attrs) as tf.Tensor;
    return {
      a: () => dsum,
      b: () => tf.clone(dsum),
      weight: () => run(FUSED_KERNELS.rmsNormGradW, { dy, x: sum }, attrs) as tf.Tensor,
    };
  },
});

const layerNormFits = (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): boolean =>
  has(FUSED_KERNELS.layerNorm) && x.rank >= 1 && x.size > 0 && weight.rank === 1 && weight.shape[0] === x.shape[x.rank - 1] && tf.util.arraysEqual(bias.shape, weight.shape) && isF32(x, weight, bias);

/**
 * LayerNorm `(x − μ)·rsqrt(σ² + ε)·w + b` over the last axis (norms.ts layerNorm's chain, forward and
 * its hand-written backward), or null. With `pass`, also returns x itself for the caller's residual
 * add to read (as fusedRmsNorm): x's gradient then adds the residual's and the norm's in tfjs's order.
 */
export function fusedLayerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number, pass: true): [tf.Tensor, tf.Tensor] | null;
export function fusedLayerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number, pass: false): tf.Tensor | null;
export function fusedLayerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number, pass: boolean): tf.Tensor | [tf.Tensor, tf.Tensor] | null {
  if (!layerNormFits(x, weight, bias)) return null;
  const out = run(pass ? FUSED_KERNELS.layerNormPass : FUSED_KERNELS.layerNorm, { x, weight, bias }, { eps });
  return pass ? (out as [tf.Tensor, tf.Tensor]) : (out as tf.Tensor);
}

/** The gradients of a LayerNorm of x (gain and bias ones only when tfjs asks: when they are trained). */
function layerNormGrads(dy: tf.Tensor, dres: tf.Tensor | undefined, x: tf.Tensor, weight: tf.Tensor, attrs: tf.NamedAttrMap) {
  return {
    dx: () => run(FUSED_KERNELS.layerNormGrad, dres ? { dy, dres, x, weight } : { dy, x, weight }, attrs) as tf.Tensor,
    weight: () => run(FUSED_KERNELS.layerNormGradParam, { dy, x }, { ...attrs, param: 'weight' }) as tf.Tensor,
    bias: () => run(FUSED_KERNELS.layerNormGradParam, { dy, x }, { ...attrs, param: 'bias' }) as tf.Tensor,
  };
}
for (const kernelName of [FUSED_KERNELS.layerNorm, FUSED_KERNELS.layerNormPass]) {
  tf.registerGradient({
    kernelName,
    inputsToSave: ['x', 'weight'],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dres] = Array.isArray(dys) ? dys : [dys, undefined];
      const [x, weight] = saved;
      const { dx, ...params } = layerNormGrads(dy, dres, x, weight, attrs);
      return { x: dx, ...params };
    },
  });
}

/**
 * A pre-norm block's residual add and the LayerNorm that reads its sum: [LayerNorm(a + b), a + b], or
 * null (as fusedAddRmsNorm: the sum is the residual stream the next residual add reads; a and b each
 * get its gradient, as Add's gradient gives them).
 */
export function fusedAddLayerNorm(a: tf.Tensor, b: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): [tf.Tensor, tf.Tensor] | null {
  if (!layerNormFits(a, weight, bias) || !tf.util.arraysEqual(a.shape, b.shape) || !isF32(b)) return null;
  return run(FUSED_KERNELS.addLayerNorm, { a, b, weight, bias }, { eps }) as [tf.Tensor, tf.Tensor];
}

tf.registerGradient({
  kernelName: FUSED_KERNELS.addLayerNorm,
  inputsToSave: ['weight'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    const [dy, dres] = dys as tf.Tensor[];
    const [weight, sum] = saved;
    const { dx, ...params } = layerNormGrads(dy, dres, sum, weight, attrs);
    const dsum = dx();
    return { a: () => dsum, b: () => tf.clone(dsum), ...params };
  },
});

/** gelu_new's float32 constants for its sigmoid form (activations.ts): k, k3 and 3·k3. */
export interface GeluConstants {
  k: number;
  k3: number;
  k3x3: number;
}

/** gelu_new in its sigmoid form x·σ(x·(x²·k3 + k)) (activations.ts geluNew's chain; σ from the backend's own Sigmoid kernel), or null. */
export function fusedGeluNew(x: tf.Tensor, c: GeluConstants): tf.Tensor | null {
  if (!has(FUSED_KERNELS.geluNew) || !isF32(x) || x.size === 0) return null;
  const attrs = { k: Math.fround(c.k), k3: Math.fround(c.k3), k3x3: Math.fround(c.k3x3) };
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [value, s] = run(FUSED_KERNELS.geluNew, { x: xi }, attrs) as tf.Tensor[];
    save([xi, s]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(FUSED_KERNELS.geluNewGrad, { dy, x: saved[0], s: saved[1] }, attrs) as tf.Tensor,
    };
  }) as (x: tf.Tensor) => tf.Tensor;
  return op(x);
}

/** The SiLU-gated MLP's product silu(gate)·up (σ from the backend's own Sigmoid kernel), or null. */
export function fusedSiluMul(gate: tf.Tensor, up: tf.Tensor): tf.Tensor | null {
  if (!fusedOpsAvailable() || !tf.util.arraysEqual(gate.shape, up.shape) || !isF32(gate, up) || gate.size === 0) return null;
  return siluMulOp(gate, up);
}

const siluMulOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [gate, up, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const [value, s] = run(FUSED_KERNELS.siluMul, { gate, up }) as tf.Tensor[];
  save([gate, up, s]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [g, u, sg] = saved;
      return run(FUSED_KERNELS.siluMulGrad, { dy, gate: g, up: u, s: sg }) as tf.Tensor[];
    },
  };
}) as (gate: tf.Tensor, up: tf.Tensor) => tf.Tensor;

/**
 * Attention probabilities softmax(scores·scale + mask) over the last axis, for scores
 * `[B, Hkv, nRep·T, S]` (nRep query heads stacked per key head) and an additive mask
 * `[B|1, 1, T, S]` (attention.ts's chain; the softmax is the backend's own kernel), or null.
 */
export function fusedAttentionSoftmax(scores: tf.Tensor, mask: tf.Tensor, scale: number, nRep: number): tf.Tensor | null {
  if (!fusedOpsAvailable() || scores.rank !== 4 || mask.rank !== 4 || !isF32(scores, mask) || scores.size === 0) return null;
  const [B, , RT, S] = scores.shape;
  const [Bm, one, T, Sm] = mask.shape;
  if (one !== 1 || Sm !== S || T * nRep !== RT || !(Bm === 1 || Bm === B)) return null;
  return run(FUSED_KERNELS.attentionSoftmax, { scores, mask }, { scale: Math.fround(scale), nRep }) as tf.Tensor;
}

tf.registerGradient({
  kernelName: FUSED_KERNELS.attentionSoftmax,
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [y] = saved;
    return {
      scores: () => run(FUSED_KERNELS.attentionSoftmaxGrad, { dy: dy as tf.Tensor, y }, { scale: attrs.scale }) as tf.Tensor,
      mask: noGradient('the attention mask'),
    };
  },
});

/**
 * Self-attention without a KV cache from the projections q `[B, T, H·d]`, k and v `[B, T, Hkv·d]`
 * to the merged heads `[B, T, H·d]`: split heads, rotary on q and k (when `rope` is given), grouped
 * scaled dot-product attention under `mask` `[B|1, 1, T, T]`, merge heads — rope-decoder's chain, as
 * one kernel forward (the products through the backend's BatchMatMul kernel) and one backward; or null.
 */
export function fusedSelfAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, rope: { cos: tf.Tensor; sin: tf.Tensor } | null, mask: tf.Tensor, heads: number, kvHeads: number, headDim: number): tf.Tensor | null {
  if (q.rank !== 3 || !isF32(q, k, v)) return null;
  const [B, T, HD] = q.shape;
  if (HD !== heads * headDim || !tf.util.arraysEqual(k.shape, [B, T, kvHeads * headDim]) || !tf.util.arraysEqual(v.shape, k.shape)) return null;
  return selfAttention([q, k, v], rope, mask, heads, kvHeads, headDim);
}

/**
 * {@link fusedSelfAttention} from the projections packed in one tensor `[B, T, (H + 2·Hkv)·d]`
 * (q | k | v along the last axis, as GPT-2's c_attn gives them): the same as tf.split into q, k and
 * v first (the kernels read and write the column ranges in place), or null.
 */
export function fusedPackedSelfAttention(qkv: tf.Tensor, rope: { cos: tf.Tensor; sin: tf.Tensor } | null, mask: tf.Tensor, heads: number, kvHeads: number, headDim: number): tf.Tensor | null {
  if (qkv.rank !== 3 || !isF32(qkv) || qkv.shape[2] !== (heads + 2 * kvHeads) * headDim) return null;
  return selfAttention([qkv], rope, mask, heads, kvHeads, headDim);
}

function selfAttention(inputs: tf.Tensor[], rope: { cos: tf.Tensor; sin: tf.Tensor } | null, mask: tf.Tensor, heads: number, kvHeads: number, headDim: number): tf.Tensor | null {
  const first = inputs[0];
  if (!has(FUSED_KERNELS.attention) || !isF32(mask) || first.size === 0 || heads % kvHeads !== 0) return null;
  const [B, T] = first.shape;
  if (mask.rank !== 4 || mask.shape[1] !== 1 || mask.shape[2] !== T || mask.shape[3] !== T || !(mask.shape[0] === 1 || mask.shape[0] === B)) return null;
  if (rope) {
    const r = rope.cos.shape[3] as number;
    const ok = rope.cos.rank === 4 && rope.cos.shape[1] === 1 && rope.cos.shape[2] === T && r <= headDim && r % 2 === 0 && (rope.cos.shape[0] === 1 || rope.cos.shape[0] === B);
    if (!ok || !tf.util.arraysEqual(rope.cos.shape, rope.sin.shape) || !isF32(rope.cos, rope.sin)) return null;
  }
  const packed = inputs.length === 1;
  const attrs = { heads, kvHeads, scale: Math.fround(1 / Math.sqrt(headDim)), packed };
  const tables: tf.NamedTensorMap = rope ? { cos: rope.cos, sin: rope.sin } : {};
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xs = args.slice(0, -1) as tf.Tensor[];
    const projections: tf.NamedTensorMap = packed ? { qkv: xs[0] } : { q: xs[0], k: xs[1], v: xs[2] };
    const [merged, qh, kh, vh, probs] = run(FUSED_KERNELS.attention, { ...projections, mask, ...tables }, attrs) as tf.Tensor[];
    save([qh, kh, vh, probs, ...(rope ? [rope.cos, rope.sin] : [])]);
    return {
      value: merged,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp, cos, sin] = saved;
        const grads = run(FUSED_KERNELS.attentionGrad, { dy, qh: sq, kh: sk, vh: sv, probs: sp, ...(rope ? { cos, sin } : {}) }, attrs) as tf.Tensor[];
        return packed ? grads[0] : grads;
      },
    };
  }) as (...xs: tf.Tensor[]) => tf.Tensor;
  return op(...inputs);
}
