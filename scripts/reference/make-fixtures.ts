/**
 * Regenerates the numerical reference fixtures under tests/fixtures/reference/:
 *
 *     npx tsx scripts/reference/make-fixtures.ts [NAME ...]   (from the repository root; default: all)
 *
 * needs python3 with torch and numpy (Debian: apt-get install -y python3-torch python3-numpy;
 * set PYTHON=/path/to/python to choose the interpreter). For each fixture it writes a tiny
 * random-weight model folder in Hugging Face layout (tests/helpers/tiny-models.ts) and stores,
 * in expected.json, the logits that scripts/reference/hf_reference.py (an independent PyTorch
 * transcription of transformers' eager forward) computes for a few inputs. Tests then compare
 * the tfjs architectures against expected.json without needing Python.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTinyModel, type TinyModelOptions } from '../../tests/helpers/tiny-models.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = join(ROOT, 'tests/fixtures/reference');
const SCRIPT = join(ROOT, 'scripts/reference/hf_reference.py');

/** Small enough that each folder stays near 200 KB; dtypes vary so every reader path is covered. */
const FIXTURES: Array<{ name: string; description: string; model: TinyModelOptions }> = [
  {
    name: 'llama-gqa-untied',
    description: 'LlamaForCausalLM, 4 query heads sharing 2 key/value heads, separate lm_head, BF16 weights',
    model: { modelType: 'llama', seed: 11, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 64, dtype: 'BF16' },
  },
  {
    name: 'qwen2-bias-tied',
    description: 'Qwen2ForCausalLM, q/k/v biases, GQA 4/2, lm_head tied to the embeddings, F32 weights',
    model: { modelType: 'qwen2', seed: 12, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 64, tie: true, dtype: 'F32' },
  },
  {
    name: 'gpt2',
    description: 'GPT2LMHeadModel, learned positions, Conv1D weights [in, out], tied head, F16 weights',
    model: { modelType: 'gpt2', seed: 13, hiddenSize: 32, numLayers: 2, numHeads: 4, dtype: 'F16' },
  },
  {
    name: 'gpt2-untied',
    description: 'GPT2LMHeadModel with tie_word_embeddings false and its own lm_head.weight (issue 10 item 1), F32 weights',
    model: { modelType: 'gpt2', seed: 14, hiddenSize: 32, numLayers: 2, numHeads: 4, tie: false, dtype: 'F32' },
  },
  {
    name: 'phi',
    description: 'PhiForCausalLM as Phi-2: parallel attention + MLP, biases, partial rotary 0.5, lm_head with bias, F16 weights',
    model: { modelType: 'phi', seed: 15, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 4, intermediateSize: 64, dtype: 'F16' },
  },
  {
    name: 'phi-qk-layernorm-gqa',
    description: 'PhiForCausalLM with qk_layernorm, 4 query heads sharing 2 key/value heads, F32 weights',
    model: { modelType: 'phi', seed: 16, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 64, qkLayernorm: true, dtype: 'F32' },
  },
  {
    name: 'phi3',
    description: 'Phi3ForCausalLM: fused qkv_proj (GQA 4/2) and gate_up_proj, RMSNorm, untied head, BF16 weights',
    model: { modelType: 'phi3', seed: 17, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 64, dtype: 'BF16' },
  },
  {
    name: 'gemma',
    description: 'GemmaForCausalLM: RMSNorm x·(1+w), embeddings × √hidden, head_dim 16 ≠ hidden/heads, GeGLU tanh, tied head, F32 weights',
    model: { modelType: 'gemma', seed: 18, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 64, headDim: 16, dtype: 'F32' },
  },
];

const EOS = 264; // <|endoftext|> in the tiny tokenizer, also its pad token
const ROW_A = [EOS, 84, 257, 99, 97, 116];
/**
 * `plain`: no mask. `right_pad`: HF's positions 0..T-1, as a plain forward uses. `left_pad`:
 * positions from the mask's cumulative sum, as generate() computes them.
 */
const CASES = [
  { name: 'plain', inputIds: [ROW_A, [72, 101, 108, 108, 111, 33]], mask: null, positions: 'arange' },
  { name: 'right_pad', inputIds: [ROW_A, [72, 101, 108, EOS, EOS, EOS]], mask: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], positions: 'arange' },
  { name: 'left_pad', inputIds: [ROW_A, [EOS, EOS, 72, 101, 108, 108]], mask: [[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]], positions: 'cumsum' },
] as const;

function findPython(): string {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));
  for (const py of candidates) {
    try {
      execFileSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
      return py;
    } catch {
      // try the next one
    }
  }
  throw new Error(`no python with torch and numpy among ${candidates.join(', ')}; apt-get install -y python3-torch python3-numpy`);
}

const sig6 = (x: number): number => Number(x.toPrecision(6));

interface Reference {
  torch_version: string;
  position_ids: number[][];
  logits: number[][][];
}

const python = findPython();
const only = process.argv.slice(2);
for (const fx of FIXTURES.filter((f) => only.length === 0 || only.includes(f.name))) {
  const dir = join(OUT, fx.name);
  await writeTinyModel(dir, fx.model);
  const cases = CASES.map((c) => {
    const args = [SCRIPT, dir, '--input-ids', JSON.stringify(c.inputIds), '--positions', c.positions];
    if (c.mask) args.push('--attention-mask', JSON.stringify(c.mask));
    const ref = JSON.parse(execFileSync(python, args, { encoding: 'utf8', maxBuffer: 64 << 20 })) as Reference;
    // Rows at padding positions are null: HF's values there are an artefact of its masking
    // (a fully masked row), not something an implementation has to reproduce.
    const logits = ref.logits.map((row, b) => row.map((v, t) => (c.mask && c.mask[b][t] === 0 ? null : v.map(sig6))));
    return { name: c.name, input_ids: c.inputIds, attention_mask: c.mask, position_ids: ref.position_ids, logits, torch: ref.torch_version };
  });
  const expected = {
    fixture: fx.name,
    description: fx.description,
    generated_by: 'scripts/reference/make-fixtures.ts via scripts/reference/hf_reference.py',
    torch_version: cases[0].torch,
    note: 'logits [batch][position][vocab] in float32 rounded to 6 significant digits; null rows are padding positions',
    cases: cases.map(({ torch: _torch, ...rest }) => rest),
  };
  writeFileSync(join(dir, 'expected.json'), `${JSON.stringify(expected)}\n`);
  process.stderr.write(`wrote ${dir}\n`);
}
