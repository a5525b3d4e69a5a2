/**
 * Signing and verifying tree hashes against a manifest (SPEC c.5).
 *
 * Signature container for manifest version ≥ 1 (always, even one signer):
 *
 * | field  | bytes                                                  |
 * |--------|--------------------------------------------------------|
 * | proofs | uint count, then uint signer, fixed64 signature, uint patch |
 * | patch  | uint count, then tree nodes (uint index, uint size, fixed32 hash) |
 *
 * One signer gives `01 00 <64-byte signature> 00 00` (68 bytes). Compat and
 * version-0 single-signer cores use the raw 64-byte signature.
 *
 * @module
 */

import { array, type Codec, decode, encode, fixed64, uint } from "../encoding/compact.ts";
import { sign, signAsync, SIGNATURE_BYTES, verify } from "../crypto/ed25519.ts";
import { type TreeNode, treeNode } from "../tree/node.ts";
import { PigeonError } from "../errors.ts";
import { compatTreeSignable, treeSignable } from "./caps.ts";
import { type Manifest, manifestHash } from "./manifest.ts";

/** One signer's signature inside a multisig container. */
export interface SignerProof {
  /** Index of the signer in the manifest. */
  signer: number;
  /** 64-byte Ed25519 signature. */
  signature: Uint8Array;
  /** > 0 when the signer signed an older length (needs allowPatch). */
  patch: number;
}

/** The multisig container of manifest version ≥ 1. */
export interface MultiSignature {
  /** Signatures, one per signing signer. */
  proofs: SignerProof[];
  /** Nodes that let a verifier rebuild older trees for patched proofs. */
  patch: TreeNode[];
}

const signerProofEncoding: Codec<SignerProof> = {
  preencode(s, p) {
    uint.preencode(s, p.signer);
    fixed64.preencode(s, p.signature);
    uint.preencode(s, p.patch);
  },
  encode(s, p) {
    uint.encode(s, p.signer);
    fixed64.encode(s, p.signature);
    uint.encode(s, p.patch);
  },
  decode(s) {
    return { signer: uint.decode(s), signature: fixed64.decode(s), patch: uint.decode(s) };
  },
};

const proofsEncoding = array(signerProofEncoding);
const patchEncoding = array(treeNode);

/** Codec of the v ≥ 1 multisig container. */
export const multiSignatureEncoding: Codec<MultiSignature> = {
  preencode(s, m) {
    proofsEncoding.preencode(s, m.proofs);
    patchEncoding.preencode(s, m.patch);
  },
  encode(s, m) {
    proofsEncoding.encode(s, m.proofs);
    patchEncoding.encode(s, m.patch);
  },
  decode(s) {
    return { proofs: proofsEncoding.decode(s), patch: patchEncoding.decode(s) };
  },
};

/** How a core's signatures are laid out: derived once from manifest and key. */
export class Verifier {
  readonly #manifest: Manifest;
  readonly #compat: boolean;
  readonly #manifestHash: Uint8Array;

  /** A verifier for `manifest`; `compat` when the core key is the signer's public key. */
  constructor(manifest: Manifest, compat: boolean) {
    this.#manifest = manifest;
    this.#compat = compat;
    this.#manifestHash = manifestHash(manifest);
    if (manifest.version === 0 && (manifest.signers.length !== 1 || manifest.quorum !== 1)) {
      throw new PigeonError(
        "BAD_ARGUMENT",
        "Version-0 manifests with several signers are not supported",
      );
    }
  }

  /** The manifest this verifier checks against. */
  get manifest(): Manifest {
    return this.#manifest;
  }

  /** True when signatures are raw 64 bytes (compat or legacy single signer). */
  get rawSignatures(): boolean {
    return this.#compat || this.#manifest.version === 0;
  }

  #signable(signerIndex: number, treeHash: Uint8Array, length: number, fork: number): Uint8Array {
    if (this.#compat) return compatTreeSignable(treeHash, length, fork);
    const bound = this.#manifest.version === 0
      ? this.#manifest.signers[signerIndex]!.namespace
      : this.#manifestHash;
    return treeSignable(bound, treeHash, length, fork);
  }

  /**
   * Signs a tree with the one signer whose public key matches `publicKey`;
   * returns the container as stored and sent (`upgrade.signature`).
   */
  sign(
    keyPair: { publicKey: Uint8Array; secretKey: Uint8Array },
    treeHash: Uint8Array,
    length: number,
    fork: number,
  ): Uint8Array {
    const signerIndex = this.#signerIndex(keyPair.publicKey);
    const signable = this.#signable(signerIndex, treeHash, length, fork);
    return this.#container(signerIndex, sign(signable, keyPair.secretKey));
  }

  /** {@link sign} on the fastest available Ed25519 (native WebCrypto by default). */
  async signAsync(
    keyPair: { publicKey: Uint8Array; secretKey: Uint8Array },
    treeHash: Uint8Array,
    length: number,
    fork: number,
  ): Promise<Uint8Array> {
    const signerIndex = this.#signerIndex(keyPair.publicKey);
    const signable = this.#signable(signerIndex, treeHash, length, fork);
    return this.#container(signerIndex, await signAsync(signable, keyPair.secretKey));
  }

  #signerIndex(publicKey: Uint8Array): number {
    const signerIndex = this.#manifest.signers.findIndex((s) =>
      s.publicKey.every((b, i) => b === publicKey[i])
    );
    if (signerIndex < 0) {
      throw new PigeonError("NOT_WRITABLE", "Key pair is not a signer of this core");
    }
    if (this.#manifest.quorum > 1) {
      throw new PigeonError("NOT_WRITABLE", "Cores needing several signers cannot be signed alone");
    }
    return signerIndex;
  }

  #container(signerIndex: number, signature: Uint8Array): Uint8Array {
    if (this.rawSignatures) return signature;
    return encode(multiSignatureEncoding, {
      proofs: [{ signer: signerIndex, signature, patch: 0 }],
      patch: [],
    });
  }

  /** True iff `signature` (a container as sent) signs `treeHash` at `length` and `fork`. */
  verify(signature: Uint8Array, treeHash: Uint8Array, length: number, fork: number): boolean {
    const prologue = this.#manifest.prologue;
    if (prologue && length <= prologue.length) {
      return length === prologue.length && treeHash.every((b, i) => b === prologue.hash[i]);
    }
    if (this.rawSignatures) {
      if (signature.byteLength !== SIGNATURE_BYTES) return false;
      const signer = this.#manifest.signers[0]!;
      return verify(this.#signable(0, treeHash, length, fork), signature, signer.publicKey);
    }
    let container: MultiSignature;
    try {
      container = decode(multiSignatureEncoding, signature);
    } catch {
      return false;
    }
    const seen = new Set<number>();
    let valid = 0;
    for (const proof of container.proofs) {
      const signer = this.#manifest.signers[proof.signer];
      // Patched proofs sign an older tree; the reference only writes them with allowPatch.
      if (!signer || proof.patch !== 0 || seen.has(proof.signer)) continue;
      const message = this.#signable(proof.signer, treeHash, length, fork);
      if (!verify(message, proof.signature, signer.publicKey)) continue;
      seen.add(proof.signer);
      valid++;
    }
    return valid >= this.#manifest.quorum && valid > 0;
  }
}
