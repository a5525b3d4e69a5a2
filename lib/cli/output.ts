/**
 * Everything a command prints goes through {@link Output}.
 *
 * Two modes:
 * - human (default): results on stdout, notes and warnings on stderr, a
 *   progress line on stderr only when stderr is a terminal.
 * - `--json`: one JSON object per line (NDJSON), each with an `"event"` field,
 *   on stdout; on stderr instead when the command's stdout carries data
 *   (`pigeon recv … | tar x`). Errors are `{"event":"error",…}` on stderr.
 *
 * `--quiet` drops notes and progress (warnings, errors and results stay).
 * Writes keep their order even when callers do not await them. If the reader
 * of stdout goes away (`pigeon … | head`), writes to stdout throw
 * {@link StdoutClosedError}, which `main.ts` turns into a quiet exit.
 *
 * @module
 */

/** Where bytes go: `Deno.stdout` and `Deno.stderr` satisfy this. */
export interface Sink {
  /** Writes some of `p`, resolving to how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
  /** True when the sink is a terminal. */
  isTerminal(): boolean;
}

/** How an {@link Output} behaves. */
export interface OutputOptions {
  /** Print NDJSON events instead of human text. */
  json: boolean;
  /** Drop notes and progress. */
  quiet: boolean;
  /** The command writes data to stdout, so JSON events go to stderr. */
  stdoutIsData: boolean;
  /** The standard output. */
  stdout: Sink;
  /** The standard error. */
  stderr: Sink;
  /** Terminal width for truncating the progress line; 0 when unknown. */
  columns?: number;
}

/** A JSON value an event field may hold. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Thrown by stdout writes once the reader of stdout has gone away (EPIPE). */
export class StdoutClosedError extends Error {
  /** Creates the error. */
  constructor() {
    super("The reader of stdout went away");
    this.name = "StdoutClosedError";
  }
}

/** The shortest a progress line is cut to when the terminal width is known. */
const MIN_PROGRESS_COLUMNS = 20;

const encoder = new TextEncoder();

/** Human or NDJSON output of one command run; see the module doc. */
export class Output {
  /** True in `--json` mode. */
  readonly json: boolean;
  /** True in `--quiet` mode. */
  readonly quiet: boolean;
  readonly #stdoutIsData: boolean;
  readonly #stdout: Sink;
  readonly #stderr: Sink;
  readonly #columns: number;
  readonly #progressEnabled: boolean;
  #progressShown = false;
  #stdoutClosed = false;
  /** The tail of the write queue; every write waits for the one before. */
  #queue: Promise<void> = Promise.resolve();

  /** Creates an output over two sinks. */
  constructor(options: OutputOptions) {
    this.json = options.json;
    this.quiet = options.quiet;
    this.#stdoutIsData = options.stdoutIsData;
    this.#stdout = options.stdout;
    this.#stderr = options.stderr;
    this.#columns = options.columns ?? 0;
    this.#progressEnabled = !options.json && !options.quiet && safeIsTerminal(options.stderr);
  }

  /** True when a progress line would be shown (stderr is a terminal, not quiet, not JSON). */
  get showsProgress(): boolean {
    return this.#progressEnabled;
  }

  /** Writes raw data to stdout (a received file, a tar stream). */
  write(bytes: Uint8Array): Promise<void> {
    return this.#enqueue(() => this.#writeStdout(bytes));
  }

  /**
   * A writable stream onto stdout for `readable.pipeTo(out.stdoutWritable())`;
   * respects backpressure and fails with {@link StdoutClosedError} on EPIPE.
   */
  stdoutWritable(): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({ write: (chunk) => this.write(chunk) });
  }

  /** Prints a result line on stdout in human mode (nothing in JSON mode). */
  print(line: string): Promise<void> {
    if (this.json) return this.#queue;
    return this.#enqueue(() => this.#writeStdout(encoder.encode(line + "\n")));
  }

  /**
   * Prints a result: `human` as a line on stdout, or in JSON mode the event
   * `{"event": name, ...fields}`.
   */
  result(human: string, name: string, fields: Record<string, JsonValue> = {}): Promise<void> {
    return this.json ? this.event(name, fields) : this.print(human);
  }

  /** Emits `{"event": name, ...fields}` in JSON mode; nothing in human mode. */
  event(name: string, fields: Record<string, JsonValue> = {}): Promise<void> {
    if (!this.json) return this.#queue;
    const line = encoder.encode(JSON.stringify({ event: name, ...fields }) + "\n");
    return this.#enqueue(() =>
      this.#stdoutIsData ? this.#writeStderr(line) : this.#writeStdout(line)
    );
  }

  /** A human note on stderr (dropped in quiet and JSON mode). */
  note(text: string): Promise<void> {
    if (this.quiet || this.json) return this.#queue;
    return this.#enqueue(() => this.#writeStderr(encoder.encode(text + "\n")));
  }

  /** A warning on stderr (`pigeon: warning: …`, or a `warning` event in JSON mode). */
  warn(text: string): Promise<void> {
    const line = this.json
      ? JSON.stringify({ event: "warning", message: text })
      : `pigeon: warning: ${text}`;
    return this.#enqueue(() => this.#writeStderr(encoder.encode(line + "\n")));
  }

  /** The final error line on stderr: `pigeon: …`, or an `error` event in JSON mode. */
  error(message: string, fields: Record<string, JsonValue> = {}): Promise<void> {
    const line = this.json
      ? JSON.stringify({ event: "error", message, ...fields })
      : `pigeon: ${message}`;
    return this.#enqueue(() => this.#writeStderr(encoder.encode(line + "\n")));
  }

  /** Extra diagnostic text on stderr, as is (used for stacks under PIGEON_DEBUG=1). */
  debug(text: string): Promise<void> {
    return this.#enqueue(() => this.#writeStderr(encoder.encode(text + "\n")));
  }

  /** Replaces the progress line on a terminal stderr; a no-op otherwise. */
  progress(text: string): Promise<void> {
    if (!this.#progressEnabled) return this.#queue;
    let line = text;
    if (this.#columns >= MIN_PROGRESS_COLUMNS && line.length > this.#columns - 1) {
      line = line.slice(0, this.#columns - 2) + "…";
    }
    return this.#enqueue(async () => {
      await writeAll(this.#stderr, encoder.encode("\r" + line + "\x1b[K"));
      this.#progressShown = true;
    });
  }

  /** Waits until everything queued so far is written. */
  flush(): Promise<void> {
    return this.#queue;
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(task);
    // Keep the queue going after a failed write; the caller still sees the failure.
    this.#queue = next.catch(() => {});
    return next;
  }

  async #writeStdout(bytes: Uint8Array): Promise<void> {
    if (this.#stdoutClosed) throw new StdoutClosedError();
    try {
      await writeAll(this.#stdout, bytes);
    } catch (err) {
      if (err instanceof Deno.errors.BrokenPipe) {
        this.#stdoutClosed = true;
        throw new StdoutClosedError();
      }
      throw err;
    }
  }

  async #writeStderr(bytes: Uint8Array): Promise<void> {
    try {
      if (this.#progressShown) {
        this.#progressShown = false;
        await writeAll(this.#stderr, encoder.encode("\r\x1b[K"));
      }
      await writeAll(this.#stderr, bytes);
    } catch (err) {
      // Nobody is reading stderr: there is no one left to tell.
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
    }
  }
}

async function writeAll(sink: Sink, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) done += await sink.write(bytes.subarray(done));
}

function safeIsTerminal(sink: Sink): boolean {
  try {
    return sink.isTerminal();
  } catch {
    return false;
  }
}
