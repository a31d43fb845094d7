import type { MercuriusDriverConfig } from '@nestjs/mercurius';
import type { AppConfig } from '../config/config';
import { holdReadsWhileResolving } from '../context/read-barrier';
import type { AccessPolicy } from '../security/access-policy';
import { applyAccessPolicy } from '../security/exposure';
import { graphqlLimits, refuseComplexQueries, refuseLargeQueries } from '../security/graphql-limits';

/**
 * Everything security adds to the GraphQL module's options, in the order it runs per request.
 * Authentication comes before all of it, in the request pipeline (pipeline/request-pipeline.ts).
 */
export function graphqlSecurity(config: AppConfig, policy: AccessPolicy): Partial<MercuriusDriverConfig> {
  return {
    ...graphqlLimits(config),
    hooks: {
      preParsing: [refuseLargeQueries(config.graphql.maxQueryBytes)],
      preExecution: [refuseComplexQueries(config.graphql.maxComplexity)],
    },
    // The read barrier of `freshness` wraps outermost (context/read-barrier.ts says why).
    transformSchema: (schema) => holdReadsWhileResolving(applyAccessPolicy(schema, policy)),
  };
}
