import { OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Args, Context, ID, Resolver, Subscription } from '@nestjs/graphql';
import type { FastifyInstance } from 'fastify';
import type { PubSub } from 'mercurius';
import { CustomerAccess } from '../auth/customer-access';
import { principalOf, type CallerContext } from '../auth/principal';
import { consentedEvent } from '../consent/consent';
import { ConsentService } from '../consent/consent.service';
import type { ContextChange } from '../changes/change';
import { ChangeBus } from '../changes/change-bus';
import { CustomerContextChange } from './customer-context-change.model';

const topicOf = (profileId: string) => `customerContextChanged:${profileId}`;

/** Live updates: every change the bus delivers to this instance reaches its subscribers. */
@Resolver(() => CustomerContextChange)
export class LiveResolver implements OnModuleInit {
  constructor(
    private readonly bus: ChangeBus,
    private readonly adapterHost: HttpAdapterHost,
    private readonly access: CustomerAccess,
    private readonly consent: ConsentService,
  ) {}

  onModuleInit(): void {
    this.bus.onChange((change) => {
      const pubsub = this.pubsub();
      void pubsub?.publish({ topic: topicOf(change.profileId), payload: change });
    });
  }

  @Subscription(() => CustomerContextChange, {
    description: 'Pushes what changed about a customer (webhooks from Segment and Twilio), on every instance.',
    filter(this: LiveResolver, change: ContextChange, _variables: unknown, context: CallerContext) {
      return this.stillAllowed(change, context);
    },
    resolve(this: LiveResolver, change: ContextChange): CustomerContextChange {
      // A push carries no consent state: what consent may hide is left out (the panel queries again).
      const consent = this.consent.nothingConsented;
      return {
        profileId: change.profileId,
        parts: change.parts,
        source: change.source,
        at: new Date(change.at),
        traits: change.traits ? consent.filter('traits', change.traits) : null,
        event: change.event ? { ...consentedEvent(consent, change.event), occurredAt: new Date(change.event.occurredAt) } : null,
        conversationSid: change.conversationSid ?? null,
        message: change.message
          ? { ...change.message, fromCustomer: change.message.fromCustomer ?? false, createdAt: new Date(change.message.createdAt) }
          : null,
        insights: change.insights?.map((i) => ({ ...i, at: new Date(i.at) })) ?? null,
        note: change.note ? { ...change.note, createdAt: new Date(change.note.createdAt), updatedAt: new Date(change.note.updatedAt) } : null,
      };
    },
  })
  customerContextChanged(@Args('profileId', { type: () => ID }) profileId: string, @Context('pubsub') pubsub: PubSub) {
    // The connection's own pubsub: it ends the subscription when the socket closes.
    return pubsub.subscribe(topicOf(profileId));
  }

  /**
   * ACCESS_STRICT is checked when a subscription starts and again on every push: an agent whose
   * reservation ended stops receiving the customer's changes (within ACCESS_STRICT_CACHE_MS).
   */
  private async stillAllowed(change: ContextChange, context: CallerContext): Promise<boolean> {
    try {
      await this.access.check(principalOf(context), { profileId: change.profileId });
      return true;
    } catch {
      return false;
    }
  }

  /** Mercurius's process-wide pubsub, to publish into every connection of this instance. */
  private pubsub(): PubSub | undefined {
    return (this.adapterHost.httpAdapter?.getInstance<FastifyInstance>() as FastifyInstance & { graphql?: { pubsub: PubSub } })?.graphql?.pubsub;
  }
}
