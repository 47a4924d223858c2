// Types of `hotpath/cluster`: one supervisor for a Node cluster, plain or with sticky sessions.
import type { EventEmitter } from 'events';
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
  /** True when it is forked again (false once close() began). */
  restart: boolean;
}

/** Options of setupPrimary(). */
export interface PrimaryOptions {
  /**
   * TCP port; 0 picks a free one (read it from `ready`). Required in the
   * sticky modes; in 'plain' mode without it each worker listens where it
   * likes before calling setupWorker().
   */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default: the WORKERS environment variable, else one per CPU (workersFromEnv()). */
  workers?: number;
  /**
   * 'plain': no routing, the workers listen (node's cluster scheduling);
   * 'modulo' (default): fingerprint32(remoteAddress) % workers, the Perfload
   * seed's rule; 'jump': IPv4-mapped addresses folded, jump consistent hashing.
   */
  mode?: 'plain' | 'modulo' | 'jump';
  /** Called when a worker exits; it is re-forked in the same slot unless the primary is closing. */
  onWorkerExit?: (info: WorkerExitInfo) => void;
  /** Connections held per slot while its worker (re)starts; more are closed. Default 1024. */
  maxPending?: number;
  /** close() sends SIGTERM, then SIGKILL after this many ms. Default 5000. */
  killTimeoutMs?: number;
  /**
   * Extra environment for the workers; a function gives each slot its own
   * (called once per slot by setupPrimary, so a re-forked worker gets its
   * slot's again; e.g. one slot a load balancer, the others its servers).
   */
  env?: Record<string, string> | ((index: number) => Record<string, string>);
  /** Default true: SIGTERM and SIGINT close() the cluster, then exit the primary with 0. */
  signals?: boolean;
}

/** What the 'worker' event receives. */
export interface WorkerReadyInfo {
  index: number;
  worker: Worker;
  /** The worker's listening address in 'plain' mode, the primary's in the sticky modes. */
  address: AddressInfo | string | null;
}

/** What setupPrimary() returns. */
export interface Primary extends EventEmitter {
  readonly mode: 'plain' | 'modulo' | 'jump';
  /** The listening server (pauseOnConnect) in the sticky modes; null in 'plain'. */
  readonly server: Server | null;
  /**
   * Resolves once every worker called setupWorker() (and, sticky, the port is
   * open) with the bound address (plain: the first worker's); rejects when
   * the port cannot be opened.
   */
  readonly ready: Promise<AddressInfo | null>;
  /** The current worker of each slot (null while one restarts). */
  readonly workers: ReadonlyArray<Worker | null>;
  /** The slot a client address is sent to (sticky modes; throws in 'plain'). */
  indexOf(address: string): number;
  /** Sends a message to the worker of a slot; false when none is connected. */
  send(index: number, message: unknown): boolean;
  /** Sends a message to every connected worker; returns how many. */
  broadcast(message: unknown): number;
  /** Stops accepting, closes queued connections, stops the workers (SIGTERM, SIGKILL after killTimeoutMs) without re-forking them. */
  close(): Promise<void>;

  on(event: 'worker', listener: (info: WorkerReadyInfo) => void): this;
  on(event: 'ready', listener: (address: AddressInfo | null) => void): this;
  on(event: 'exit', listener: (info: WorkerExitInfo) => void): this;
  on(event: 'message', listener: (message: any, from: { index: number; worker: Worker }) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}
/** The name this type had when the helper did sticky sessions only. */
export type StickyPrimary = Primary;

/**
 * In the cluster primary: fork the workers and keep them running (a worker
 * that dies is forked again in its slot). Sticky modes: listen, and hand every
 * connection to the worker that hotpath.sticky.pick(remoteAddress, workers,
 * mode) names. 'plain': the workers listen.
 */
export function setupPrimary(options?: PrimaryOptions): Primary;

/** Options of setupWorker(). */
export interface WorkerOptions {
  /** Runs on SIGTERM/SIGINT (or when the primary goes away) once the requests in progress are answered; then the worker exits. */
  close?: () => unknown;
  /** How long a stopping worker waits for requests in progress. Default 5000. */
  drainTimeoutMs?: number;
  /** Answers the questions of askAll() (what it returns or resolves is the reply; what it throws, the error). */
  onAsk?: (message: any) => unknown;
}

/** One worker's answer to askAll(). */
export interface AskAnswer {
  index: number;
  /** What its onAsk returned (or resolved with). */
  reply?: any;
  /** The message of what its onAsk threw. */
  error?: string;
}

/**
 * In a worker after setupWorker(): send `message` to every worker (this one
 * included) through the primary. Resolves with their answers in slot order
 * once all answered; rejects when some did not within timeoutMs (default 5000).
 */
export function askAll(message: unknown, options?: { timeoutMs?: number }): Promise<AskAnswer[]>;

/**
 * In a worker: tell the primary this worker is ready, and stop gracefully on
 * SIGTERM/SIGINT. Sticky modes: emit handed-over connections on `httpServer`
 * (which need not listen). 'plain': listen on the primary's port unless
 * `httpServer` listens already.
 */
export function setupWorker(httpServer: Server, options?: WorkerOptions): { index: number; workers: number };

/** This worker's slot from HOTPATH_WORKER_INDEX, or null outside a setupPrimary worker. */
export function workerIndex(): number | null;

/** The worker count named by the WORKERS variable, else one per CPU; RangeError on a bad value. */
export function workersFromEnv(env?: Record<string, string | undefined>): number;

/** The environment variable holding a worker's slot. */
export const INDEX_ENV: 'HOTPATH_WORKER_INDEX';
/** The environment variable holding the number of slots. */
export const COUNT_ENV: 'HOTPATH_WORKER_COUNT';
/** The environment variable the default worker count is read from. */
export const WORKERS_ENV: 'WORKERS';
