import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuthModule } from '../auth/auth.module';
import { AnswerCache } from '../context/answer-cache';
import { AuditLog } from './audit-log';
import { AuditSink } from './audit-sink';
import { SubscriptionPipeline } from '../live/subscriptions';
import { CustomerAccessInterceptor } from './customer-access.interceptor';
import { SecurityModule } from '../security/security.module';
import { RequestPipeline } from './request-pipeline';

/**
 * The one request pipeline (request-pipeline.ts; graphql-ws: live/subscriptions.ts): limits,
 * authentication, strict access (the `CustomerAccess` port), kept answers, audit (audit-log.ts),
 * tracking.
 */
@Module({
  imports: [AuthModule, SecurityModule],
  providers: [AuditSink, AuditLog, AnswerCache, RequestPipeline, SubscriptionPipeline, { provide: APP_INTERCEPTOR, useClass: CustomerAccessInterceptor }],
  exports: [SubscriptionPipeline],
})
export class PipelineModule {}
