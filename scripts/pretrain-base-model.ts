// Rebuilds the bundled base model (models/tiny-llama) from nothing but a seed:
//   npx tsx scripts/pretrain-base-model.ts --out models/tiny-llama --seed 0
// Options (defaults are the shipped model's): --steps --minutes (safety cap) --documents
// --eval-documents --vocab --layers --hidden --heads --kv-heads --intermediate --max-positions
// --batch --seq --lr --warmup --backend --threads --dtype. See src/pretraining/pretrain-base-model.ts.
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    out: { type: 'string', default: 'models/tiny-llama' },
    seed: { type: 'string', default: '0' },
    steps: { type: 'string', default: '1000' },
    minutes: { type: 'string', default: '30' },
    documents: { type: 'string', default: '60000' },
    'eval-documents': { type: 'string', default: '500' },
    vocab: { type: 'string', default: '768' },
    layers: { type: 'string', default: '4' },
    hidden: { type: 'string', default: '128' },
    heads: { type: 'string', default: '4' },
    'kv-heads': { type: 'string', default: '2' },
    intermediate: { type: 'string', default: '384' },
    'max-positions': { type: 'string', default: '256' },
    batch: { type: 'string', default: '16' },
    seq: { type: 'string', default: '96' },
    lr: { type: 'string', default: '3e-3' },
    warmup: { type: 'string', default: '40' },
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string' },
    dtype: { type: 'string', default: 'F32' },
  },
});
const n = (k: keyof typeof a): number => Number(a[k]);
const { pretrainBaseModel } = await import('../src/pretraining/pretrain-base-model.js');
await pretrainBaseModel(
  {
    out: a.out!,
    seed: n('seed'),
    steps: n('steps'),
    minutes: n('minutes'),
    documents: n('documents'),
    evalDocuments: n('eval-documents'),
    vocab: n('vocab'),
    layers: n('layers'),
    hidden: n('hidden'),
    heads: n('heads'),
    kvHeads: n('kv-heads'),
    intermediate: n('intermediate'),
    maxPositions: n('max-positions'),
    batch: n('batch'),
    seq: n('seq'),
    lr: n('lr'),
    warmup: n('warmup'),
    backend: a.backend as 'wasm' | 'cpu' | 'auto' | 'tensorflow',
    threads: a.threads === undefined ? undefined : Number(a.threads),
    dtype: a.dtype as 'F32' | 'F16' | 'BF16',
    command: `npx tsx scripts/pretrain-base-model.ts ${process.argv.slice(2).join(' ')}`.trim(),
  },
  (msg) => process.stderr.write(`[pretrain ${new Date().toISOString().slice(11, 19)}] ${msg}\n`),
);
