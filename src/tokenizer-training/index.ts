export * from './byte-level.js';
export * from './tokenizer-files.js';
export * from './train-bpe.js';
