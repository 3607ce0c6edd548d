// What an endpoint keeps in the KV bucket (key `webhook.<name>`): whether it is paused (410 Gone)
// and, while its consumer is being recreated, the stream sequence to restart from.
import type { KV } from '@nats-io/kv';
import { z } from 'zod';

export const webhookStateSchema = z.object({
  paused: z
    .object({
      at: z.string(),
      reason: z.string(),
      /** The URL that answered 410: a config with another URL resumes the endpoint. */
      url: z.string(),
      eventId: z.string().optional(),
    })
    .nullable()
    .default(null),
  /** First stream sequence of a consumer being recreated (survives a crash between delete and add). */
  resumeFrom: z.number().int().positive().optional(),
});
export type WebhookState = z.infer<typeof webhookStateSchema>;

export function webhookStateKey(name: string): string {
  return `webhook.${name}`;
}

export async function loadWebhookState(kv: KV, name: string): Promise<WebhookState> {
  const e = await kv.get(webhookStateKey(name));
  if (!e || e.value.length === 0) return { paused: null };
  const parsed = webhookStateSchema.safeParse(e.json());
  return parsed.success ? parsed.data : { paused: null };
}

export async function saveWebhookState(kv: KV, name: string, state: WebhookState): Promise<void> {
  await kv.put(webhookStateKey(name), JSON.stringify(state));
}

/** `sluice webhook resume`: clears a pause; a running endpoint notices within a second. */
export async function resumeWebhook(kv: KV, name: string): Promise<boolean> {
  const state = await loadWebhookState(kv, name);
  if (!state.paused) return false;
  await saveWebhookState(kv, name, { ...state, paused: null });
  return true;
}
