import { Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { AccessPolicy } from './access-policy';
import { RateLimits } from './rate-limits';

/**
 * Who may see which customer data (the access policy) and the request budgets. The request
 * pipeline that applies them, and keeps the audit trail of who read what, is `PipelineModule`;
 * ACCESS_STRICT is `StrictAccessModule` (context/), the policy's fields on messages and notes are
 * resolved beside the context's own.
 */
@Module({
  providers: [{ provide: AccessPolicy, useFactory: (config: AppConfig) => AccessPolicy.load(config.access.policyFile), inject: [AppConfig] }, RateLimits],
  exports: [AccessPolicy, RateLimits],
})
export class SecurityModule {}
