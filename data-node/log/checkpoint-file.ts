// Small text files that must change atomically (log start offset, recovery point, leader epochs):
// written to a temporary file, fsynced, renamed over the old one, and the directory fsynced, so
// after a crash a reader finds either the old content or the new, never a mix.
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export const TMP_SUFFIX = '.tmp';

export async function writeCheckpoint(
  dir: string,
  name: string,
  content: string | Buffer,
): Promise<void> {
  const path = join(dir, name);
  const tmp = path + TMP_SUFFIX;

  const file = await open(tmp, 'w');
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }

  await rename(tmp, path);
  await syncDirectory(dir);
}

/** The checkpoint's text, or null when there is none. */
export async function readCheckpoint(dir: string, name: string): Promise<string | null> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Makes creations, renames and deletions inside `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
