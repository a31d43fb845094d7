import { DomainError } from '../common/errors';
import { taskAttributesFrom } from './task-attributes-input';

describe('taskAttributesFrom', () => {
  it('takes a JSON object as the attributes', () => {
    expect(taskAttributesFrom({ from: '+15555550100', channelType: 'sms' })).toEqual({ from: '+15555550100', channelType: 'sms' });
  });

  it('reads TaskAttributes as a JSON string, as TaskRouter events carry it', () => {
    expect(taskAttributesFrom({ TaskAttributes: '{"from":"+15555550100"}', TaskSid: 'WT1' })).toEqual({ from: '+15555550100' });
  });

  it('reads TaskAttributes given as an object', () => {
    expect(taskAttributesFrom({ TaskAttributes: { email: 'a@example.com' } })).toEqual({ email: 'a@example.com' });
  });

  it('reads flat form fields, which arrive without a prototype', () => {
    const form = Object.assign(Object.create(null) as Record<string, unknown>, { from: 'whatsapp:+34600000002', tag: ['a', 'b'] });
    const attributes = taskAttributesFrom(form);
    expect(attributes).toEqual({ from: 'whatsapp:+34600000002', tag: ['a', 'b'] });
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
  });

  it.each(['{not json', '[1,2]', '"text"', 'null', ''])('reads a malformed TaskAttributes %p as no attributes', (text) => {
    expect(taskAttributesFrom({ TaskAttributes: text })).toEqual({});
  });

  it('reads no body as no attributes', () => {
    expect(taskAttributesFrom(undefined)).toEqual({});
  });

  it.each([[[1, 2]], ['text'], [42]])('refuses %p: not task-like', (body) => {
    expect(() => taskAttributesFrom(body)).toThrow(DomainError);
  });
});
