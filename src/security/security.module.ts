import { Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { AccessPolicy } from './access-policy';
import { AuditLog } from './audit-log';
import { AuditSink } from './audit-sink';
import { MessageTextResolver, WrapUpNoteTextResolver } from './message-text.resolver';
import { RateLimits } from './rate-limits';

/**
 * Who may see which customer data (the access policy), the audit trail of who did, and the
 * request budgets. The request pipeline that applies them is `PipelineModule`; ACCESS_STRICT is
 * `StrictAccessModule`.
 */
@Module({
  providers: [
    { provide: AccessPolicy, useFactory: (config: AppConfig) => AccessPolicy.load(config.access.policyFile), inject: [AppConfig] },
    AuditSink,
    AuditLog,
    MessageTextResolver,
    WrapUpNoteTextResolver,
    RateLimits,
  ],
  exports: [AccessPolicy, AuditLog, RateLimits],
})
export class SecurityModule {}
