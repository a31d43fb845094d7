import { DomainError, ErrorCode, toErrorBody } from './errors';

const id = () => 'err-1';

describe('toErrorBody', () => {
  it('maps domain errors to their status', () => {
    expect(toErrorBody(new DomainError(ErrorCode.BAD_REQUEST, 'first must be small'), id)).toEqual({
      status: 400,
      code: 'BAD_REQUEST',
      message: 'first must be small',
    });
  });

  it('maps Fastify client errors', () => {
    expect(toErrorBody(Object.assign(new Error('Body is not valid JSON'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }), id)).toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
    });
    expect(toErrorBody(Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), id)).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
  });

  it('answers 503 when Redis is unreachable, so a webhook sender retries', () => {
    const outage = Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' });
    expect(toErrorBody(outage, id)).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    expect(toErrorBody(new Error('Command timed out'), id)).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
  });

  it('hides unknown errors behind an errorId', () => {
    expect(toErrorBody(new TypeError('secret internals'), id)).toEqual({ status: 500, code: 'INTERNAL', message: 'Internal error', errorId: 'err-1' });
  });
});
