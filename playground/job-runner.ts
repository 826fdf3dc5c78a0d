// Runs the quiz's and the exercise sheet's jobs in a worker of their own (explain-worker.ts), with the
// Explain tab's rules: typing waits a moment so a burst of keys makes one job, a stale job is cancelled
// by ending its worker (the only way to stop a synchronous job), an answer to a stale job is dropped,
// and a job past the time limit is given up with a message instead of waiting forever.
import type { WorkerAnswer, WorkerJob } from "./explain-protocol.js";

type Kind = WorkerJob["kind"];
type JobOf<K extends Kind> = Extract<WorkerJob, { kind: K }>;
type AnswerOf<K extends Kind> = Extract<WorkerAnswer, { kind: K }>;
/** A job as the caller gives it: the runner numbers it. */
export type JobInput<K extends Kind> = Omit<JobOf<K>, "id">;

export interface RunnerHooks<K extends Kind> {
  answer(a: AnswerOf<K>): void;
  /** True when a job has run longer than the busy delay, false when it ends. */
  busy(on: boolean): void;
  /** The job ran past the time limit and was given up. */
  timedOut(limitMs: number): void;
}

const BUSY_AFTER_MS = 150;

export class JobRunner<K extends Kind> {
  private worker: Worker | null = null;
  private running: { id: number; timers: ReturnType<typeof setTimeout>[] } | null = null;
  private lastId = 0;
  private debounce: ReturnType<typeof setTimeout> | undefined;

  constructor(
    /** The kind of this runner's jobs, for a failure made up on this side. */
    private readonly kind: K,
    private readonly hooks: RunnerHooks<K>,
    private readonly timeLimitMs: number,
  ) {}

  /** Runs the job after `delayMs` of quiet (the latest call wins). */
  schedule(job: () => JobInput<K>, delayMs: number): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.run(job()), delayMs);
  }

  /** Runs the job now, cancelling one still running. An idle worker is kept: it holds the last explanation. */
  run(input: JobInput<K>): void {
    clearTimeout(this.debounce);
    this.cancel();
    const id = ++this.lastId;
    this.running = {
      id,
      timers: [
        setTimeout(() => this.hooks.busy(true), BUSY_AFTER_MS),
        setTimeout(() => {
          this.cancel();
          this.hooks.timedOut(this.timeLimitMs);
        }, this.timeLimitMs),
      ],
    };
    this.worker ??= this.start();
    this.worker.postMessage({ ...input, id } as JobOf<K>);
  }

  /** Ends the running job, and its worker with it; nothing to do when idle. */
  cancel(): void {
    clearTimeout(this.debounce);
    if (!this.running) return;
    this.finish();
    this.worker?.terminate();
    this.worker = null;
  }

  private finish(): void {
    this.running?.timers.forEach(clearTimeout);
    this.running = null;
    this.hooks.busy(false);
  }

  private start(): Worker {
    const w = new Worker(new URL("./explain-worker.ts", import.meta.url), { type: "module" });
    w.onmessage = (e: MessageEvent<WorkerAnswer>) => {
      const a = e.data;
      if (!this.running || a.id !== this.running.id) return; // an answer to a job replaced since
      this.finish();
      this.hooks.answer(a as AnswerOf<K>);
    };
    w.onerror = (e) => {
      e.preventDefault();
      if (!this.running) return;
      const id = this.running.id;
      this.cancel();
      const error = `error: the worker failed (${e.message || "it could not start"})`;
      this.hooks.answer({ kind: this.kind, id, ok: false, error } as AnswerOf<K>);
    };
    return w;
  }
}
