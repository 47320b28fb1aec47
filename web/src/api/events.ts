/**
 * The live events of the WebSocket /api/v1/ws, typed from the generated OpenAPI schema like the REST types.
 *
 * The server declares every channel pattern (`models/{model_id}/progress`), its events and the model of each
 * one's data; the schema's `WsChannels` maps pattern → event → payload. Nothing here restates a payload's fields
 * (regenerate with `npm run gen:api`), and the server's tests check every event it sends against the same schema,
 * so a message that matches a pattern and event is trusted to carry that payload.
 */
import type { components } from "./schema";

type Schemas = components["schemas"];

/** One message as it arrives: `{channel, event, data}`, its data unknown until matched against a channel. */
export type WsMessage = Schemas["WsMessage"];
export type WsChannels = Schemas["WsChannels"];
export type ChannelPattern = keyof WsChannels;
export type EventName<C extends ChannelPattern> = Extract<keyof WsChannels[C], string>;
/** The data of `event` on channels matching `C`, e.g. `EventData<"extractions/{extraction_id}", "progress">`. */
export type EventData<C extends ChannelPattern, E extends EventName<C>> = WsChannels[C][E];

/** A matched message: the ids its channel carries, and data narrowed by event (switch on `event`). */
export type ChannelEvent<C extends ChannelPattern, E extends EventName<C> = EventName<C>> = {
  [K in E]: { ids: Record<string, string>; event: K; data: EventData<C, K> };
}[E];

/** The data with its event name as `kind`, for state that keeps the latest event of several kinds. */
export type Tagged<C extends ChannelPattern, E extends EventName<C> = EventName<C>> = {
  [K in E]: { kind: K } & EventData<C, K>;
}[E];

const patterns = new Map<string, { regex: RegExp; names: string[] }>();

function compile(pattern: string): { regex: RegExp; names: string[] } {
  let compiled = patterns.get(pattern);
  if (!compiled) {
    const names: string[] = [];
    const escaped = pattern.split(/\{([a-z_]+)\}/).map((part, i) => {
      if (i % 2 === 1) {
        names.push(part);
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    });
    compiled = { regex: new RegExp(`^${escaped.join("")}$`), names };
    patterns.set(pattern, compiled);
  }
  return compiled;
}

/** The ids in `channel` when it matches `pattern` (`models/{model_id}/progress`, `models/m1/progress` → `{model_id: "m1"}`), else null. */
export function matchChannel(pattern: ChannelPattern, channel: string): Record<string, string> | null {
  const { regex, names } = compile(pattern);
  const match = regex.exec(channel);
  if (!match) return null;
  return Object.fromEntries(names.map((name, i) => [name, match[i + 1]!]));
}

/**
 * `msg` as an event of `pattern` when its channel matches and its event is one of `events` (those the caller
 * handles, checked against the schema when type-checking); null for anything else, or data that is no object.
 */
export function eventOn<C extends ChannelPattern, E extends EventName<C>>(
  pattern: C,
  events: readonly E[],
  msg: WsMessage,
): ChannelEvent<C, E> | null {
  if (!(events as readonly string[]).includes(msg.event)) return null;
  if (typeof msg.data !== "object" || msg.data === null || Array.isArray(msg.data)) return null;
  const ids = matchChannel(pattern, msg.channel);
  return ids && ({ ids, event: msg.event, data: msg.data } as ChannelEvent<C, E>);
}

/** The event's data with its name as `kind`. */
export function tagged<C extends ChannelPattern, E extends EventName<C>>(event: ChannelEvent<C, E>): Tagged<C, E> {
  // Event name and data are paired by `ChannelEvent`; spreading a union loses that pairing, hence the cast.
  return { kind: event.event, ...(event.data as object) } as Tagged<C, E>;
}
