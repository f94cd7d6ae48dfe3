/** One message of a conversation, in the Hugging Face chat format. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * One instruction example, whatever format it came from: Alpaca rows map directly,
 * `{prompt, completion|response}` rows put the prompt in `instruction`, and chat rows put the
 * last user message in `instruction` and the assistant reply that follows it in `response`.
 */
export interface Example {
  instruction: string;
  /** Alpaca's optional context; empty when there is none. */
  input?: string;
  response: string;
  /** A system message, from chat sources. */
  system?: string;
  /** Earlier turns of a conversation, before the final user message (chat sources only). */
  history?: ChatMessage[];
}

/** The user turn's text: the instruction, then the input (if any) after a blank line. */
export function userContent(ex: Example): string {
  return ex.input ? `${ex.instruction}\n\n${ex.input}` : ex.instruction;
}

/** The conversation up to and including the final user message. */
export function promptMessages(ex: Example): ChatMessage[] {
  return [
    ...(ex.system ? [{ role: 'system' as const, content: ex.system }] : []),
    ...(ex.history ?? []),
    { role: 'user', content: userContent(ex) },
  ];
}

/** Identity for exact-duplicate removal: every field that reaches the model. */
export function exampleKey(ex: Example): string {
  return JSON.stringify([ex.system ?? '', ex.history ?? [], ex.instruction, ex.input ?? '', ex.response]);
}
