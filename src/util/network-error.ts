/** True for fetch's failure to reach a server at all (no HTTP answer): DNS, refused, reset, offline. */
export function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError && /fetch failed|network|ECONN|ENOTFOUND|EAI_AGAIN/i.test(`${err.message} ${(err as { cause?: { code?: string } }).cause?.code ?? ''}`);
}
