import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import { AppConfig } from '../config/config';

const FLUSH_EVERY_MS = 1_000;

/**
 * Where the audit trail goes: its own pino logger, always at `info`, so `LOG_LEVEL=warn` (or
 * `silent`) quiets the service's logs but never the record of who read whose data. JSON lines on
 * stdout beside the other logs (`"context": "Audit"`), or appended to AUDIT_LOG_FILE.
 */
@Injectable()
export class AuditSink implements OnApplicationShutdown {
  private readonly destination: ReturnType<typeof pino.destination>;
  private readonly logger: Logger;
  private readonly toFile: boolean;
  /** Beside the service's own log lines (no AUDIT_LOG_FILE). */
  readonly toStdout: boolean;
  private readonly timer: NodeJS.Timeout;

  constructor(config: AppConfig) {
    this.toFile = config.audit.file !== undefined;
    this.toStdout = !this.toFile;
    // Written in 4 KB batches like the service's own log (a write per line costs every request a
    // system call), and at least every second, at shutdown and at process exit.
    const batched = { sync: false, minLength: 4096 };
    this.destination = pino.destination(config.audit.file ? { dest: config.audit.file, append: true, mkdir: true, ...batched } : { dest: 1, ...batched });
    this.logger = pino({ level: 'info', base: { context: 'Audit' } }, this.destination);
    this.timer = setInterval(() => this.flush(), FLUSH_EVERY_MS).unref();
  }

  write(line: Record<string, unknown>, message: string): void {
    this.logger.info(line, message);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.flush();
    if (this.toFile) this.destination.end();
  }

  /** Writes out what is buffered. */
  flush(): void {
    try {
      this.destination.flushSync();
    } catch {
      // Not open yet (an asynchronous destination opens its file after construction): nothing buffered.
    }
  }
}
