import twilio, { type Twilio } from 'twilio';
import RequestClient from 'twilio/lib/base/RequestClient';
import { AppConfig } from '../config/config';
import { upstreamPolicy, type UpstreamPolicy } from '../upstream/upstream-policy';

/**
 * twilio-node's HTTP client with every `https://{product}.twilio.com` rewritten to
 * `TWILIO_API_BASE_URL` (path kept): how the service reaches the sandbox or a proxy.
 */
export class RebasingRequestClient extends RequestClient {
  constructor(
    private readonly baseUrl: string,
    options: RequestClient.RequestClientOptions,
  ) {
    super(options);
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request<TData>({ ...opts, uri: rebase(opts.uri, this.baseUrl) });
  }
}

export function rebase(uri: string, baseUrl: string): string {
  const url = new URL(uri);
  if (!/(^|\.)twilio\.com$/.test(url.hostname)) return uri;
  return `${baseUrl}${url.pathname}${url.search}`;
}

/** Injection token for the configured twilio-node client. */
export abstract class TwilioClient {
  abstract readonly client: Twilio;
}

export function createTwilioClient(config: AppConfig): TwilioClient {
  const options = { timeout: config.upstream.timeoutMs, keepAlive: true, autoRetry: false };
  const httpClient = config.twilio.apiBaseUrl ? new RebasingRequestClient(config.twilio.apiBaseUrl, options) : new RequestClient(options);
  return { client: twilio(config.twilio.accountSid, config.twilio.authToken, { httpClient, accountSid: config.twilio.accountSid }) };
}

/**
 * The resilience policy of every Twilio call. Calls that walk several pages get a longer timeout,
 * and a deadline longer by the same factor: the same room for a retry as a one-page call.
 */
export function twilioPolicy(config: AppConfig, timeoutFactor = 1): UpstreamPolicy {
  const { timeoutMs, deadlineMs, retries } = config.upstream;
  return upstreamPolicy({ source: 'twilio', timeoutMs: timeoutMs * timeoutFactor, deadlineMs: deadlineMs * timeoutFactor, retries });
}
