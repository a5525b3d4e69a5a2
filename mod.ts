/**
 * pigeon's library API: the few names a program needs to share, version and
 * sync data sets. The CLI (`cli.ts`) is built on the same modules.
 *
 * @example Parsing and printing a link
 * ```ts
 * import { formatLink, parseLink } from "./mod.ts";
 * const link = parseLink("hyper://iqi4zk7miqi4zk7miqi4zk7miqi4zk7miqi4zk7miqi4zk7miqio+3/readme.txt");
 * if (formatLink({ ...link, version: null }) !== "hyper://iqi4zk7miqi4zk7miqi4zk7miqi4zk7miqi4zk7miqi4zk7miqio/readme.txt") {
 *   throw new Error("unexpected");
 * }
 * ```
 *
 * @module
 */

export {
  type ErrorCode,
  isPigeonError,
  PigeonError,
  type PigeonErrorOptions,
} from "./lib/errors.ts";
export {
  decodeKey,
  encodeKey,
  hexDecode,
  hexEncode,
  KEY_BYTES,
  z32Decode,
  z32Encode,
} from "./lib/encoding/id.ts";
export {
  formatLink,
  type Link,
  LINK_SCHEME,
  type LinkParts,
  parseLink,
  parseLinkOrKey,
} from "./lib/encoding/link.ts";
export { Core, type CoreOptions, type CoreUpdate } from "./lib/core/core.ts";
export { FileStorage, type FileStorageOptions } from "./lib/core/file_storage.ts";
export { type CoreStorage, MemoryStorage, type RandomAccess } from "./lib/core/storage.ts";
export { defaultManifest, type Manifest, manifestHash } from "./lib/core/manifest.ts";
export type { Proof, ProofRequest } from "./lib/core/proof.ts";
export { type KeyPair, keyPair } from "./lib/crypto/ed25519.ts";
export { Replicator, type ReplicatorEvent, type ReplicatorOptions } from "./lib/wire/replicator.ts";
export { SecretStream, type SecretStreamOptions } from "./lib/wire/secret_stream.ts";
export { Session } from "./lib/wire/session.ts";
export { Swarm, type SwarmEvent, type SwarmOptions } from "./lib/net/swarm.ts";
export { Drive, type DriveEntry, DriveReader, type DriveStat } from "./lib/drive/drive.ts";
export { FolderDrive, type FolderDriveKind } from "./lib/drive/folder_drive.ts";
export { DriveReplication } from "./lib/net/drive_replication.ts";
