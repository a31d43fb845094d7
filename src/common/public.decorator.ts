import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'customer-context:public';

/**
 * Opts a route out of the app-wide Flex-token guard: health checks, metrics, and webhooks
 * (which carry their own signature guards).
 */
export const Public = () => SetMetadata(IS_PUBLIC, true);
