import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyTokenizerConfig, makeTinyTokenizerJson } from '../helpers/tiny-tokenizer.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'data');

/** A ChatML chat_template in the style of Qwen/SmolLM tokenizer_config.json files. */
export const CHATML_JINJA =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A model folder holding only the tiny byte-level tokenizer (optionally with a chat template). */
export function makeTokenizerDir(opts: { chatTemplate?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'lora-data-tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(makeTinyTokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(makeTinyTokenizerConfig(opts)));
  return dir;
}

export function tmpDir(prefix = 'lora-data-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
