import type { Command } from 'commander';
import { initEngine } from '../engine/backend.js';
import type { BackendRequest } from '../engine/types.js';
import { checkMergeParams, mergeAndExport } from '../lora/merge-export.js';
import { STORED_DTYPES } from '../model/types.js';
import { createLogger } from '../util/logger.js';
import { printJson, runCommand } from './run-command.js';

export function register(program: Command): void {
  program
    .command('merge')
    .description('fold a PEFT LoRA adapter into its base model and export a Hugging Face model folder')
    .requiredOption('--model <dir|id>', 'base model folder or Hub id org/name[@revision]')
    .requiredOption('--adapter <dir>', 'adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('-o, --out <dir>', 'output model folder (written atomically; an existing one is replaced only if merge wrote it)')
    .option('--dtype <dtype>', `stored dtype: ${STORED_DTYPES.join('|')} (default: F32)`, 'F32')
    .option('--overwrite', 'replace -o even when it exists and is not a merged model (its contents are deleted)')
    .option('--backend <name>', 'auto|tensorflow|webgpu|wasm|cpu (default: auto)', 'auto')
    .option('--json', 'print one JSON document')
    .action(async (opts: { model: string; adapter: string; out: string; dtype: string; overwrite?: boolean; backend: BackendRequest; json?: boolean }) => {
      await runCommand('merge', opts, async () => {
        const logger = createLogger();
        const params = { modelDir: opts.model, adapterDir: opts.adapter, outDir: opts.out, dtype: opts.dtype, overwrite: opts.overwrite, logger };
        checkMergeParams(params); // refuse bad input before starting the engine
        await initEngine({ backend: opts.backend, logger });
        const res = await mergeAndExport(params);
        if (opts.json) printJson(res);
        else process.stdout.write(`merged ${res.modules} adapted modules into ${res.outDir} (${res.tensors} tensors)\n`);
      });
    });
}
