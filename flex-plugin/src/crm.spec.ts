import { panelUrl } from './crm';
import { readSettings } from './settings';

describe(panelUrl.name, () => {
  it("points at the service's panel for the task's sid", () => {
    expect(panelUrl('https://context.example.com', { taskSid: 'WT0123456789abcdef0123456789abcdef' })).toBe(
      'https://context.example.com/panel?taskSid=WT0123456789abcdef0123456789abcdef',
    );
    expect(panelUrl('https://example.com/context', { taskSid: 'WT1&x=2' })).toBe('https://example.com/context/panel?taskSid=WT1%26x%3D2');
  });

  it("without a task, the panel's own placeholder", () => {
    expect(panelUrl('https://context.example.com', undefined)).toBe('https://context.example.com/panel');
    expect(panelUrl('https://context.example.com', {})).toBe('https://context.example.com/panel');
  });
});

describe(readSettings.name, () => {
  it("takes the service URL from Flex's UI attributes before the build default", () => {
    expect(readSettings({ customerContext: { serviceUrl: 'https://context.example.com/' } }, 'https://built.example.com')).toEqual({
      ok: true,
      serviceUrl: 'https://context.example.com',
      panelOrigin: 'https://context.example.com',
    });
    expect(readSettings({ customerContext: { serviceUrl: 'https://example.com/context/' } }, '')).toMatchObject({
      serviceUrl: 'https://example.com/context',
      panelOrigin: 'https://example.com',
    });
    expect(readSettings({}, 'https://built.example.com')).toMatchObject({ ok: true, serviceUrl: 'https://built.example.com' });
    expect(readSettings(undefined, 'https://built.example.com')).toMatchObject({ ok: true, serviceUrl: 'https://built.example.com' });
  });

  it('says what is missing or wrong instead of guessing', () => {
    expect(readSettings({}, '')).toEqual({ ok: false, problem: expect.stringContaining('ui_attributes.customerContext.serviceUrl') });
    expect(readSettings({ customerContext: { serviceUrl: 'context.example.com' } }, '')).toEqual({ ok: false, problem: expect.stringContaining('not a URL') });
    expect(readSettings({ customerContext: { serviceUrl: 'javascript:alert(1)' } }, '')).toEqual({
      ok: false,
      problem: expect.stringContaining('must be https'),
    });
  });
});
