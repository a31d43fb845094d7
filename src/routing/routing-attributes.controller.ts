import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { Public } from '../common/public.decorator';
import { AppConfig } from '../config/config';
import { lookupFromTaskAttributes } from '../identity/identity';
import { KEEP_RAW_BODY } from '../twilio/raw-body';
import { TwilioSignatureGuard } from '../twilio/twilio-signature.guard';
import { CustomerRouting } from './customer-routing.service';
import { taskAttributesFrom } from './task-attributes-input';

export interface RoutingAttributesAnswer {
  /** `{ [namespace]: {...}, customers?: {...} }`: what to merge into the task's attributes. */
  attributes: Record<string, unknown>;
  matchedRules: string[];
}

/**
 * For Studio's HTTP Request widget and Twilio Functions, which route before there is a task:
 * task-like attributes in, routing attributes out, within ROUTING_DEADLINE_MS (past it, the
 * rules' defaults marked `degraded`). Studio gives up on a widget after 10 s.
 */
@Public()
@Controller('routing')
export class RoutingAttributesController {
  constructor(
    private readonly config: AppConfig,
    private readonly routing: CustomerRouting,
  ) {}

  @Post('attributes')
  @HttpCode(200)
  @RouteConfig(KEEP_RAW_BODY)
  @UseGuards(TwilioSignatureGuard)
  async attributes(@Body() body: unknown): Promise<RoutingAttributesAnswer> {
    const deadlineAt = Date.now() + this.config.routing.deadlineMs;
    const task = taskAttributesFrom(body);
    const decision = await this.routing.decideBy(this.routing.factsFor(lookupFromTaskAttributes(task)), task, deadlineAt);
    return { attributes: decision.attributes, matchedRules: decision.matchedRules };
  }
}
