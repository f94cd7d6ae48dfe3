// npx tsx scripts/config-docs.ts — prints the README's config tables from the zod schemas.
import { describeSchema, markdownTable } from '../src/config/describe-schema.js';
import { runConfigSchema } from '../src/config/run-config.js';
import { suiteConfigSchema } from '../src/config/suite-config.js';

process.stdout.write(`### Run config\n\n${markdownTable(describeSchema(runConfigSchema))}\n\n### Suite\n\n${markdownTable(describeSchema(suiteConfigSchema))}\n`);
