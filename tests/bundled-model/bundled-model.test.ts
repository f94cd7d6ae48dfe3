/**
 * The model that ships in models/tiny-llama (built by scripts/pretrain-base-model.ts): it loads
 * as a standard HF folder, its tokenizer round-trips text, it generates, and a short LoRA run
 * on a built-in task (held out of pretraining) lowers that task's eval loss.
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { runConfigSchema } from '../../src/config/run-config.js';
import { generateCorpus } from '../../src/data/corpus/index.js';
import { prepareDataset } from '../../src/data/prepare.js';
import { readPreparedDataset } from '../../src/data/read-prepared.js';
import { initEngine } from '../../src/engine/backend.js';
import { evaluateLoss } from '../../src/evaluation/evaluate-loss.js';
import { generate } from '../../src/evaluation/generate.js';
import { runSingle } from '../../src/experiments/run-single.js';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import { silentLogger } from '../../src/util/logger.js';

const MODEL_DIR = join(import.meta.dirname, '..', '..', 'models', 'tiny-llama');
const root = mkdtempSync(join(tmpdir(), 'bundled-model-'));
let loaded: LoadedModel;

beforeAll(async () => {
  // wasm: what users run the bundled model on, and several times faster than cpu here.
  await initEngine({ backend: 'wasm' });
  loaded = await loadModel(MODEL_DIR);
});

describe('models/tiny-llama', () => {
  test('is a complete Hugging Face Llama folder of at most 20 MB, with a model card', () => {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'README.md']) {
      expect(existsSync(join(MODEL_DIR, f)), f).toBe(true);
    }
    expect(statSync(join(MODEL_DIR, 'model.safetensors')).size).toBeLessThanOrEqual(20 * 1024 * 1024);
    const cfg = JSON.parse(readFileSync(join(MODEL_DIR, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model_type: 'llama', architectures: ['LlamaForCausalLM'], tie_word_embeddings: true });
    expect(cfg.vocab_size).toBe(loaded.tokenizer.vocabSize);
    const card = readFileSync(join(MODEL_DIR, 'README.md'), 'utf8');
    expect(card).toContain('npx tsx scripts/pretrain-base-model.ts');
    expect(card).toMatch(/eval, after training \| \d+\.\d+/);
  });

  test('its tokenizer round-trips text and knows the special tokens', () => {
    const tok = loaded.tokenizer;
    for (const text of ['What is 1234 + 987?\n', 'Reverse: zebra', "Mia's kite is red. Ünïcode ✓", '<|im_start|>user\nhi<|im_end|>\n']) {
      expect(tok.decode(tok.encode(text), { skipSpecialTokens: false })).toBe(text);
    }
    expect(tok.eosToken).toBe('<|endoftext|>');
    expect(tok.eosTokenId).toBe(loaded.model.config.eosTokenId);
    expect(tok.tokenToId('<|im_start|>')).not.toBeNull();
    expect(tok.chatTemplate).toContain('<|im_start|>');
  });

  test('generates, and predicts held-out corpus text far better than chance (it is pretrained)', async () => {
    const tok = loaded.tokenizer;
    const eos = tok.eosTokenId!;
    const prompts = ['Count from 3 to 7.\n', 'Write 42 in words.\n'].map((p) => tok.encode(p));
    const { tokens } = await generate(loaded.model, prompts, { maxNewTokens: 8, eosTokenId: eos, padTokenId: eos });
    expect(tokens.every((t) => t.length > 0 && tok.decode(t).trim().length > 0)).toBe(true);
    // Documents of a seed the pretraining never used; chance level is ln(vocab) ≈ 6.6 nats.
    const rows = generateCorpus({ seed: 4242, documents: 64 }).map((d) => {
      const ids = [...tok.encode(d.text), eos];
      return { input_ids: ids, labels: ids };
    });
    const { meanLoss } = await evaluateLoss(loaded.model, rows, { batchSize: 32, maxSeqLen: 96, padId: eos });
    expect(meanLoss).toBeLessThan(1.5);
  });

  test('a 20-step LoRA run on a held-out built-in task lowers its eval loss', async () => {
    const data = join(root, 'data');
    await prepareDataset({ source: 'builtin:kv-lookup', name: 'kv', outDir: data, modelDir: MODEL_DIR, template: 'plain', numSamples: 232, evalSamples: 32, maxSeqLen: 96 });
    const evalRows = readPreparedDataset(join(data, 'kv')).eval;
    const before = (await evaluateLoss(loaded.model, evalRows, { batchSize: 32, maxSeqLen: 96, padId: loaded.tokenizer.eosTokenId! })).meanLoss;
    const engine = await initEngine({ backend: 'wasm' });
    const config = runConfigSchema.parse({
      name: 'bundled-lora', model: MODEL_DIR, dataset: join(data, 'kv'), seed: 0,
      lora: { r: 8, lora_alpha: 16, target_modules: 'all-linear' },
      training: { max_steps: 20, batch_size: 8, learning_rate: 3e-3, max_seq_len: 96, warmup_steps: 3 },
      eval: { max_samples: 32, batch_size: 32, generate: false },
    });
    const out = await runSingle({ config, runtime: { backend: 'wasm', outputDir: join(root, 'run') }, engine, logger: silentLogger });
    expect(out.error).toBeUndefined();
    expect(out.summary!.eval_loss).toBeLessThan(before - 0.2);
  });
});
