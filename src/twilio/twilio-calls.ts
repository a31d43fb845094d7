import { Injectable } from '@nestjs/common';
import type { Twilio } from 'twilio';
import { AppConfig } from '../config/config';
import { UpstreamMetrics } from '../upstream/upstream-metrics';
import type { UpstreamPolicy } from '../upstream/upstream-policy';
import { TwilioClient, twilioPolicy } from './twilio-client';
import { twilioCall } from './twilio-errors';

/**
 * How every Twilio adapter calls Twilio: through the one twilio-node client, counted and timed
 * under its route (`cc_upstream_calls_total{source="twilio"}`), under the resilience policy, with
 * twilio-node's errors turned into UpstreamErrors.
 */
@Injectable()
export class TwilioCalls {
  /** By timeout factor: the policies hold no state, so adapters share them. */
  private readonly policies = new Map<number, UpstreamPolicy>();

  constructor(
    private readonly config: AppConfig,
    private readonly twilio: TwilioClient,
    private readonly metrics: UpstreamMetrics,
  ) {}

  get client(): Twilio {
    return this.twilio.client;
  }

  /**
   * One REST call: its answer; for a status named in `answers` (404 for a resource Twilio does not
   * know, 412 for a stale ETag) the answer given there. `timeoutFactor` stretches each attempt's
   * timeout for calls that walk several pages.
   */
  call<T, A = never>(route: string, work: () => Promise<T>, answers: Readonly<Record<number, A>> = {}, timeoutFactor = 1): Promise<T | A> {
    return this.observe(route, () => twilioCall(work, answers), timeoutFactor);
  }

  /** A call that reads Twilio's answer itself (token validation): counted and under the policy only. */
  observe<T>(route: string, work: () => Promise<T>, timeoutFactor = 1): Promise<T> {
    return this.metrics.observe('twilio', route, () => this.policy(timeoutFactor).execute(work));
  }

  private policy(timeoutFactor: number): UpstreamPolicy {
    let policy = this.policies.get(timeoutFactor);
    if (!policy) {
      policy = twilioPolicy(this.config, timeoutFactor);
      this.policies.set(timeoutFactor, policy);
    }
    return policy;
  }
}
