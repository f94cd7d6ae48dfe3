import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { specOf } from '../../src/model/architectures/registry.js';
import { parseModelConfig } from '../../src/model/config.js';

const BYTES = { F32: 4, F16: 2, BF16: 2 } as const;

/**
 * Writes `model.safetensors` for `configJson` with a real header (every parameter the
 * architecture implies, at its shape) and a sparse, all-zero data section: a checkpoint of any
 * size (Phi-2, 2 TB) that the plan can read headers from and that costs no disk. Returns its
 * size in bytes.
 */
export function writeHeaderOnlyWeights(dir: string, configJson: Record<string, unknown>, dtype: keyof typeof BYTES = 'F32'): number {
  const config = parseModelConfig(configJson, join(dir, 'config.json'));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const p of specOf(config).parameters(config)) {
    const n = p.shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    header[p.name] = { dtype, shape: p.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    writeSync(fd, Buffer.concat([len, Buffer.from(json)]));
    ftruncateSync(fd, 8 + json.length + offset);
  } finally {
    closeSync(fd);
  }
  return 8 + json.length + offset;
}
