import { Injectable, Logger } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import { AppConfig } from '../config/config';

/**
 * The one digest that stands for a customer's identifiers (phones, emails, addresses) wherever
 * they would otherwise be written: cache keys, audit lines, ACCESS_STRICT entries, delivery ids.
 * Keyed (HMAC-SHA256), because a plain hash of a phone number is reversed by hashing every phone
 * number. The key is IDENTIFIER_HASH_SECRET. Without it, a key derived from the Twilio auth token
 * (which every instance of a deployment shares, and which is never written anywhere); without
 * either, a random key for this process. Both fallbacks are logged as a warning.
 */
@Injectable()
export class IdentifierDigest {
  private readonly logger = new Logger(IdentifierDigest.name);
  private readonly key: Buffer;

  constructor(config: AppConfig) {
    const secret = config.identity.hashSecret;
    const authToken = config.twilio.authToken;
    if (secret) {
      this.key = Buffer.from(secret);
    } else if (authToken) {
      this.key = createHmac('sha256', authToken).update('customer-context identifier digest v1').digest();
      this.logger.warn(
        'IDENTIFIER_HASH_SECRET is not set: identifier digests use a key derived from TWILIO_AUTH_TOKEN, and change when it is rotated (cached resolutions are then fetched again, audit digests no longer match older lines). Set IDENTIFIER_HASH_SECRET, the same on every instance.',
      );
    } else {
      this.key = randomBytes(32);
      this.logger.warn(
        'IDENTIFIER_HASH_SECRET is not set: identifier digests use a random key for this process, so instances sharing Redis do not share identifier cache entries. Set IDENTIFIER_HASH_SECRET, the same on every instance.',
      );
    }
  }

  /** base64url, `length` characters (22 ≈ 132 bits). */
  of(value: string, length = 22): string {
    return createHmac('sha256', this.key).update(value).digest('base64url').slice(0, length);
  }
}
