/**
 * Where the service is: Flex's UI attributes (`ui_attributes.customerContext.serviceUrl`, set
 * through Flex's Configuration API, so no rebuild is needed to move the service), else the URL
 * the bundle was built with (FLEX_PLUGIN_SERVICE_URL), else nothing, and the container says so.
 */
export type ServiceSettings = { ok: true; serviceUrl: string; panelOrigin: string } | { ok: false; problem: string };

export function readSettings(uiAttributes: unknown, buildDefault: string): ServiceSettings {
  const configured = (uiAttributes as { customerContext?: { serviceUrl?: unknown } } | null | undefined)?.customerContext?.serviceUrl;
  const source = typeof configured === 'string' && configured.trim() !== '' ? 'ui_attributes.customerContext.serviceUrl' : 'the build default';
  const raw = source === 'the build default' ? buildDefault.trim() : (configured as string).trim();
  if (raw === '') {
    return { ok: false, problem: 'The customer context service is not configured: set ui_attributes.customerContext.serviceUrl in Flex.' };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: `The customer context service URL from ${source} is not a URL: ${raw}` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, problem: `The customer context service URL from ${source} must be https: ${raw}` };
  }
  // The panel lives at <service>/panel; a path prefix (a proxy mounting the service) is kept.
  const serviceUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  return { ok: true, serviceUrl, panelOrigin: url.origin };
}
