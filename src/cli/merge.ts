import type { Command } from 'commander';
import { initEngine } from '../engine/backend.js';
import type { BackendRequest } from '../engine/types.js';
import { mergeAndExport } from '../lora/merge-export.js';
import type { StoredDtype } from '../model/types.js';
import { createLogger } from '../util/logger.js';
import { printJson, runCommand } from './run-command.js';

export function register(program: Command): void {
  program
    .command('merge')
    .description('fold a PEFT LoRA adapter into its base model and export a Hugging Face model folder')
    .requiredOption('--model <dir>', 'base model folder')
    .requiredOption('--adapter <dir>', 'adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('-o, --out <dir>', 'output model folder (replaced atomically)')
    .option('--dtype <dtype>', 'stored dtype: F32|F16|BF16 (default: F32)', 'F32')
    .option('--backend <name>', 'auto|tensorflow|webgpu|wasm|cpu (default: auto)', 'auto')
    .option('--json', 'print one JSON document')
    .action(async (opts: { model: string; adapter: string; out: string; dtype: StoredDtype; backend: BackendRequest; json?: boolean }) => {
      await runCommand('merge', opts, async () => {
        const logger = createLogger();
        await initEngine({ backend: opts.backend, logger });
        const res = await mergeAndExport({ modelDir: opts.model, adapterDir: opts.adapter, outDir: opts.out, dtype: opts.dtype, logger });
        if (opts.json) printJson(res);
        else process.stdout.write(`merged ${res.modules} adapted modules into ${res.outDir} (${res.tensors} tensors)\n`);
      });
    });
}
