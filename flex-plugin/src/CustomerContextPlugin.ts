import { FlexPlugin } from '@twilio/flex-plugin';
import type * as Flex from '@twilio/flex-ui';
import { createElement } from 'react';
import { CustomerContextBadge, NotConfigured } from './badge';
import { panelUrl } from './crm';
import { readSettings } from './settings';
import { relayToken } from './token-relay';

/** Set by the build from FLEX_PLUGIN_SERVICE_URL; absent (empty) when the sources run unbuilt, as in tests. */
declare const __CUSTOMER_CONTEXT_SERVICE_URL__: string | undefined;
const BUILD_SERVICE_URL = typeof __CUSTOMER_CONTEXT_SERVICE_URL__ === 'string' ? __CUSTOMER_CONTEXT_SERVICE_URL__ : '';

/** The part of Flex's manager the plugin uses. */
export type PluginManager = Pick<Flex.Manager, 'events' | 'serviceConfiguration' | 'user'>;

/** The customer context panel in the CRM container, its token handed over and kept fresh, and a badge on the task. */
export default class CustomerContextPlugin extends FlexPlugin {
  constructor() {
    super('CustomerContextPlugin');
  }

  init(flex: typeof Flex, manager: PluginManager): void {
    const settings = readSettings(manager.serviceConfiguration?.ui_attributes, BUILD_SERVICE_URL);
    if (settings.ok) {
      flex.CRMContainer.defaultProps.uriCallback = (task) => panelUrl(settings.serviceUrl, task);
      const relay = relayToken(window, settings.panelOrigin, () => manager.user?.token);
      manager.events.addListener('tokenUpdated', (payload: { token?: string }) => {
        if (payload?.token) relay.renewed(payload.token);
      });
    } else {
      flex.CRMContainer.Content.replace(createElement(NotConfigured, { key: 'customer-context-not-configured', problem: settings.problem }));
    }
    flex.TaskCanvasHeader.Content.add(createElement(CustomerContextBadge, { key: 'customer-context-badge' }), { sortOrder: 1 });
  }
}
