import type { MercuriusDriverConfig } from '@nestjs/mercurius';
import type { AuthService } from '../auth/auth.service';
import { graphqlAuthentication } from '../auth/graphql-authentication';
import type { AppConfig } from '../config/config';
import type { AccessPolicy } from './access-policy';
import { applyAccessPolicy } from './exposure';
import { graphqlLimits, refuseComplexQueries, refuseLargeQueries } from './graphql-limits';

/** Everything security adds to the GraphQL module's options, in the order it runs per request. */
export function graphqlSecurity(config: AppConfig, auth: AuthService, policy: AccessPolicy): Partial<MercuriusDriverConfig> {
  return {
    ...graphqlLimits(config),
    hooks: {
      preParsing: [refuseLargeQueries(config.graphql.maxQueryBytes)],
      // Who asks comes first: a stranger learns nothing, not even what the query would cost.
      preExecution: [graphqlAuthentication(auth), refuseComplexQueries(config.graphql.maxComplexity)],
    },
    transformSchema: (schema) => applyAccessPolicy(schema, policy),
  };
}
