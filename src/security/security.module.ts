import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuthModule } from '../auth/auth.module';
import { AppConfig } from '../config/config';
import { ContextModule } from '../context/context.module';
import { AccessPolicy } from './access-policy';
import { AnswerCache } from '../context/answer-cache';
import { AuditLog } from './audit-log';
import { AuditSink } from './audit-sink';
import { CustomerAccessInterceptor } from './customer-access.interceptor';
import { MessageTextResolver, WrapUpNoteTextResolver } from './message-text.resolver';
import { RateLimits } from './rate-limits';
import { StrictAccess } from './strict-access';
import { RequestPipeline } from '../pipeline/request-pipeline';
import { SubscriptionPipeline } from '../live/subscriptions';
import { TwilioWorkerTasks, WorkerTasks } from './worker-tasks';

/** Who may see which customer data, and the audit trail of who did. */
@Module({
  imports: [ContextModule, AuthModule],
  providers: [
    { provide: AccessPolicy, useFactory: (config: AppConfig) => AccessPolicy.load(config.access.policyFile), inject: [AppConfig] },
    { provide: WorkerTasks, useClass: TwilioWorkerTasks },
    StrictAccess,
    AuditSink,
    AuditLog,
    MessageTextResolver,
    WrapUpNoteTextResolver,
    // The one request pipeline: limits, authentication, strict access, kept answers, audit, tracking.
    RateLimits,
    AnswerCache,
    RequestPipeline,
    SubscriptionPipeline,
    { provide: APP_INTERCEPTOR, useClass: CustomerAccessInterceptor },
  ],
  exports: [AccessPolicy, SubscriptionPipeline],
})
export class SecurityModule {}
