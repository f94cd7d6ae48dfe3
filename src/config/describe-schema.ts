import type { z } from 'zod';

export interface FieldDoc {
  path: string;
  type: string;
  default: string;
  description: string;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  entries?: Record<string, string>;
  values?: unknown[];
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
}

const def = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

function typeName(s: z.ZodType): string {
  const d = def(s);
  switch (d.type) {
    case 'default':
    case 'optional':
    case 'nullable':
      return typeName(d.innerType!);
    case 'record':
      return `{${typeName(d.keyType!)}: ${typeName(d.valueType!)}}`;
    case 'enum':
      return Object.values(d.entries ?? {}).join(' \\| ');
    case 'literal':
      return (d.values ?? []).map((v) => JSON.stringify(v)).join(' \\| ');
    case 'union':
      return (d.options ?? []).map(typeName).join(' \\| ');
    case 'array':
      return `${typeName(d.element!)}[]`;
    default:
      return d.type;
  }
}

function unwrap(s: z.ZodType): { inner: z.ZodType; dflt: unknown; hasDefault: boolean; optional: boolean } {
  let cur = s;
  let dflt: unknown;
  let hasDefault = false;
  let optional = false;
  for (;;) {
    const d = def(cur);
    if (d.type === 'default') {
      hasDefault = true;
      dflt = typeof d.defaultValue === 'function' ? (d.defaultValue as () => unknown)() : d.defaultValue;
      cur = d.innerType!;
    } else if (d.type === 'optional' || d.type === 'nullable') {
      optional = true;
      cur = d.innerType!;
    } else return { inner: cur, dflt, hasDefault, optional };
  }
}

/**
 * Every field of an object schema with its type, default and description: the one source for
 * README tables (`npx tsx scripts/config-docs.ts`), so docs and validation cannot drift apart.
 */
export function describeSchema(schema: z.ZodType, prefix = ''): FieldDoc[] {
  const { inner } = unwrap(schema);
  const shape = def(inner).shape ?? {};
  const out: FieldDoc[] = [];
  for (const [key, field] of Object.entries(shape)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const { inner: f, dflt, hasDefault, optional } = unwrap(field);
    if (def(f).type === 'object') {
      out.push(...describeSchema(f, path));
      continue;
    }
    out.push({
      path,
      type: typeName(field),
      default: hasDefault ? JSON.stringify(dflt) : optional ? '(optional)' : '(required)',
      description: (field as { description?: string }).description ?? (f as { description?: string }).description ?? '',
    });
  }
  return out;
}

export function markdownTable(rows: FieldDoc[]): string {
  return ['| field | type | default | meaning |', '| --- | --- | --- | --- |', ...rows.map((r) => `| \`${r.path}\` | ${r.type} | ${r.default === '(required)' ? 'required' : r.default === '(optional)' ? 'optional' : `\`${r.default}\``} | ${r.description} |`)].join('\n');
}
