import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { routeConfig } from './service-server';
import { twilioError, twilioPage, type PageRequest } from './twilio-wire';

/**
 * The Flex Plugins API (https://flex-api.twilio.com/v1/PluginService/...), as far as a deploy
 * needs it: Plugins, their Versions, Configurations with their Plugins, and Releases. Shapes,
 * parameters and status codes follow Twilio's OpenAPI document `twilio_flex_v1.json` (tags
 * FlexV1Plugin, FlexV1PluginVersions, FlexV1PluginConfiguration, FlexV1ConfiguredPlugin,
 * FlexV1PluginRelease) and https://www.twilio.com/docs/flex/developer/plugins/api. Where the
 * document is silent (a second plugin with the same UniqueName, a version already registered)
 * the sandbox takes the stricter reading and refuses with 409.
 */

export const FLEX_API_HOST = 'https://flex-api.twilio.com';
const BASE = `${FLEX_API_HOST}/v1/PluginService`;

interface Plugin {
  sid: string;
  account_sid: string;
  unique_name: string;
  friendly_name: string | null;
  description: string | null;
  archived: boolean;
  date_created: string;
  date_updated: string;
  url: string;
  links: { plugin_versions: string };
}

interface PluginVersion {
  sid: string;
  plugin_sid: string;
  account_sid: string;
  version: string;
  plugin_url: string;
  changelog: string | null;
  private: boolean;
  archived: boolean;
  validated: boolean;
  date_created: string;
  url: string;
}

interface Configuration {
  sid: string;
  account_sid: string;
  name: string;
  description: string | null;
  archived: boolean;
  date_created: string;
  url: string;
  links: { plugins: string };
}

interface Release {
  sid: string;
  account_sid: string;
  configuration_sid: string;
  date_created: string;
  url: string;
}

/** Form bodies with repeated keys (Configurations' `Plugins`) kept as arrays. */
type Form = Record<string, string | string[]>;

const sid = (prefix: string): string => prefix + randomBytes(16).toString('hex');
// Twilio's timestamps have whole seconds.
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const one = (form: Form, name: string): string | undefined => {
  const value = form[name];
  return Array.isArray(value) ? value[0] : value;
};
const conflict = (reply: FastifyReply, message: string) => reply.code(409).send(twilioError(409, message));
const badRequest = (reply: FastifyReply, message: string) => reply.code(400).send(twilioError(400, message));

/** The plugin service's state; one per sandbox. */
export class FlexPluginService {
  readonly plugins: Plugin[] = [];
  readonly versions: PluginVersion[] = [];
  readonly configurations: Array<Configuration & { entries: Array<{ versionSid: string; phase: number }> }> = [];
  readonly releases: Release[] = [];

  constructor(private readonly accountSid: string) {}

  /** Registers the routes in their own scope: its form parser keeps repeated keys. */
  register(app: FastifyInstance, pageRequest: (query: unknown, maxSize: number) => PageRequest): void {
    void app.register(async (scope) => {
      scope.removeContentTypeParser('application/x-www-form-urlencoded');
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
        const form: Form = {};
        for (const [key, value] of new URLSearchParams(body as string)) {
          const seen = form[key];
          form[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
        }
        done(null, form);
      });
      this.routes(scope, pageRequest);
    });
  }

  private routes(app: FastifyInstance, pageRequest: (query: unknown, maxSize: number) => PageRequest): void {
    const config = routeConfig('flex_plugin_service');
    const list = <T extends { sid: string }>(request: FastifyRequest, reply: FastifyReply, all: T[], url: string, key: string) => {
      const page = twilioPage(all, (item) => item.sid, { url, filters: [], key }, pageRequest(request.query, 50));
      if (!page) return badRequest(reply, 'Invalid PageToken');
      return { [key]: page.items, meta: page.meta };
    };
    const notFound = (reply: FastifyReply, path: string) => reply.code(404).send(twilioError(404, `The requested resource ${path} was not found`));

    // FlexV1Plugin: CreatePlugin (201), ListPlugin, FetchPlugin.
    app.post('/v1/PluginService/Plugins', config, async (request, reply) => {
      const form = (request.body ?? {}) as Form;
      const uniqueName = one(form, 'UniqueName');
      if (!uniqueName) return badRequest(reply, 'Missing required parameter UniqueName in the post body');
      if (this.plugins.some((p) => p.unique_name === uniqueName)) return conflict(reply, `A plugin with UniqueName ${uniqueName} already exists`);
      const pluginSid = sid('FP');
      const at = now();
      const plugin: Plugin = {
        sid: pluginSid,
        account_sid: this.accountSid,
        unique_name: uniqueName,
        friendly_name: one(form, 'FriendlyName') ?? null,
        description: one(form, 'Description') ?? null,
        archived: false,
        date_created: at,
        date_updated: at,
        url: `${BASE}/Plugins/${pluginSid}`,
        links: { plugin_versions: `${BASE}/Plugins/${pluginSid}/Versions` },
      };
      this.plugins.push(plugin);
      return reply.code(201).send(plugin);
    });
    app.get('/v1/PluginService/Plugins', config, async (request, reply) => list(request, reply, this.plugins, `${BASE}/Plugins`, 'plugins'));
    app.get<{ Params: { sid: string } }>('/v1/PluginService/Plugins/:sid', config, async (request, reply) => {
      return this.plugins.find((p) => p.sid === request.params.sid) ?? notFound(reply, request.url);
    });

    // FlexV1PluginVersions: CreatePluginVersion (201), ListPluginVersion.
    app.post<{ Params: { pluginSid: string } }>('/v1/PluginService/Plugins/:pluginSid/Versions', config, async (request, reply) => {
      const plugin = this.plugins.find((p) => p.sid === request.params.pluginSid);
      if (!plugin) return notFound(reply, request.url);
      const form = (request.body ?? {}) as Form;
      const version = one(form, 'Version');
      const pluginUrl = one(form, 'PluginUrl');
      if (!version) return badRequest(reply, 'Missing required parameter Version in the post body');
      if (!pluginUrl || !URL.canParse(pluginUrl)) return badRequest(reply, 'Missing or invalid required parameter PluginUrl in the post body');
      if (this.versions.some((v) => v.plugin_sid === plugin.sid && v.version === version))
        return conflict(reply, `Version ${version} of ${plugin.unique_name} already exists`);
      const versionSid = sid('FV');
      const created: PluginVersion = {
        sid: versionSid,
        plugin_sid: plugin.sid,
        account_sid: this.accountSid,
        version,
        plugin_url: pluginUrl,
        changelog: one(form, 'Changelog') ?? null,
        private: one(form, 'Private') === 'true',
        archived: false,
        validated: false,
        date_created: now(),
        url: `${BASE}/Plugins/${plugin.sid}/Versions/${versionSid}`,
      };
      this.versions.push(created);
      return reply.code(201).send(created);
    });
    app.get<{ Params: { pluginSid: string } }>('/v1/PluginService/Plugins/:pluginSid/Versions', config, async (request, reply) => {
      if (!this.plugins.some((p) => p.sid === request.params.pluginSid)) return notFound(reply, request.url);
      const versions = this.versions.filter((v) => v.plugin_sid === request.params.pluginSid);
      return list(request, reply, versions, `${BASE}/Plugins/${request.params.pluginSid}/Versions`, 'plugin_versions');
    });

    // FlexV1PluginConfiguration: CreatePluginConfiguration (201), with `Plugins` items as JSON
    // objects `{"plugin_version": "FV...", "phase": 3}` (the document's example); ListConfiguredPlugin.
    app.post('/v1/PluginService/Configurations', config, async (request, reply) => {
      const form = (request.body ?? {}) as Form;
      const name = one(form, 'Name');
      if (!name) return badRequest(reply, 'Missing required parameter Name in the post body');
      const raw = form.Plugins === undefined ? [] : Array.isArray(form.Plugins) ? form.Plugins : [form.Plugins];
      const entries: Array<{ versionSid: string; phase: number }> = [];
      for (const item of raw) {
        let parsed: { plugin_version?: unknown; phase?: unknown };
        try {
          parsed = JSON.parse(item) as typeof parsed;
        } catch {
          return badRequest(reply, 'Plugins must be JSON objects');
        }
        const version = this.versions.find((v) => v.sid === parsed.plugin_version);
        if (!version) return badRequest(reply, `Unknown plugin version ${String(parsed.plugin_version)}`);
        if (entries.some((e) => this.versions.find((v) => v.sid === e.versionSid)?.plugin_sid === version.plugin_sid))
          return badRequest(reply, 'A configuration holds one version of each plugin');
        entries.push({ versionSid: version.sid, phase: typeof parsed.phase === 'number' ? parsed.phase : 3 });
      }
      const configurationSid = sid('FJ');
      const created = {
        sid: configurationSid,
        account_sid: this.accountSid,
        name,
        description: one(form, 'Description') ?? null,
        archived: false,
        date_created: now(),
        url: `${BASE}/Configurations/${configurationSid}`,
        links: { plugins: `${BASE}/Configurations/${configurationSid}/Plugins` },
      };
      this.configurations.push({ ...created, entries });
      return reply.code(201).send(created);
    });
    app.get<{ Params: { configurationSid: string } }>('/v1/PluginService/Configurations/:configurationSid/Plugins', config, async (request, reply) => {
      const configuration = this.configurations.find((c) => c.sid === request.params.configurationSid);
      if (!configuration) return notFound(reply, request.url);
      const plugins = configuration.entries.map(({ versionSid, phase }) => {
        const version = this.versions.find((v) => v.sid === versionSid)!;
        const plugin = this.plugins.find((p) => p.sid === version.plugin_sid)!;
        return {
          sid: plugin.sid,
          account_sid: this.accountSid,
          configuration_sid: configuration.sid,
          plugin_sid: plugin.sid,
          plugin_version_sid: version.sid,
          phase,
          plugin_url: version.plugin_url,
          unique_name: plugin.unique_name,
          friendly_name: plugin.friendly_name,
          description: plugin.description,
          plugin_archived: plugin.archived,
          version: version.version,
          changelog: version.changelog,
          plugin_version_archived: version.archived,
          private: version.private,
          date_created: configuration.date_created,
          url: `${BASE}/Configurations/${configuration.sid}/Plugins/${plugin.sid}`,
        };
      });
      const page = list(request, reply, plugins, `${BASE}/Configurations/${configuration.sid}/Plugins`, 'plugins');
      // `sid` only keyed the page; the configured plugin resource has no such field.
      if (page && 'plugins' in page) page.plugins = (page.plugins as typeof plugins).map(({ sid: _sid, ...rest }) => rest) as typeof plugins;
      return page;
    });

    // FlexV1PluginRelease: CreatePluginRelease (201; ConfigurationId is the configuration's SID),
    // ListPluginRelease, newest first: the newest release is the active one.
    app.post('/v1/PluginService/Releases', config, async (request, reply) => {
      const configurationId = one((request.body ?? {}) as Form, 'ConfigurationId');
      if (!configurationId) return badRequest(reply, 'Missing required parameter ConfigurationId in the post body');
      const configuration = this.configurations.find((c) => c.sid === configurationId);
      if (!configuration) return badRequest(reply, `Unknown configuration ${configurationId}`);
      const releaseSid = sid('FK');
      const release: Release = {
        sid: releaseSid,
        account_sid: this.accountSid,
        configuration_sid: configuration.sid,
        date_created: now(),
        url: `${BASE}/Releases/${releaseSid}`,
      };
      this.releases.unshift(release);
      return reply.code(201).send(release);
    });
    app.get('/v1/PluginService/Releases', config, async (request, reply) => list(request, reply, this.releases, `${BASE}/Releases`, 'releases'));
  }
}
