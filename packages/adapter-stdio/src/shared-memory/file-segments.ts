// The stdio transport's shared-memory lane (docs/protocol.md, "Shared
// memory"). A large typed array is copied once into a file in /dev/shm that
// is unlinked as soon as it is open, so it has no name left to leak: the
// memory lives exactly as long as some process holds it open or mapped. The
// worker reaches it through /proc/<host pid>/fd/<fd> and maps it; a SIGKILL on
// either side closes that side's descriptors, and the kernel frees the rest.
// Node cannot map memory itself, so the host reads and writes segments with
// one copy each; the worker's side is zero-copy.

import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ProtocolError, type ResolvedConfig, type SharedMemory, type SharedSegment } from '@snakebridge/core';
import type { SegmentEntry } from '../protocol/segments.js';

/** Where segments are made: a tmpfs every Linux has, whose pages are memory, not disk. */
export const SEGMENT_DIRECTORY = '/dev/shm';

/**
 * The lane for this config, or undefined where there is none: off in the
 * config (`protocol.sharedMemoryBytes: 0`), not Linux, a sandboxed pool (its
 * workers see neither the host's /proc nor /dev/shm), or no writable /dev/shm.
 */
export function sharedMemoryLane(config: ResolvedConfig, directory = SEGMENT_DIRECTORY): FileSegments | undefined {
  const thresholdBytes = config.protocol.sharedMemoryBytes;
  if (thresholdBytes === 0 || process.platform !== 'linux' || config.security.sandbox.enabled) return undefined;
  try {
    if (!statSync(directory).isDirectory()) return undefined;
    accessSync(directory, constants.W_OK);
  } catch {
    return undefined;
  }
  return new FileSegments(directory, thresholdBytes);
}

/** Segments as unlinked files in a tmpfs directory, reached by the worker through the host's /proc entry. */
export class FileSegments implements SharedMemory {
  readonly thresholdBytes: number;
  readonly directory: string;
  #made = 0;

  constructor(directory: string, thresholdBytes: number) {
    this.directory = directory;
    this.thresholdBytes = thresholdBytes;
  }

  /**
   * A segment holding a copy of `bytes`, or undefined if the directory cannot
   * take it (a full /dev/shm: containers often give it 64 MB): the value then
   * travels in the message, as it would without the lane.
   */
  create(bytes: Uint8Array): SharedSegment | undefined {
    this.#made += 1;
    const path = join(this.directory, `snakebridge-${process.pid}-${this.#made}`);
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch {
      return undefined;
    }
    try {
      unlinkSync(path);
      writeAll(fd, bytes);
    } catch {
      closeSync(fd);
      return undefined;
    }
    return new FileSegment(fd, bytes.byteLength);
  }
}

class FileSegment implements SharedSegment {
  #open = true;

  constructor(
    readonly ref: number,
    readonly byteLength: number,
  ) {}

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    closeSync(this.ref);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.byteLength; ) {
    written += writeSync(fd, bytes, written, bytes.byteLength - written, written);
  }
}

/**
 * Reads the segments a worker's frame names into memory of the host's own.
 * Together they may hold at most `maxBytes` (protocol.maxFrameBytes: what one
 * frame may carry, whichever way); each must be a regular file of exactly the
 * length the table gives: anything else (a descriptor the worker does not
 * have, a pipe, a device, a file of another size) is a ProtocolError, and
 * nothing is read beyond what was checked. O_NONBLOCK so that a FIFO cannot
 * block the open.
 */
export function readSegments(pid: number, entries: readonly SegmentEntry[], maxBytes: number): Uint8Array[] {
  const total = entries.reduce((sum, entry) => sum + entry.byteLength, 0);
  if (total > maxBytes) {
    throw new ProtocolError(
      `the shared-memory segments of one frame hold ${total} bytes, more than protocol.maxFrameBytes (${maxBytes}); ` +
        'raise the limit to receive results that large',
    );
  }
  return entries.map((entry) => readSegment(pid, entry));
}

function readSegment(pid: number, { ref, byteLength }: SegmentEntry): Uint8Array {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/fd/${ref}`, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new ProtocolError(
      `the worker's shared-memory segment ${ref} could not be opened: ${(error as Error).message}`,
    );
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size !== byteLength) {
      throw new ProtocolError(
        `the worker's shared-memory segment ${ref} is not a file of ${byteLength} bytes, as its frame says`,
      );
    }
    // Memory of its own: the value's typed array views it from offset 0, so it is always aligned.
    const bytes = Buffer.allocUnsafeSlow(byteLength);
    for (let read = 0; read < byteLength; ) {
      const got = readSync(fd, bytes, read, byteLength - read, read);
      if (got === 0) throw new ProtocolError(`the worker's shared-memory segment ${ref} ended early`);
      read += got;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}
