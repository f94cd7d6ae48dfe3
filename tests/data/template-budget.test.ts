import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { prepareDataset } from '../../src/data/prepare.js';
import { renderPrompt, TemplateError } from '../../src/data/templates.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { CHATML_JINJA, FIXTURES, makeTokenizerDir, tmpDir } from './fixtures.js';

const example = { instruction: 'Reverse: abc', response: 'cba' };

function render(chatTemplate: string): { dir: string; run: () => string } {
  const dir = makeTokenizerDir({ chatTemplate });
  const tok = loadTokenizer(dir);
  return { dir, run: () => renderPrompt('model', example, tok) };
}

describe('chat templates render within a budget and fail fast naming their file', () => {
  test.each([
    ['range(1e8)', '{% for i in range(100000000) %}x{% endfor %}', /range\(\) of 100000000 items/],
    ['a list built from range(1e8)', "{{ range(100000000) | length }}", /range\(\) of 100000000 items/],
    ['nested loops', '{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% endfor %}{% endfor %}{% endfor %}', /evaluation steps|ran longer than/],
    ['a string doubled 40 times', "{% set ns = namespace(v='x') %}{% for i in range(40) %}{% set ns.v = ns.v + ns.v %}{% endfor %}{{ ns.v }}", /built a value of \d+ characters/],
    ['a list doubled 40 times', '{% set ns = namespace(v=[1]) %}{% for i in range(40) %}{% set ns.v = ns.v + ns.v %}{% endfor %}{{ ns.v | length }}', /built a value of \d+ items/],
    ['long output from many iterations', "{% for i in range(100000) %}{{ messages[0]['content'] }}{{ messages[0]['content'] }}{% endfor %}", /characters|evaluation steps|ran longer than/],
  ])('%s', (_what, template, reason) => {
    const { dir, run } = render(template);
    const t0 = performance.now();
    const err = (() => {
      try {
        run();
      } catch (e) {
        return e as TemplateError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(TemplateError);
    expect(err!.message).toContain(join(dir, 'tokenizer_config.json'));
    expect(err!.message).toMatch(/went over its render budget/);
    expect(err!.message).toMatch(reason);
    expect(err!.hint).toMatch(/--template chatml/);
    expect(performance.now() - t0).toBeLessThan(20_000); // the budget, not the heap or the test timeout, stopped it
  });

  test('a real chat template renders as before, row after row', async () => {
    const { run } = render(CHATML_JINJA);
    expect(run()).toBe('<|im_start|>user\nReverse: abc<|im_end|>\n<|im_start|>assistant\n');
    const modelDir = makeTokenizerDir({ chatTemplate: CHATML_JINJA });
    const s = await prepareDataset({ source: join(FIXTURES, 'alpaca.json'), name: 'ds', outDir: tmpDir(), modelDir, template: 'model' });
    expect(s.counts.kept).toBeGreaterThan(0);
  });

  test('prepare-dataset with a looping template fails with the file, before any row is written', async () => {
    const modelDir = makeTokenizerDir({ chatTemplate: '{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}' });
    await expect(prepareDataset({ source: join(FIXTURES, 'alpaca.json'), name: 'ds', outDir: tmpDir(), modelDir, template: 'model' })).rejects.toThrow(
      join(modelDir, 'tokenizer_config.json'),
    );
  });
});
