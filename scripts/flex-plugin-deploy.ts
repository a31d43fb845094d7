import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Twilio } from 'twilio';
import { ConfigError, loadConfig } from '../src/config/config';
import { PLUGIN_FILE } from '../src/panel/flex-plugin-bundle';
import { startSandbox } from '../src/sandbox/sandbox';
import { sandboxConfig } from '../src/sandbox/sandbox-config';
import { createTwilioClient } from '../src/twilio/twilio-client';

/**
 * `npm run flex-plugin:deploy`: registers the Flex plugin that this service serves through the
 * Flex Plugins API (https://www.twilio.com/docs/flex/developer/plugins/api): Plugin →
 * PluginVersion (whose URL is the bundle at PUBLIC_BASE_URL) → Configuration (the active release's
 * plugins, with this version in place of any other of this plugin) → Release. Idempotent: what
 * exists is reused, and a release that already runs this version is left alone.
 * Without Twilio credentials it deploys to a sandbox, to show what it would do.
 */

const PLUGIN_DIR = join(__dirname, '../flex-plugin');

export interface DeployOptions {
  uniqueName: string;
  version: string;
  pluginUrl: string;
  friendlyName: string;
  description: string;
}

export interface DeployResult {
  pluginSid: string;
  pluginVersionSid: string;
  configurationSid: string;
  releaseSid: string;
  /** False when the active release already had this version: nothing was written. */
  released: boolean;
}

export class DeployError extends Error {
  override name = 'DeployError';
}

export async function deployFlexPlugin(client: Twilio, options: DeployOptions, log: (line: string) => void = () => undefined): Promise<DeployResult> {
  const service = client.flexApi.v1;

  const plugins = await service.plugins.list();
  let plugin = plugins.find((p) => p.uniqueName === options.uniqueName);
  if (plugin) log(`plugin ${options.uniqueName}: ${plugin.sid}`);
  else {
    plugin = await service.plugins.create({ uniqueName: options.uniqueName, friendlyName: options.friendlyName, description: options.description });
    log(`plugin ${options.uniqueName}: ${plugin.sid} (created)`);
  }

  // A version is immutable in Flex: the same number must point at the same bundle URL.
  const versions = await service.plugins(plugin.sid).pluginVersions.list();
  let version = versions.find((v) => v.version === options.version);
  if (version && version.pluginUrl !== options.pluginUrl) {
    throw new DeployError(
      `version ${options.version} is registered with ${version.pluginUrl}, not ${options.pluginUrl}: raise the version in flex-plugin/package.json`,
    );
  }
  if (version) log(`version ${options.version}: ${version.sid}`);
  else {
    version = await service.plugins(plugin.sid).pluginVersions.create({
      versionParam: options.version,
      pluginUrl: options.pluginUrl,
      private: false,
      changelog: `${options.uniqueName} ${options.version}`,
    });
    log(`version ${options.version}: ${version.sid} (created) ${options.pluginUrl}`);
  }

  // The active release is the newest; its configuration says which plugins Flex loads now.
  const releases = await service.pluginReleases.list();
  const active = releases.reduce<(typeof releases)[number] | undefined>((newest, r) => (!newest || r.dateCreated > newest.dateCreated ? r : newest), undefined);
  const running = active ? await service.pluginConfigurations(active.configurationSid).plugins.list() : [];
  if (active && running.some((p) => p.pluginVersionSid === version.sid)) {
    log(`already released: ${active.sid} (configuration ${active.configurationSid}); nothing to do`);
    return { pluginSid: plugin.sid, pluginVersionSid: version.sid, configurationSid: active.configurationSid, releaseSid: active.sid, released: false };
  }

  // Every other plugin stays as it runs now; this one's older version, if any, is replaced.
  const others = running.filter((p) => p.pluginSid !== plugin.sid);
  const configuration = await service.pluginConfigurations.create({
    name: `${options.uniqueName}@${options.version}`,
    description: `${options.uniqueName} ${options.version}${others.length > 0 ? ` with ${others.map((p) => `${p.uniqueName}@${p.version}`).join(', ')}` : ''}`,
    plugins: [...others.map((p) => ({ plugin_version: p.pluginVersionSid, phase: p.phase })), { plugin_version: version.sid, phase: 3 }],
  });
  log(`configuration: ${configuration.sid} (created)`);
  const release = await service.pluginReleases.create({ configurationId: configuration.sid });
  log(`released: ${release.sid}`);
  return { pluginSid: plugin.sid, pluginVersionSid: version.sid, configurationSid: configuration.sid, releaseSid: release.sid, released: true };
}

/** The plugin package's name and version, and where this service serves its bundle. */
export function deployOptions(publicBaseUrl: string): DeployOptions {
  const pkg = JSON.parse(readFileSync(join(PLUGIN_DIR, 'package.json'), 'utf8')) as { name: string; version: string; description?: string };
  return {
    uniqueName: pkg.name,
    version: pkg.version,
    pluginUrl: `${publicBaseUrl}/flex-plugin/${PLUGIN_FILE}`,
    friendlyName: 'Customer context',
    description: pkg.description ?? 'Customer context panel in the CRM container',
  };
}

async function main(): Promise<void> {
  let config = loadConfig(process.env);
  if (!existsSync(join(PLUGIN_DIR, 'dist', PLUGIN_FILE))) throw new DeployError('the plugin is not built: run npm run build:flex-plugin');
  const sandbox = config.twilio.configured ? undefined : await startSandbox({ customers: 0, quiet: true });
  try {
    if (sandbox) {
      config = sandboxConfig(config, sandbox);
      process.stdout.write(`no TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN: deploying to a sandbox (${sandbox.twilioUrl}), nothing reaches Twilio\n`);
    }
    const options = deployOptions(config.publicBaseUrl);
    const result = await deployFlexPlugin(createTwilioClient(config).client, options, (line) => process.stdout.write(`${line}\n`));
    process.stdout.write(`${result.released ? 'released' : 'unchanged'}: ${options.uniqueName}@${options.version} in release ${result.releaseSid}\n`);
  } finally {
    await sandbox?.close();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    const known = error instanceof ConfigError || error instanceof DeployError;
    process.stderr.write(`flex-plugin:deploy failed: ${known ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
    process.exit(error instanceof ConfigError ? 78 : 1);
  });
}
