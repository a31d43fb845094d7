import 'reflect-metadata';
import { ConfigError, loadConfig, type AppConfig } from './config/config';
import type { Sandbox } from './sandbox/sandbox';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  // Loaded once the configuration is known good, so a refusal is immediate.
  const [{ Logger }, { createApp }, { startSandbox }, { sandboxConfig }] = await Promise.all([
    import('@nestjs/common'),
    import('./app'),
    import('./sandbox/sandbox'),
    import('./sandbox/sandbox-config'),
  ]);
  const logger = new Logger('Main');
  // A stray rejection inside a library (a Redis client failing a SUBSCRIBE while Redis is down)
  // must not take down a service agents are waiting on: log it and keep serving.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  let sandbox: Sandbox | undefined;
  if (config.sandbox) {
    sandbox = await startSandbox({ ...config.sandboxOptions, phoneIdType: config.segment.phoneIdType, quiet: true });
    config = sandboxConfig(config, sandbox);
  }
  const app = await createApp(config);
  if (sandbox) {
    const running = sandbox;
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onClose', async () => running.close());
  }
  await app.listen(config.port, config.host);
  const url = await app.getUrl();
  logger.log(`customer-context listening on ${url}`);
  if (sandbox) {
    const vip = sandbox.data.byArchetype('vip');
    logger.warn(
      `running on the SANDBOX: no Segment or Twilio credential is set, so every answer is demo data (AUTH_MODE=${config.auth.mode}); /readyz says mode "sandbox"`,
    );
    logger.log(`demo VIP customer: phone ${vip.phone}, Segment userId ${vip.userId}`);
    logger.log(
      `try: curl -s ${url}/graphql -H 'content-type: application/json' -H 'authorization: Bearer ${sandbox.credentials.agentToken}' -d '{"query":"{ customerContext(lookup: {phone: \\"${vip.phone}\\"}) { profileId traits audiences signals { repeatContact24h openConversations } } }"}'`,
    );
    // The fragment never reaches the server; the panel accepts a token there only in dev mode.
    if (config.auth.mode === 'dev') logger.log(`agent panel: ${url}/panel?phone=${encodeURIComponent(vip.phone!)}#token=${sandbox.credentials.agentToken}`);
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
