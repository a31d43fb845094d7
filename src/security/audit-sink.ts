import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import { AppConfig } from '../config/config';

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

  constructor(config: AppConfig) {
    this.toFile = config.audit.file !== undefined;
    this.destination = pino.destination(config.audit.file ? { dest: config.audit.file, append: true, mkdir: true } : { dest: 1 });
    this.logger = pino({ level: 'info', base: { context: 'Audit' } }, this.destination);
  }

  write(line: Record<string, unknown>, message: string): void {
    this.logger.info(line, message);
  }

  onApplicationShutdown(): void {
    // Synchronous destinations: nothing is buffered, but a file must be closed.
    if (this.toFile) this.destination.end();
  }
}
