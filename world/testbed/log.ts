/**
 * The testbed's error log: one JSON object per line on the primary's stderr, for what must never pass
 * unseen: every 5xx a web worker answers and every job that fails (what Rails' and Sidekiq's error
 * logs say, structured). The processes send their entries to the primary, the one writer, so lines
 * never interleave. Entries carry ids (request, job, status, account) and route patterns, never
 * request URLs or headers, so no token reaches the log.
 */

export interface LogEntry {
  level: 'error' | 'warn';
  /** What happened: `request_failed` (a 5xx) or `job_failed`. */
  event: string;
  /** The error's message. */
  message: string;
  [field: string]: unknown;
}

export type Logger = (entry: LogEntry) => void;

/** The line for `entry`, time first. */
export const formatLogLine = (entry: LogEntry, now = new Date()): string =>
  `${JSON.stringify({ time: now.toISOString(), ...entry })}\n`;

/** Where the primary writes its log unless told otherwise. */
export const writeToStderr = (line: string): void => void process.stderr.write(line);
