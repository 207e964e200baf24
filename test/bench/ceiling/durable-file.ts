// An append-only file with group commit, as the ceiling's leader and followers use it: appends
// queue while a write is in progress and go out together in one writev; whenever no fdatasync is
// running and something was written since the last one, the next fdatasync starts and covers all
// of it. `onDurable` hears the byte offset up to which the file is on the device.
import { close, fdatasync, openSync, writev } from 'node:fs';

export class DurableFile {
  private readonly fd: number;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private writing = false;
  private syncing = false;

  /** Bytes handed to append(); written <= appended. */
  appendedEnd = 0;
  /** Bytes the kernel has; durable <= written. */
  writtenEnd = 0;
  /** Bytes on the device after an fdatasync that started once they were written. */
  durableEnd = 0;

  constructor(
    path: string,
    private readonly onDurable: (durableEnd: number) => void,
  ) {
    this.fd = openSync(path, 'w');
  }

  append(buffers: readonly Buffer[]): void {
    for (const buffer of buffers) {
      this.queued.push(buffer);
      this.queuedBytes += buffer.length;
    }
    this.appendedEnd += buffers.reduce((sum, b) => sum + b.length, 0);
    this.writeQueued();
  }

  close(): void {
    close(this.fd, () => {});
  }

  private writeQueued(): void {
    if (this.writing || this.queued.length === 0) return;

    const buffers = this.queued;
    const end = this.writtenEnd + this.queuedBytes;
    this.queued = [];
    this.queuedBytes = 0;
    this.writing = true;

    writev(this.fd, buffers, (err) => {
      if (err) throw err;
      this.writing = false;
      this.writtenEnd = end;
      this.syncWritten();
      this.writeQueued();
    });
  }

  private syncWritten(): void {
    if (this.syncing || this.durableEnd === this.writtenEnd) return;

    const end = this.writtenEnd;
    this.syncing = true;

    fdatasync(this.fd, (err) => {
      if (err) throw err;
      this.syncing = false;
      this.durableEnd = end;
      this.onDurable(end);
      this.syncWritten();
    });
  }
}
