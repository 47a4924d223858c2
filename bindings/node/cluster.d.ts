// Types of `hotpath/cluster`: sticky sessions for a Node cluster.
import type { Worker } from 'cluster';
import type { AddressInfo, Server } from 'net';

/** What onWorkerExit receives. */
export interface WorkerExitInfo {
  /** The slot, 0 .. workers-1; a new worker is forked in it. */
  index: number;
  /** The worker that exited. */
  worker: Worker;
  /** Its exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: string | null;
}

/** Options of setupPrimary(). */
export interface PrimaryOptions {
  /** TCP port; 0 picks a free one (read it from `ready`). */
  port: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default os.cpus().length. */
  workers?: number;
  /**
   * 'modulo' (default): fingerprint32(remoteAddress) % workers, the Perfload
   * seed's rule; 'jump': IPv4-mapped addresses folded, jump consistent hashing.
   */
  mode?: 'modulo' | 'jump';
  /** Called when a worker exits; it is re-forked in the same slot unless the primary is closing. */
  onWorkerExit?: (info: WorkerExitInfo) => void;
  /** Connections held per slot while its worker (re)starts; more are closed. Default 1024. */
  maxPending?: number;
  /** close() sends SIGTERM, then SIGKILL after this many ms. Default 5000. */
  killTimeoutMs?: number;
  /** Extra environment for the workers. */
  env?: Record<string, string>;
}

/** What setupPrimary() returns. */
export interface StickyPrimary {
  /** The listening server (pauseOnConnect). */
  readonly server: Server;
  /** Resolves with the bound address once listening and every worker called setupWorker(). */
  readonly ready: Promise<AddressInfo>;
  /** The current worker of each slot (undefined/null while one restarts). */
  readonly workers: ReadonlyArray<Worker | null>;
  /** The slot a client address is sent to. */
  indexOf(address: string): number;
  /** Stops accepting, closes queued connections, stops the workers (SIGTERM) without re-forking them. */
  close(): Promise<void>;
}

/**
 * In the cluster primary: fork the workers, listen, and hand every connection
 * to the worker that hotpath.sticky.pick(remoteAddress, workers, mode) names.
 */
export function setupPrimary(options: PrimaryOptions): StickyPrimary;

/**
 * In a worker: emit handed-over connections on `httpServer` (which need not
 * listen) and tell the primary this worker is ready.
 */
export function setupWorker(httpServer: Server): { index: number; workers: number };

/** This worker's slot from HOTPATH_WORKER_INDEX, or null outside a sticky worker. */
export function workerIndex(): number | null;

/** The environment variable holding a worker's slot. */
export const INDEX_ENV: 'HOTPATH_WORKER_INDEX';
/** The environment variable holding the number of slots. */
export const COUNT_ENV: 'HOTPATH_WORKER_COUNT';
