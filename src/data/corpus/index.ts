export * from './generate-corpus.js';
export { INSTRUCTION_GENERATORS, type CorpusDraw } from './instruction-tasks.js';
export { TEXT_GENERATORS } from './plain-text.js';
export { numberToWords, plural } from './lexicon.js';
