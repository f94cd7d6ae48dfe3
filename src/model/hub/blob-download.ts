import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LoraStudyError } from '../../util/errors.js';

export class HubDownloadError extends LoraStudyError {}

export interface BlobDownload {
  url: string;
  headers: Record<string, string>;
  /** blobs/<etag>; the bytes go to `<blob>.incomplete` first, as huggingface_hub does. */
  blobPath: string;
  etag: string;
  size: number;
  /** What the file is called in the repo (for messages). */
  label: string;
  fetch?: typeof fetch;
  /** Bytes received so far in this call (a resumed download starts at the partial file's size). */
  onBytes?: (n: number) => void;
}

/** sha256 of the content (the etag of an LFS file), or git's blob sha1 (the etag of a regular file). */
async function digestOf(path: string, etag: string): Promise<string> {
  const h = createHash(etag.length === 64 ? 'sha256' : 'sha1');
  if (etag.length !== 64) h.update(`blob ${statSync(path).size}\0`);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Downloads one file into the cache's blob store, continuing a partial `.incomplete` file with an
 * HTTP Range request, and checks the result against the Hub's etag before renaming it into place.
 */
export async function downloadBlob(d: BlobDownload): Promise<void> {
  const incomplete = `${d.blobPath}.incomplete`;
  await mkdir(dirname(d.blobPath), { recursive: true });
  let have = existsSync(incomplete) ? statSync(incomplete).size : 0;
  if (have > d.size) {
    await rm(incomplete, { force: true });
    have = 0;
  }
  if (have < d.size) {
    const res = await (d.fetch ?? fetch)(d.url, { headers: { ...d.headers, 'Accept-Encoding': 'identity', ...(have > 0 ? { Range: `bytes=${have}-` } : {}) } });
    if (!res.ok || !res.body) throw new HubDownloadError(`downloading ${d.label} failed: HTTP ${res.status} from ${d.url}`, { hint: 'run the command again: the part already downloaded is kept and continued' });
    const append = have > 0 && res.status === 206;
    if (!append) have = 0;
    d.onBytes?.(have);
    // Received bytes reach the disk in blocks of up to 8 MiB, and what was received is written
    // even when the transfer breaks, so an interrupted download leaves a partial file the next
    // attempt continues.
    const fh = await open(incomplete, append ? 'a' : 'w');
    let block: Uint8Array[] = [];
    let blockBytes = 0;
    const flush = async () => {
      if (blockBytes === 0) return;
      await fh.write(Buffer.concat(block, blockBytes));
      block = [];
      blockBytes = 0;
    };
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        block.push(chunk);
        blockBytes += chunk.length;
        d.onBytes?.(chunk.length);
        if (blockBytes >= 8 * 1024 * 1024) await flush();
      }
    } finally {
      try {
        await flush();
      } finally {
        await fh.close();
      }
    }
  }
  const got = statSync(incomplete).size;
  const digest = await digestOf(incomplete, d.etag);
  if (got !== d.size || digest !== d.etag) {
    await rm(incomplete, { force: true });
    throw new HubDownloadError(`${d.label} from ${d.url} failed verification: ${got} bytes with ${d.etag.length === 64 ? 'sha256' : 'git sha1'} ${digest}, expected ${d.size} bytes with ${d.etag}`, {
      hint: 'the damaged copy was deleted; run the command again to download it afresh',
    });
  }
  await rename(incomplete, d.blobPath);
}
