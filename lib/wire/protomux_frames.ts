/**
 * The frames of protomux (SPEC e): what one message of the underlying
 * stream carries. Pure codec; the channel logic is in `protomux.ts`.
 *
 * | frame   | bytes                                                                 |
 * |---------|-----------------------------------------------------------------------|
 * | message | uint channel (sender's local id, ≥ 1) · uint type · payload           |
 * | batch   | 00 00 · uint channel · { uint len · entry[len] }* ; len 0 → uint channel (switch) |
 * | open    | 00 01 · uint localId · string protocol · optionalBuffer id · handshake |
 * | reject  | 00 02 · uint remoteId (the opener's local id)                         |
 * | close   | 00 03 · uint localId (the sender's id of the channel)                 |
 *
 * A batch entry is `uint type · payload` for the current channel; on channel
 * 0 it is a control frame without its leading 00. Batches do not nest (the
 * reference never sends one inside another); a nested batch is a
 * PROTOCOL_ERROR so a hostile peer cannot recurse deeply.
 *
 * @module
 */

import {
  decodeError,
  optionalBuffer,
  type State,
  state,
  string,
  uint,
} from "../encoding/compact.ts";
import { PigeonError } from "../errors.ts";

/** Control frame types on channel 0. */
export const CONTROL_BATCH = 0;
/** @see CONTROL_BATCH */
export const CONTROL_OPEN = 1;
/** @see CONTROL_BATCH */
export const CONTROL_REJECT = 2;
/** @see CONTROL_BATCH */
export const CONTROL_CLOSE = 3;

/** A channel message. */
export interface MessageFrame {
  kind: "message";
  /** The sender's local id of the channel (≥ 1). */
  channel: number;
  /** Message index within the channel's protocol. */
  type: number;
  /** The encoded message (a view into the received bytes). */
  payload: Uint8Array;
}

/** Opens a channel. */
export interface OpenFrame {
  kind: "open";
  /** The sender's local id for the channel. */
  localId: number;
  protocol: string;
  id: Uint8Array | null;
  /** The handshake, still encoded with the channel's handshake codec. */
  handshake: Uint8Array;
}

/** Refuses an open. */
export interface RejectFrame {
  kind: "reject";
  /** The opener's local id. */
  remoteId: number;
}

/** Closes a channel. */
export interface CloseFrame {
  kind: "close";
  /** The sender's local id of the channel. */
  localId: number;
}

/** A control frame of a type this implementation does not know (ignored). */
export interface UnknownControlFrame {
  kind: "control";
  type: number;
  payload: Uint8Array;
}

/** Several frames in one message. */
export interface BatchFrame {
  kind: "batch";
  entries: BatchEntry[];
}

/** What a batch may hold. */
export type BatchEntry = MessageFrame | OpenFrame | RejectFrame | CloseFrame | UnknownControlFrame;

/** Any protomux frame. */
export type MuxFrame = BatchEntry | BatchFrame;

/**
 * Decodes one protomux frame.
 *
 * @throws {PigeonError} DECODE_ERROR on truncated fields, PROTOCOL_ERROR on a nested batch
 */
export function decodeMuxFrame(bytes: Uint8Array): MuxFrame {
  const s = state(bytes);
  const channel = uint.decode(s);
  const type = uint.decode(s);
  if (channel !== 0) return { kind: "message", channel, type, payload: rest(s) };
  if (type === CONTROL_BATCH) return decodeBatch(s);
  return decodeControl(type, s);
}

function rest(s: State): Uint8Array {
  const v = s.buffer.subarray(s.start, s.end);
  s.start = s.end;
  return v;
}

function decodeControl(type: number, s: State): BatchEntry {
  switch (type) {
    case CONTROL_OPEN: {
      const localId = uint.decode(s);
      const protocol = string.decode(s);
      const id = optionalBuffer.decode(s);
      return { kind: "open", localId, protocol, id, handshake: rest(s) };
    }
    case CONTROL_REJECT:
      return { kind: "reject", remoteId: uint.decode(s) };
    case CONTROL_CLOSE:
      return { kind: "close", localId: uint.decode(s) };
    case CONTROL_BATCH:
      throw new PigeonError("PROTOCOL_ERROR", "Protomux batch nested inside a batch");
    default:
      return { kind: "control", type, payload: rest(s) };
  }
}

function decodeBatch(s: State): BatchFrame {
  const end = s.end;
  const entries: BatchEntry[] = [];
  let channel = uint.decode(s);
  while (s.start < end) {
    const len = uint.decode(s);
    if (len === 0) {
      channel = uint.decode(s);
      continue;
    }
    if (end - s.start < len) throw decodeError(`Batch entry of ${len} bytes overruns the frame`);
    const entry = state(s.buffer, s.start, s.start + len);
    const type = uint.decode(entry);
    entries.push(
      channel === 0
        ? decodeControl(type, entry)
        : { kind: "message", channel, type, payload: rest(entry) },
    );
    s.start += len;
  }
  return { kind: "batch", entries };
}

/** Encodes a frame; the inverse of {@link decodeMuxFrame}. */
export function encodeMuxFrame(frame: MuxFrame): Uint8Array {
  const size = state();
  preencodeFrame(size, frame);
  const s = state(new Uint8Array(size.end));
  encodeFrameTo(s, frame);
  return s.buffer;
}

/** The channel (0 for control) and `type · payload` bytes of a batch entry. */
export function encodeEntry(entry: BatchEntry): { channel: number; bytes: Uint8Array } {
  const full = encodeMuxFrame(entry);
  // Strip the leading channel id: an entry is `type · payload`.
  const s = state(full);
  const channel = uint.decode(s);
  return { channel, bytes: full.subarray(s.start) };
}

function preencodeFrame(s: State, frame: MuxFrame): void {
  switch (frame.kind) {
    case "message":
      uint.preencode(s, frame.channel);
      uint.preencode(s, frame.type);
      s.end += frame.payload.byteLength;
      return;
    case "open":
      s.end += 2;
      uint.preencode(s, frame.localId);
      string.preencode(s, frame.protocol);
      optionalBuffer.preencode(s, frame.id);
      s.end += frame.handshake.byteLength;
      return;
    case "reject":
      s.end += 2;
      uint.preencode(s, frame.remoteId);
      return;
    case "close":
      s.end += 2;
      uint.preencode(s, frame.localId);
      return;
    case "control":
      s.end += 1;
      uint.preencode(s, frame.type);
      s.end += frame.payload.byteLength;
      return;
    case "batch":
      s.end += encodeBatchBody(frame.entries).byteLength + 2;
      return;
  }
}

function encodeFrameTo(s: State, frame: MuxFrame): void {
  const b = s.buffer;
  switch (frame.kind) {
    case "message":
      uint.encode(s, frame.channel);
      uint.encode(s, frame.type);
      b.set(frame.payload, s.start);
      s.start += frame.payload.byteLength;
      return;
    case "open":
      b[s.start++] = 0;
      b[s.start++] = CONTROL_OPEN;
      uint.encode(s, frame.localId);
      string.encode(s, frame.protocol);
      optionalBuffer.encode(s, frame.id);
      b.set(frame.handshake, s.start);
      s.start += frame.handshake.byteLength;
      return;
    case "reject":
      b[s.start++] = 0;
      b[s.start++] = CONTROL_REJECT;
      uint.encode(s, frame.remoteId);
      return;
    case "close":
      b[s.start++] = 0;
      b[s.start++] = CONTROL_CLOSE;
      uint.encode(s, frame.localId);
      return;
    case "control":
      b[s.start++] = 0;
      uint.encode(s, frame.type);
      b.set(frame.payload, s.start);
      s.start += frame.payload.byteLength;
      return;
    case "batch": {
      b[s.start++] = 0;
      b[s.start++] = CONTROL_BATCH;
      const body = encodeBatchBody(frame.entries);
      b.set(body, s.start);
      s.start += body.byteLength;
      return;
    }
  }
}

/**
 * The bytes of a batch after `00 00` from already-encoded entries
 * (`channel`, `type · payload`), switching channel only when it changes.
 */
export function encodeBatchEntries(
  entries: readonly { channel: number; bytes: Uint8Array }[],
): Uint8Array {
  const size = state();
  size.end += 2;
  let current = -1;
  for (const e of entries) {
    if (e.channel !== current) {
      if (current !== -1) size.end += 1;
      uint.preencode(size, e.channel);
      current = e.channel;
    }
    uint.preencode(size, e.bytes.byteLength);
    size.end += e.bytes.byteLength;
  }
  const s = state(new Uint8Array(size.end));
  s.buffer[s.start++] = 0;
  s.buffer[s.start++] = CONTROL_BATCH;
  current = -1;
  for (const e of entries) {
    if (e.channel !== current) {
      if (current !== -1) s.buffer[s.start++] = 0;
      uint.encode(s, e.channel);
      current = e.channel;
    }
    uint.encode(s, e.bytes.byteLength);
    s.buffer.set(e.bytes, s.start);
    s.start += e.bytes.byteLength;
  }
  return s.buffer;
}

function encodeBatchBody(entries: readonly BatchEntry[]): Uint8Array {
  return encodeBatchEntries(entries.map(encodeEntry)).subarray(2);
}
