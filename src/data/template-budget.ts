import { Environment, Interpreter, type Template } from '@huggingface/jinja';

/**
 * Limits on one chat-template render. A tokenizer's `chat_template` is code from whoever made
 * the checkpoint: `range(1e8)` would exhaust the heap and nested loops would hang. Real chat
 * templates use a few thousand evaluation steps and produce a few kB per conversation.
 */
export interface RenderBudget {
  /** Evaluation steps (one per template node evaluated). */
  maxSteps: number;
  /** Wall time, in ms. */
  maxMs: number;
  /** Characters of any value the template builds, and of the output. */
  maxOutputChars: number;
  /** Items one `range()` call may produce. */
  maxRange: number;
}

export const DEFAULT_RENDER_BUDGET: RenderBudget = { maxSteps: 200_000, maxMs: 2_000, maxOutputChars: 1_000_000, maxRange: 100_000 };

/** A render stopped because it went over its budget; the message says which limit. */
export class RenderBudgetError extends Error {}

interface Active {
  steps: number;
  deadline: number;
  budget: RenderBudget;
}

let active: Active | null = null;

function tick(a: Active): void {
  if (++a.steps > a.budget.maxSteps) throw new RenderBudgetError(`more than ${a.budget.maxSteps} evaluation steps (a loop that runs too long)`);
  if ((a.steps & 1023) === 0 && performance.now() > a.deadline) throw new RenderBudgetError(`ran longer than ${a.budget.maxMs} ms`);
}

function checkSize(a: Active, v: { value?: unknown } | undefined): void {
  const value = v?.value;
  const size = typeof value === 'string' || Array.isArray(value) ? value.length : 0;
  if (size > a.budget.maxOutputChars) throw new RenderBudgetError(`built a value of ${size} ${typeof value === 'string' ? 'characters' : 'items'} (limit ${a.budget.maxOutputChars})`);
}

// @huggingface/jinja evaluates every node through Interpreter.prototype.evaluate, and every loop
// iteration's body through evaluateBlock (even an empty one), synchronously. Counting there (only
// while a budgeted render is active) bounds steps, time and value sizes without a worker thread
// per row.
type Evaluate = (this: unknown, node: unknown, environment: unknown) => { value?: unknown };
const proto = Interpreter.prototype as unknown as { evaluate: Evaluate; evaluateBlock: Evaluate };
/** Set when this @huggingface/jinja lacks what the budget hooks into: rendering then refuses to run. */
let unenforceable: string | null = null;
for (const method of ['evaluate', 'evaluateBlock'] as const) {
  const original = proto[method];
  if (typeof original !== 'function') {
    unenforceable = `@huggingface/jinja has no Interpreter.${method} (a version this lora-study was not built for)`;
    continue;
  }
  proto[method] = function budgeted(node, environment) {
    const a = active;
    if (a) tick(a);
    const v = original.call(this, node, environment);
    if (a) checkSize(a, v);
    return v;
  };
}

// The library's globals (range, …) are declared through Environment.prototype.set when a render
// starts; while a budgeted render is active, `range` is declared as a bounded one instead.
type SetFn = (this: unknown, name: string, value: unknown) => unknown;
const envProto = Environment.prototype as unknown as { set: SetFn };
const set = envProto.set;
envProto.set = function budgetedSet(name, value) {
  const a = active;
  return set.call(this, name, a && name === 'range' && typeof value === 'function' ? boundedRange(a.budget.maxRange) : value);
};

function boundedRange(maxItems: number) {
  return (start: number, stop?: number, step = 1): number[] => {
    const [from, to] = stop === undefined ? [0, start] : [start, stop];
    if (step === 0) throw new Error('range() step must not be zero');
    const n = Math.max(0, Math.ceil((to - from) / step));
    if (!Number.isFinite(n) || n > maxItems) throw new RenderBudgetError(`range() of ${n} items (limit ${maxItems})`);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(from + i * step);
    return out;
  };
}

/** Renders `template` with `items`, throwing RenderBudgetError when it goes over `budget`. */
export function renderWithBudget(template: Template, items: Record<string, unknown>, budget: RenderBudget = DEFAULT_RENDER_BUDGET): string {
  if (unenforceable) throw new RenderBudgetError(`the render budget cannot be enforced: ${unenforceable}; reinstall with npm ci`);
  const previous = active;
  active = { steps: 0, deadline: performance.now() + budget.maxMs, budget };
  try {
    const out = template.render(items);
    if (out.length > budget.maxOutputChars) throw new RenderBudgetError(`produced ${out.length} characters (limit ${budget.maxOutputChars})`);
    return out;
  } catch (err) {
    // A string or array too large for V8 itself ("Invalid string length", "Invalid array length").
    if (err instanceof RangeError) throw new RenderBudgetError(`built a value too large for memory (${err.message})`);
    throw err;
  } finally {
    active = previous;
  }
}
