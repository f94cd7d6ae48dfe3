export * from './registry.js';
export type { BuiltinExample, BuiltinTask, TaskDraw } from './types.js';
