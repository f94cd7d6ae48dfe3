import { FieldMappingError } from './errors.js';
import type { DropReason } from './drops.js';
import type { ChatMessage, Example } from './example.js';

/**
 * Which columns of a source row hold what. `columns` rows: Alpaca (`instruction`, `input`,
 * `output`) and `{prompt, completion|response}`; `chat` rows: a list of `{role, content}`
 * (or ShareGPT's `{from, value}`) messages.
 */
export type FieldMap =
  | { kind: 'columns'; instruction: string; input?: string; response: string; system?: string }
  | { kind: 'chat'; messages: string };

const INSTRUCTION_KEYS = ['instruction', 'prompt'];
const RESPONSE_KEYS = ['output', 'response', 'completion'];
const MESSAGE_KEYS = ['messages', 'conversations'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses `--fields`: comma-separated `role=column` pairs, roles `instruction` (alias `prompt`),
 * `input`, `response` (aliases `output`, `completion`), `system`, or `messages` alone.
 */
export function parseFieldsOption(spec: string): FieldMap {
  const pairs = new Map<string, string>();
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z_]+)=(.+)$/.exec(part);
    if (!m) throw new FieldMappingError(`--fields: "${part}" is not role=column`, []);
    const role = { prompt: 'instruction', output: 'response', completion: 'response' }[m[1]] ?? m[1];
    if (!['instruction', 'input', 'response', 'system', 'messages'].includes(role)) {
      throw new FieldMappingError(`--fields: unknown role "${m[1]}" (instruction|prompt, input, response|output|completion, system, messages)`, []);
    }
    pairs.set(role, m[2].trim());
  }
  const messages = pairs.get('messages');
  if (messages) {
    if (pairs.size > 1) throw new FieldMappingError('--fields: messages=<column> cannot be combined with other roles', []);
    return { kind: 'chat', messages };
  }
  const instruction = pairs.get('instruction');
  const response = pairs.get('response');
  if (!instruction || !response) throw new FieldMappingError('--fields must name both an instruction (prompt) and a response column', []);
  return { kind: 'columns', instruction, response, input: pairs.get('input'), system: pairs.get('system') };
}

function sampleKeys(rows: unknown[]): Set<string> {
  const keys = new Set<string>();
  for (const row of rows.slice(0, 200)) if (isObject(row)) for (const k of Object.keys(row)) keys.add(k);
  return keys;
}

/**
 * Checks that every column an explicit `--fields` mapping names occurs in the first rows, so a
 * misspelt optional column (input, system) cannot silently read as empty everywhere.
 */
export function checkFieldMap(map: FieldMap, rows: unknown[]): FieldMap {
  const keys = sampleKeys(rows);
  if (keys.size === 0) return map;
  const named = map.kind === 'chat' ? [map.messages] : [map.instruction, map.response, map.input, map.system].filter((c): c is string => !!c);
  const absent = named.filter((c) => !keys.has(c));
  if (absent.length) throw new FieldMappingError(`--fields names column${absent.length > 1 ? 's' : ''} ${absent.map((c) => `"${c}"`).join(', ')} that the rows do not have`, [...keys]);
  return map;
}

/** Guesses the mapping from the keys of the first rows (Alpaca, prompt/completion, chat). */
export function detectFieldMap(rows: unknown[]): FieldMap {
  const keys = sampleKeys(rows);
  // No object rows at all: every row will be dropped as not_an_object, under any mapping.
  if (keys.size === 0) return { kind: 'columns', instruction: 'instruction', input: 'input', response: 'output' };
  const messages = MESSAGE_KEYS.find((k) => keys.has(k));
  if (messages) return { kind: 'chat', messages };
  const instruction = INSTRUCTION_KEYS.find((k) => keys.has(k));
  const response = RESPONSE_KEYS.find((k) => keys.has(k));
  if (!instruction || !response) {
    throw new FieldMappingError('cannot tell which columns hold the prompt and the response', [...keys]);
  }
  return {
    kind: 'columns',
    instruction,
    response,
    input: keys.has('input') ? 'input' : undefined,
    system: keys.has('system') ? 'system' : undefined,
  };
}

export type RowResult = { ok: Example } | { drop: DropReason };

type Field = { value: string } | { drop: 'missing_field' | 'non_string_field' };

/** A required text field: missing/null, not a string, or the string. */
function text(row: Record<string, unknown>, key: string): Field {
  const v = row[key];
  if (v === undefined || v === null) return { drop: 'missing_field' };
  return typeof v === 'string' ? { value: v } : { drop: 'non_string_field' };
}

/** An optional text field: absent and null read as empty. */
function optionalText(row: Record<string, unknown>, key: string | undefined): Field {
  if (!key || row[key] === undefined || row[key] === null) return { value: '' };
  return text(row, key);
}

const ROLE_NAMES: Record<string, ChatMessage['role']> = {
  system: 'system', user: 'user', human: 'user', assistant: 'assistant', gpt: 'assistant', bot: 'assistant', model: 'assistant',
};

function chatRow(value: unknown): RowResult {
  if (!Array.isArray(value)) return { drop: value === undefined || value === null ? 'missing_field' : 'bad_messages' };
  const msgs: ChatMessage[] = [];
  for (const m of value) {
    if (!isObject(m)) return { drop: 'bad_messages' };
    const role = ROLE_NAMES[String(m.role ?? m.from)];
    const content = m.content ?? m.value;
    if (!role) return { drop: 'bad_messages' };
    if (typeof content !== 'string') return { drop: content === undefined || content === null ? 'missing_field' : 'non_string_field' };
    msgs.push({ role, content });
  }
  const system = msgs[0]?.role === 'system' ? msgs.shift()!.content : undefined;
  const reply = msgs.pop();
  const user = msgs.pop();
  if (!reply || !user || reply.role !== 'assistant' || user.role !== 'user' || msgs.some((m) => m.role === 'system')) {
    return { drop: 'bad_messages' };
  }
  if (user.content.trim() === '') return { drop: 'empty_prompt' };
  if (reply.content.trim() === '') return { drop: 'empty_response' };
  return { ok: { instruction: user.content, input: '', response: reply.content, system, history: msgs.length ? msgs : undefined } };
}

/** Turns one source row into an Example, or says why it cannot be one. */
export function rowToExample(row: unknown, map: FieldMap): RowResult {
  if (!isObject(row)) return { drop: 'not_an_object' };
  if (map.kind === 'chat') return chatRow(row[map.messages]);
  const fields = [text(row, map.instruction), text(row, map.response), optionalText(row, map.input), optionalText(row, map.system)];
  // Missing outranks wrong type, so a row is counted under the same reason whatever its column order.
  for (const reason of ['missing_field', 'non_string_field'] as const) {
    if (fields.some((f) => 'drop' in f && f.drop === reason)) return { drop: reason };
  }
  const [instruction, response, input, system] = fields.map((f) => (f as { value: string }).value);
  if (instruction.trim() === '') return { drop: 'empty_prompt' };
  if (response.trim() === '') return { drop: 'empty_response' };
  return { ok: { instruction, input, response, system: system || undefined } };
}
