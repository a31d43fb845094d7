import type { AppConfig } from '../config/config';
import type { Sandbox } from './sandbox';

/** Points every upstream that has no credentials at the sandbox; configured ones stay as they are. */
export function sandboxConfig(config: AppConfig, sandbox: Sandbox): AppConfig {
  const { credentials } = sandbox;
  const segment = config.segment.configured
    ? config.segment
    : { ...config.segment, spaceId: credentials.spaceId, accessToken: credentials.accessToken, profileApiUrl: sandbox.segmentUrl };
  const tracking = config.segment.writeKey ? {} : { writeKey: credentials.writeKey, trackingHost: sandbox.trackingUrl };
  const twilio = config.twilio.configured
    ? config.twilio
    : {
        ...config.twilio,
        accountSid: credentials.accountSid,
        authToken: credentials.authToken,
        workspaceSid: credentials.workspaceSid,
        apiBaseUrl: sandbox.twilioUrl,
      };
  return { ...config, segment: { ...segment, ...tracking }, twilio };
}
