import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { DynamicModule, Module } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module';
import { CacheModule } from './cache/cache.module';
import { ChangesModule } from './changes/changes.module';
import { formatGraphQLErrors, HttpErrorFilter } from './common/error-handling';
import { loggingParams } from './common/logging';
import { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { ContextModule } from './context/context.module';
import { CopilotModule } from './copilot/copilot.module';
import { HealthModule } from './health/health.module';
import { IngestModule } from './ingest/ingest.module';
import { IntelligenceModule } from './intelligence/intelligence.module';
import { LiveModule } from './live/live.module';
import { MetricsModule } from './metrics/metrics.module';
import { PanelModule } from './panel/panel.module';
import { PipelineModule } from './pipeline/pipeline.module';
import { SubscriptionPipeline } from './live/subscriptions';
import { ConsentModule } from './consent/consent.module';
import { PrivacyModule } from './privacy/privacy.module';
import { RoutingApiModule } from './routing/routing-api.module';
import { AccessPolicy } from './security/access-policy';
import { graphqlSecurity } from './pipeline/graphql-security';
import { SecurityModule } from './security/security.module';
import { StrictAccessModule } from './context/strict-access.module';
import { TrackingModule } from './tracking/tracking.module';
import { TwilioModule } from './twilio/twilio.module';
import { UpstreamModule } from './upstream/upstream.module';

/** customer-context: Segment profiles joined with Twilio conversations, for agents and routers. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggingParams(config)),
        MetricsModule,
        CacheModule,
        UpstreamModule,
        TwilioModule,
        TrackingModule,
        AuthModule,
        GraphQLModule.forRootAsync<MercuriusDriverConfig>({
          driver: MercuriusDriver,
          imports: [SecurityModule, PipelineModule],
          inject: [AppConfig, AccessPolicy, SubscriptionPipeline],
          useFactory: (appConfig: AppConfig, policy: AccessPolicy, live: SubscriptionPipeline) => ({
            autoSchemaFile: true,
            sortSchema: true,
            jit: 1,
            errorFormatter: formatGraphQLErrors as never,
            ...graphqlSecurity(appConfig, policy),
            // The principal and its policy view, computed once by the request pipeline's authentication.
            context: (req: FastifyRequest) => ({ req, principal: req.principal, policyView: req.pipeline?.policy }),
            subscription: live.options(),
          }),
        }),
        ChangesModule,
        LiveModule,
        ConsentModule,
        ContextModule,
        RoutingApiModule,
        IngestModule,
        IntelligenceModule,
        CopilotModule,
        SecurityModule,
        PipelineModule,
        StrictAccessModule,
        HealthModule,
        PanelModule,
        PrivacyModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: HttpErrorFilter }],
    };
  }
}
