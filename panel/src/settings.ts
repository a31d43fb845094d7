/** What the service tells the page about itself, in a meta tag (the CSP allows no inline script). */
export interface PanelSettings {
  /** Origins allowed to hand the panel a Flex token by postMessage (CORS_ORIGINS). */
  parentOrigins: string[];
  /** AUTH_MODE=dev only: a `#token=` fragment may carry the token. */
  fragmentToken: boolean;
}

const DEFAULTS: PanelSettings = { parentOrigins: ['https://flex.twilio.com'], fragmentToken: false };

export function readSettings(doc: Document): PanelSettings {
  const content = doc.querySelector<HTMLMetaElement>('meta[name="customer-context-panel"]')?.content;
  if (!content) return DEFAULTS;
  try {
    const parsed = JSON.parse(content) as Partial<PanelSettings>;
    return {
      parentOrigins: Array.isArray(parsed.parentOrigins) ? parsed.parentOrigins.filter((o) => typeof o === 'string') : DEFAULTS.parentOrigins,
      fragmentToken: parsed.fragmentToken === true,
    };
  } catch {
    return DEFAULTS;
  }
}
