import { LoraStudyError } from '../util/errors.js';

/** A data file that is not valid JSON, JSON Lines or Parquet; says where, so the user can fix it. */
export class DatasetParseError extends LoraStudyError {
  constructor(
    readonly file: string,
    readonly format: 'json' | 'jsonl' | 'parquet',
    readonly detail: string,
    readonly position: { line?: number; column?: number; byte?: number } = {},
  ) {
    const at = position.line !== undefined
      ? `line ${position.line}${position.column !== undefined ? `, column ${position.column}` : ''}`
      : position.byte !== undefined
        ? `byte ${position.byte}`
        : undefined;
    const kind = { json: 'JSON', jsonl: 'JSON Lines', parquet: 'Parquet' }[format];
    super(`${file}${at ? ` (${at})` : ''}: not valid ${kind}: ${detail}`);
  }
}

export class DatasetNotFoundError extends LoraStudyError {
  constructor(readonly source: string, reason: string, hint?: string) {
    super(`dataset ${source}: ${reason}`, {
      hint: hint ?? 'a dataset is builtin:<task>, hf:<owner>/<repo>[:<split>], alpaca, or a .json/.jsonl/.parquet file or folder of them',
    });
  }
}

/** The rows do not say which column is the prompt and which the response. */
export class FieldMappingError extends LoraStudyError {
  constructor(message: string, readonly columns: string[]) {
    super(`${message}${columns.length ? ` (columns: ${columns.join(', ')})` : ''}`, {
      hint: 'name the columns with --fields, e.g. --fields prompt=question,response=answer (or input=<col>, system=<col>, messages=<col>)',
    });
  }
}

/** Two options that cannot both be set, or an option outside its range. */
export class PrepareOptionError extends LoraStudyError {
  constructor(readonly fields: string[], message: string) {
    super(`${fields.map((f) => `--${f}`).join(' / ')}: ${message}`);
  }
}
