import { Injectable } from '@nestjs/common';
import type { ReservationStatus } from 'twilio/lib/rest/taskrouter/v1/workspace/worker/reservation';
import { AppConfig } from '../config/config';
import { TwilioCalls } from '../twilio/twilio-calls';
import { isSid } from '../twilio/sids';

/** Port to the tasks a worker holds right now. */
export abstract class WorkerTasks {
  abstract activeTaskSids(workerSid: string): Promise<string[]>;
}

/** Offered (pending), accepted, and in wrap-up: an agent writing notes still needs the customer. */
const ACTIVE: readonly ReservationStatus[] = ['pending', 'accepted', 'wrapping'];
/** Far above what one worker holds at once (Flex caps concurrent tasks per channel). */
const MAX_RESERVATIONS = 50;

/** TaskRouter `GET /v1/Workspaces/{ws}/Workers/{WK}/Reservations?ReservationStatus=...`. */
@Injectable()
export class TwilioWorkerTasks extends WorkerTasks {
  constructor(
    private readonly config: AppConfig,
    private readonly twilio: TwilioCalls,
  ) {
    super();
  }

  async activeTaskSids(workerSid: string): Promise<string[]> {
    if (!isSid('worker', workerSid)) return [];
    const worker = this.twilio.client.taskrouter.v1.workspaces(this.config.twilio.workspaceSid).workers(workerSid);
    const lists = await Promise.all(
      ACTIVE.map((reservationStatus) =>
        // A worker TaskRouter does not know holds no task: refused as such, not as an outage.
        this.twilio.call('worker_reservations', () => worker.reservations.list({ reservationStatus, limit: MAX_RESERVATIONS }), { 404: [] }),
      ),
    );
    return [...new Set(lists.flat().map((reservation) => reservation.taskSid))];
  }
}
