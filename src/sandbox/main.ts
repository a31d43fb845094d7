import { intelligenceDemo } from './intelligence.server';
import { interactionsDemo } from './interactions.server';
import { startSandbox } from './sandbox';

/**
 * Runs a sandbox on its own, for benchmarks that keep it out of the measured process:
 * prints `{segmentUrl, trackingUrl, twilioUrl, credentials, copilotInteractionSid}` as one JSON line on stdout and
 * serves until SIGTERM/SIGINT. Env: SANDBOX_CUSTOMERS (default 50), SANDBOX_SEED (default 42).
 */

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`${name} must be an integer >= ${min}, got '${raw}'\n`);
    process.exit(78);
  }
  return value;
}

async function main(): Promise<void> {
  const sandbox = await startSandbox({
    customers: intFromEnv('SANDBOX_CUSTOMERS', 50, 0),
    seed: intFromEnv('SANDBOX_SEED', 42, Number.MIN_SAFE_INTEGER),
    quiet: true,
  });
  const { segmentUrl, trackingUrl, twilioUrl, credentials } = sandbox;
  // The Flex Interaction a rehearsed Agent Copilot note can name (docs/setup-twilio.md).
  const world = { accountSid: credentials.accountSid };
  const copilotInteractionSid = interactionsDemo(sandbox.data, world, intelligenceDemo(sandbox.data, world, 0)?.customer ?? null)[0]?.sid ?? null;
  process.stdout.write(`${JSON.stringify({ segmentUrl, trackingUrl, twilioUrl, credentials, copilotInteractionSid })}\n`);
  const stop = (): void => {
    void sandbox.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main().catch((error: unknown) => {
  process.stderr.write(`sandbox failed to start: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
