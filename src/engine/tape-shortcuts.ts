/**
 * Engine bookkeeping a training step does not need, skipped without changing a value.
 *
 * A tfjs-core 4.22 gradient tape saves every tensor a gradient function will read by
 * `Engine.clone`: one Identity kernel through the full kernel path (profiling hooks, leak checks,
 * closures) plus a tape node of its own, so that a second-order gradient can see the saved copy.
 * Every Reshape (layers flatten to 2-D and back; its gradient reshapes back; the optimizer
 * flattens) goes through the same path for what is only a new shape on the same buffer, and the
 * gradient functions of Add, Sub (reshape to the shape the gradient already has) and Multiply,
 * Square, RealDiv (cast float32 to float32) issue kernels whose output is their input. A
 * tiny-llama step ran 248 such clones, ~150 Reshapes and ~40 same-dtype Casts out of 785 kernels.
 *
 * On a backend whose Identity, Reshape and same-dtype Cast kernels already hand back the input's
 * own buffer with one more reference (cpu; wasm with src/engine/wasm-identity.ts; probed at
 * install), this does the same without the kernel path: a new tensor on the same buffer, counted
 * by the engine (tf.memory) and the backend (reference count) exactly as the kernel's output is,
 * so values, disposal and memory figures are unchanged:
 * - a saved-tensor clone skips its tape node only at gradient depth 1: its output is then handed
 *   to gradient functions alone, which run with the tape off, so the node never lies on a path
 *   from the variables to the loss and the backward pass skips it anyway. Nested gradients
 *   (depth > 1) keep the stock clone, whose node a second-order gradient needs;
 * - an Identity, Reshape or same-dtype Cast called while the tape records still records: the same
 *   saved tensors and tape node as the kernel path (engine.saveTensorsForBackwardMode,
 *   getTensorsForGradient, addTapeNode), only the kernel call and its wrapping are skipped;
 * - never while tf.profile runs or DEBUG is set (their kernel lists stay as they were), and an
 *   invalid Reshape goes to the stock kernel for its error.
 * Anything else (other backends, string/complex tensors, an untracked tensor) takes the stock path.
 *
 * Two more cuts of engine bookkeeping go in with the patch (each the stock engine's steps in the
 * stock order; a tiny-llama step together ~0.2-0.3 ms, about 4%, less main-thread time):
 * - every other registered kernel, while nothing watches kernels (no tf.profile, DEBUG or
 *   IS_TEST) on those backends, takes {@link runRegisteredKernel}: the engine's kernel path
 *   without its wrapping;
 * - gradients go through {@link leanGradients} (leaner tape filter and backprop bookkeeping,
 *   the same kernels in the same order).
 *
 * The patch goes on the engine instance and is refused unless the engine's methods look like
 * the 4.22 code this was written against (see {@link engineMismatch}).
 */
import * as tf from '@tensorflow/tfjs-core';
import { leanGradients, type Gradients, type GradientsEngine } from './lean-gradients.js';
import { runRegisteredKernel, type KernelCallEngine } from './lean-run-kernel.js';

/** The tfjs-core release whose engine internals this relies on. */
export const TAPE_SHORTCUTS_TFJS_VERSION = '4.22.0';

interface TensorLike {
  dataId: tf.DataId;
  shape: number[];
  dtype: tf.DataType;
}

interface SharingBackend {
  incRef(dataId: tf.DataId): void;
  refCount?(dataId: tf.DataId): number;
}

interface EngineState {
  gradientDepth: number;
  kernelDepth: number;
  profiling: boolean;
  tensorInfo: { get(dataId: tf.DataId): { backend: unknown } | undefined };
}

type RunKernel = (name: string, inputs: Record<string, TensorLike>, attrs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
type Clone = (x: TensorLike) => tf.Tensor;

interface EngineInternals extends Omit<GradientsEngine, 'state' | 'runKernel'>, Omit<KernelCallEngine, 'state' | 'backend'> {
  state: EngineState;
  backend: SharingBackend;
  ENV: { getBool(flag: string): boolean };
  clone: Clone;
  runKernel: RunKernel;
  gradients: Gradients;
}

export interface TapeShortcutsStatus {
  /** Whether the engine patch is in. */
  installed: boolean;
  /** Backends the shortcuts apply to (their kernels were checked to share buffers). */
  backends: string[];
  /** Why the patch is not in, or why a backend was left on the stock path. */
  refused?: string;
}

/** Only these backends are candidates; each must also pass {@link kernelsShare}. */
const CANDIDATE_BACKENDS = new Set(['cpu', 'wasm']);
/** Dtypes whose buffers the candidate backends share by reference counting alone. */
const ALIASABLE = new Set<string>(['float32', 'int32', 'bool']);

const enabled = new Set<string>();
let stock: { clone: Clone; runKernel: RunKernel; gradients: Gradients } | null = null;
let lean: Gradients | null = null;
/** Parts of the patch that can be switched off one by one (A/B measurements, tests); all on by default. */
export interface TapeShortcutParts {
  /** Registered kernels through {@link runRegisteredKernel}. */
  leanKernels: boolean;
  /** Engine.gradients through {@link leanGradients}. */
  leanGradients: boolean;
}
const parts: TapeShortcutParts = { leanKernels: true, leanGradients: true };

/** Switches parts of the installed patch on or off (A/B measurements, tests); returns the previous setting. */
export function setTapeShortcutParts(next: Partial<TapeShortcutParts>): TapeShortcutParts {
  const prev = { ...parts };
  Object.assign(parts, next);
  const e = engine();
  if (stock && lean) e.gradients = parts.leanGradients ? lean : stock.gradients;
  return prev;
}

let refused: string | undefined;

function engine(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

/** Why the running engine is not the one this was written against; null when it is. */
export function engineMismatch(e: EngineInternals = engine(), version: string = tf.version_core): string | null {
  if (version !== TAPE_SHORTCUTS_TFJS_VERSION) return `tfjs-core ${version} (the shortcuts are written for ${TAPE_SHORTCUTS_TFJS_VERSION})`;
  const s = e.state as Partial<EngineState> | undefined;
  if (!s || typeof s.gradientDepth !== 'number' || typeof s.kernelDepth !== 'number' || typeof s.profiling !== 'boolean' || typeof s.tensorInfo?.get !== 'function') {
    return 'the engine state lacks gradientDepth/kernelDepth/profiling/tensorInfo';
  }
  for (const m of ['clone', 'runKernel', 'gradients', 'makeTensorFromTensorInfo', 'addTapeNode', 'saveTensorsForBackwardMode', 'getTensorsForGradient', 'startTape', 'endTape', 'tidy', 'scopedRun'] as const) {
    if (typeof e[m] !== 'function') return `the engine has no ${m}()`;
  }
  if (typeof e.ENV?.getBool !== 'function') return 'the engine has no ENV.getBool()';
  const src = (f: unknown) => String(f);
  // The stock clone (the one this module replaced, once installed): one Identity kernel and one tape node.
  const stockClone = e.clone === clone && stock ? stock.clone : e.clone;
  if (!/runKernel\(Identity\b/.test(src(stockClone)) || !/addTapeNode\(/.test(src(stockClone))) return 'Engine.clone is not the Identity-kernel-plus-tape-node clone of 4.22';
  if (!/\.clone\(/.test(src(e.saveTensorsForBackwardMode))) return 'Engine.saveTensorsForBackwardMode does not save through clone()';
  const stockGradients = e.gradients === lean && stock ? stock.gradients : e.gradients;
  if (!/getFilteredNodesXToY\(/.test(src(stockGradients)) || !/backpropagateGradients\(/.test(src(stockGradients))) return 'Engine.gradients is not the filter-and-backpropagate method of 4.22';
  return null;
}

/**
 * Whether `backendName`'s Identity, Reshape and same-dtype Cast kernels return the input's own
 * buffer with its reference count raised by one (probed on a float32 tensor).
 */
function kernelsShare(e: EngineInternals, backendName: string): boolean {
  if (!CANDIDATE_BACKENDS.has(backendName) || e.backendName !== backendName || typeof e.backend.incRef !== 'function' || typeof e.backend.refCount !== 'function') return false;
  const backend = e.backend as Required<SharingBackend>;
  return tf.tidy(() => {
    const x = tf.tensor1d([1, 2], 'float32');
    const probes = [
      () => stock!.runKernel.call(e, 'Identity', { x }, {}),
      () => stock!.runKernel.call(e, 'Reshape', { x }, { shape: [2] }),
      () => stock!.runKernel.call(e, 'Reshape', { x }, { shape: [1, -1] }),
      () => stock!.runKernel.call(e, 'Cast', { x }, { dtype: 'float32' }),
    ];
    return probes.every((probe) => {
      const before = backend.refCount(x.dataId);
      const y = probe() as tf.Tensor;
      return y.dataId === x.dataId && backend.refCount(x.dataId) === before + 1;
    });
  });
}

function aliasable(e: EngineInternals, x: TensorLike | undefined): x is TensorLike {
  // Data held by another backend goes the stock way (the kernel path moves it first).
  return x != null && ALIASABLE.has(x.dtype) && e.state.tensorInfo.get(x.dataId)?.backend === e.backend;
}

/** What the sharing kernels return, through the engine's own accounting: a new tensor on x's buffer (in `shape`). */
function alias(e: EngineInternals, x: TensorLike, shape: number[] = x.shape): tf.Tensor {
  e.backend.incRef(x.dataId);
  return e.makeTensorFromTensorInfo({ dataId: x.dataId, shape, dtype: x.dtype });
}

function quiet(e: EngineInternals): boolean {
  return !e.state.profiling && enabled.has(e.backendName) && !e.ENV.getBool('DEBUG');
}

function clone(this: EngineInternals, x: TensorLike): tf.Tensor {
  if (this.state.gradientDepth === 1 && quiet(this) && aliasable(this, x)) return alias(this, x);
  return stock!.clone.call(this, x);
}

/**
 * The shape a Reshape of `size` elements to `shape` gives (one -1 inferred), or null where the
 * stock kernel would throw (the stock path then throws its own error).
 */
function reshapeTarget(shape: unknown, size: number): number[] | null {
  if (!Array.isArray(shape)) return null;
  let known = 1;
  let implicit = -1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (d === -1 && implicit === -1) implicit = i;
    else if (Number.isInteger(d) && d >= 0) known *= d;
    else return null;
  }
  if (implicit === -1) return known === size ? shape : null;
  if (known === 0 || size % known !== 0) return null;
  const out = shape.slice();
  out[implicit] = size / known;
  return out;
}

/** The output shape of an Identity, a Cast to x's own dtype or a valid Reshape: kernels that hand back x's buffer; else null. */
function sharedOutputShape(name: string, x: TensorLike, attrs: Record<string, unknown>): number[] | null {
  if (name === 'Reshape') {
    let size = 1;
    for (const d of x.shape) size *= d;
    return reshapeTarget(attrs.shape, size);
  }
  if (name === 'Cast') return attrs.dtype === x.dtype ? x.shape : null;
  return x.shape;
}

function runKernel(this: EngineInternals, name: string, inputs: Record<string, TensorLike>, attrs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
  if (name === 'Reshape' || name === 'Cast' || name === 'Identity') {
    const x = inputs.x;
    const shape = quiet(this) && aliasable(this, x) ? sharedOutputShape(name, x, attrs) : null;
    if (shape) {
      const s = this.state;
      const y = alias(this, x, shape);
      if (s.gradientDepth > 0 && s.kernelDepth === 0) {
        // On the tape: saved tensors and the tape node exactly as the engine's kernel path records them.
        let saved: tf.Tensor[];
        s.kernelDepth++;
        try {
          saved = this.saveTensorsForBackwardMode(this.getTensorsForGradient(name, inputs, [y]));
        } finally {
          s.kernelDepth--;
        }
        this.addTapeNode(name, inputs, [y], null, saved, attrs);
      }
      return y;
    }
  }
  if (parts.leanKernels && quiet(this) && !this.ENV.getBool('IS_TEST')) {
    const out = runRegisteredKernel(this, name, inputs, attrs);
    if (out !== null) return out;
  }
  return stock!.runKernel.call(this, name, inputs, attrs);
}

/**
 * Puts the shortcuts on the engine (once) and enables them for `backendName`, which must be the
 * active backend, when its kernels share buffers. Never throws: a mismatch leaves stock behaviour
 * and says why in the status.
 */
export function installTapeShortcuts(backendName: string): TapeShortcutsStatus {
  const e = engine();
  if (!stock) {
    const why = engineMismatch(e);
    if (why) {
      refused = why;
      return tapeShortcutsStatus();
    }
    stock = { clone: e.clone, runKernel: e.runKernel, gradients: e.gradients };
    lean = leanGradients(stock.gradients);
    e.clone = clone;
    e.runKernel = runKernel;
    if (parts.leanGradients) e.gradients = lean;
  }
  if (!enabled.has(backendName)) {
    if (kernelsShare(e, backendName)) enabled.add(backendName);
    else refused = `${backendName}: its Identity/Reshape/Cast kernels do not share buffers (stock path kept)`;
  }
  return tapeShortcutsStatus();
}

/** Takes the shortcuts off the engine again (tests, A/B measurements). */
export function uninstallTapeShortcuts(): void {
  if (!stock) return;
  const e = engine();
  // Own properties set by install: deleting them uncovers the engine class's methods.
  if (e.clone === clone) delete (e as Partial<EngineInternals>).clone;
  if (e.runKernel === runKernel) delete (e as Partial<EngineInternals>).runKernel;
  if (e.gradients === lean) delete (e as Partial<EngineInternals>).gradients;
  if (e.clone !== stock.clone) e.clone = stock.clone;
  if (e.runKernel !== stock.runKernel) e.runKernel = stock.runKernel;
  if (e.gradients !== stock.gradients) e.gradients = stock.gradients;
  stock = null;
  lean = null;
  enabled.clear();
  refused = undefined;
}

export function tapeShortcutsStatus(): TapeShortcutsStatus {
  return { installed: stock !== null, backends: [...enabled], ...(refused ? { refused } : {}) };
}
