/**
 * Manifests: who may sign a core, and the key derived from that (SPEC c.1–c.4).
 *
 * Version ≥ 1 layout (c.2):
 *
 * | field     | bytes                                                        |
 * |-----------|--------------------------------------------------------------|
 * | version   | uint                                                         |
 * | flags     | uint: bit0 allowPatch, bit1 prologue, bit2 linked, bit3 userData |
 * | hashType  | uint, 0 = blake2b                                            |
 * | quorum    | uint                                                         |
 * | signers   | uint count, then uint sigType (0 = ed25519), fixed32 namespace, fixed32 publicKey |
 * | prologue  | fixed32 hash, uint length (if bit1)                          |
 * | linked    | uint count, count × fixed32 (if bit2)                        |
 * | userData  | uint length, bytes (if bit3)                                 |
 *
 * Version 0 layout: `uint 0 || uint hashType || uint type` then type 0:
 * fixed32 prologue hash · type 1: one signer · type 2: uint flags (bit0
 * allowPatch), uint quorum, signers.
 *
 * @module
 */

import {
  array,
  buffer as bytesCodec,
  type Codec,
  decodeError,
  encode,
  fixed32,
  type State,
  uint,
} from "../encoding/compact.ts";
import { blake2b } from "../crypto/blake2b.ts";
import { equals } from "../crypto/bytes.ts";
import { DEFAULT_NAMESPACE, MANIFEST } from "../crypto/namespace.ts";
import { PigeonError } from "../errors.ts";

/** One key that may sign. */
export interface Signer {
  /** Signature scheme; only Ed25519 exists. */
  signature: "ed25519";
  /** 32-byte namespace the signer signs under (DEFAULT_NAMESPACE by default). */
  namespace: Uint8Array;
  /** 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
}

/** A prologue: a tree every signed length at or below `length` must equal. */
export interface Prologue {
  /** Tree hash at `length`. */
  hash: Uint8Array;
  /** Length the prologue covers. */
  length: number;
}

/** Who may sign a core (SPEC c.1). */
export interface Manifest {
  /** 0 (legacy), 1, or 2 (with linked/userData). */
  version: number;
  /** Tree hash function; only BLAKE2b exists. */
  hash: "blake2b";
  /** Whether signers may sign older lengths with patches. */
  allowPatch: boolean;
  /** How many distinct signers must sign. */
  quorum: number;
  /** The keys that may sign. */
  signers: Signer[];
  /** Fixed initial tree, or null. */
  prologue: Prologue | null;
  /** Keys of linked cores (version ≥ 2), or null. */
  linked: Uint8Array[] | null;
  /** Arbitrary bytes (version ≥ 2), or null. */
  userData: Uint8Array | null;
}

const FLAG_ALLOW_PATCH = 0b0001;
const FLAG_PROLOGUE = 0b0010;
const FLAG_LINKED = 0b0100;
const FLAG_USER_DATA = 0b1000;

const HASH_BLAKE2B = 0;
const SIGNATURE_ED25519 = 0;
/** Highest manifest version this codec accepts. */
export const MAX_MANIFEST_VERSION = 3;

const V0_PROLOGUE_ONLY = 0;
const V0_SINGLE_SIGNER = 1;
const V0_MULTI_SIGNER = 2;

const signerEncoding: Codec<Signer> = {
  preencode(s, signer) {
    uint.preencode(s, SIGNATURE_ED25519);
    fixed32.preencode(s, signer.namespace);
    fixed32.preencode(s, signer.publicKey);
  },
  encode(s, signer) {
    uint.encode(s, SIGNATURE_ED25519);
    fixed32.encode(s, signer.namespace);
    fixed32.encode(s, signer.publicKey);
  },
  decode(s) {
    const type = uint.decode(s);
    if (type !== SIGNATURE_ED25519) throw decodeError(`Unknown signature type ${type}`);
    return { signature: "ed25519", namespace: fixed32.decode(s), publicKey: fixed32.decode(s) };
  },
};

const signersEncoding = array(signerEncoding);
const linkedEncoding = array(fixed32);

function decodeHashType(s: State): "blake2b" {
  const type = uint.decode(s);
  if (type !== HASH_BLAKE2B) throw decodeError(`Unknown hash type ${type}`);
  return "blake2b";
}

function v0Type(m: Manifest): number {
  if (m.signers.length === 0) return V0_PROLOGUE_ONLY;
  if (m.signers.length === 1 && m.quorum === 1 && !m.allowPatch) return V0_SINGLE_SIGNER;
  return V0_MULTI_SIGNER;
}

function flagsOf(m: Manifest): number {
  return (m.allowPatch ? FLAG_ALLOW_PATCH : 0) | (m.prologue ? FLAG_PROLOGUE : 0) |
    (m.linked ? FLAG_LINKED : 0) | (m.userData ? FLAG_USER_DATA : 0);
}

function v0Walk(s: State, m: Manifest, write: boolean): void {
  const type = v0Type(m);
  const u = write ? uint.encode : uint.preencode;
  u(s, 0);
  u(s, HASH_BLAKE2B);
  u(s, type);
  if (type === V0_PROLOGUE_ONLY) {
    if (!m.prologue) {
      throw new PigeonError("BAD_ARGUMENT", "A v0 manifest without signers needs a prologue");
    }
    (write ? fixed32.encode : fixed32.preencode)(s, m.prologue.hash);
  } else if (type === V0_SINGLE_SIGNER) {
    (write ? signerEncoding.encode : signerEncoding.preencode)(s, m.signers[0]!);
  } else {
    u(s, m.allowPatch ? FLAG_ALLOW_PATCH : 0);
    u(s, m.quorum);
    (write ? signersEncoding.encode : signersEncoding.preencode)(s, m.signers);
  }
}

function v1Walk(s: State, m: Manifest, write: boolean): void {
  const u = write ? uint.encode : uint.preencode;
  u(s, m.version);
  u(s, flagsOf(m));
  u(s, HASH_BLAKE2B);
  u(s, m.quorum);
  (write ? signersEncoding.encode : signersEncoding.preencode)(s, m.signers);
  if (m.prologue) {
    (write ? fixed32.encode : fixed32.preencode)(s, m.prologue.hash);
    u(s, m.prologue.length);
  }
  if (m.linked) (write ? linkedEncoding.encode : linkedEncoding.preencode)(s, m.linked);
  if (m.userData) (write ? bytesCodec.encode : bytesCodec.preencode)(s, m.userData);
}

function walk(s: State, m: Manifest, write: boolean): void {
  if (m.version > MAX_MANIFEST_VERSION) {
    throw new PigeonError("BAD_ARGUMENT", `Unsupported manifest version ${m.version}`);
  }
  if (m.version === 0) v0Walk(s, m, write);
  else v1Walk(s, m, write);
}

function decodeV0(s: State): Manifest {
  const hash = decodeHashType(s);
  const type = uint.decode(s);
  const base = { version: 0, hash, linked: null, userData: null };
  if (type === V0_PROLOGUE_ONLY) {
    const prologue = { hash: fixed32.decode(s), length: 0 };
    return { ...base, allowPatch: false, quorum: 0, signers: [], prologue };
  }
  if (type === V0_SINGLE_SIGNER) {
    const signer = signerEncoding.decode(s);
    return { ...base, allowPatch: false, quorum: 1, signers: [signer], prologue: null };
  }
  if (type === V0_MULTI_SIGNER) {
    const flags = uint.decode(s);
    const quorum = uint.decode(s);
    const signers = signersEncoding.decode(s);
    return {
      ...base,
      allowPatch: (flags & FLAG_ALLOW_PATCH) !== 0,
      quorum,
      signers,
      prologue: null,
    };
  }
  throw decodeError(`Unknown v0 manifest type ${type}`);
}

/** Compact codec of a {@link Manifest}, all versions 0…3 (SPEC c.2). */
export const manifestEncoding: Codec<Manifest> = {
  preencode(s, m) {
    walk(s, m, false);
  },
  encode(s, m) {
    walk(s, m, true);
  },
  decode(s) {
    const version = uint.decode(s);
    if (version > MAX_MANIFEST_VERSION) throw decodeError(`Unknown manifest version ${version}`);
    if (version === 0) return decodeV0(s);
    const flags = uint.decode(s);
    const hash = decodeHashType(s);
    const quorum = uint.decode(s);
    const signers = signersEncoding.decode(s);
    const prologue = (flags & FLAG_PROLOGUE) !== 0
      ? { hash: fixed32.decode(s), length: uint.decode(s) }
      : null;
    const linked = (flags & FLAG_LINKED) !== 0 ? linkedEncoding.decode(s) : null;
    const userData = (flags & FLAG_USER_DATA) !== 0 ? bytesCodec.decode(s) : null;
    return {
      version,
      hash,
      allowPatch: (flags & FLAG_ALLOW_PATCH) !== 0,
      quorum,
      signers,
      prologue,
      linked,
      userData,
    };
  },
};

/**
 * The manifest Hypercore 11 makes for a single key pair: version 1, one
 * Ed25519 signer in the default namespace, quorum 1.
 */
export function defaultManifest(publicKey: Uint8Array): Manifest {
  return {
    version: 1,
    hash: "blake2b",
    allowPatch: false,
    quorum: 1,
    signers: [{ signature: "ed25519", namespace: DEFAULT_NAMESPACE, publicKey }],
    prologue: null,
    linked: null,
    userData: null,
  };
}

/** The compat manifest: the legacy single-signer form whose key is the public key. */
export function compatManifest(publicKey: Uint8Array): Manifest {
  return { ...defaultManifest(publicKey), version: 0 };
}

/** `B2b256(MANIFEST || encode(manifest))`: the core key of a non-compat core (SPEC c.3). */
export function manifestHash(manifest: Manifest): Uint8Array {
  return blake2b([MANIFEST, encode(manifestEncoding, manifest)], 32);
}

/** True iff `key` is the compat key of `manifest` (one signer whose public key is the key). */
export function isCompat(manifest: Manifest, key: Uint8Array): boolean {
  return manifest.signers.length === 1 && equals(manifest.signers[0]!.publicKey, key);
}

/** The key a core with this manifest has (SPEC c.3, c.4). */
export function coreKey(manifest: Manifest, compat: boolean): Uint8Array {
  if (!compat) return manifestHash(manifest);
  if (manifest.signers.length !== 1) {
    throw new PigeonError("BAD_ARGUMENT", "A compat core has exactly one signer");
  }
  return manifest.signers[0]!.publicKey;
}
