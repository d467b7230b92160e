// Package auditlog is the tamper-evident construction of Strongroom's audit log
// (LOG-02): the canonical encoding of an audit event, the per-tenant hash chain
// over those encodings, verification of a stored chain, and signed checkpoints
// of chain heads. It is pure logic: it knows nothing of SQL, files or keys'
// storage (package audit runs it over the store; the keyring holds the signing
// key). It needs extra review (CONTRIBUTING.md). docs/audit-log.md explains the
// threat model and what verification proves.
//
// # Event encoding, version 1
//
// An event is encoded as
//
//	version (1 byte, 0x01) ‖ field ‖ field ‖ …
//	field = tag (1 byte) ‖ length (4 bytes, big-endian) ‖ value (length bytes)
//
// Fields appear in strictly ascending tag order, each at most once. Tags 1–3
// (tenant, seq, time) are always present; every other field is present exactly
// when its value is not empty, so that an event has one encoding only. Strings
// are their bytes as stored, without normalization; seq is 8 bytes big-endian;
// time is the signed count of microseconds since the Unix epoch, 8 bytes
// big-endian two's complement; metadata is the exact bytes of the stored JSON.
// See [Tag] for the tags. [AppendEvent] encodes; [DecodeEvent] decodes and
// refuses everything that is not the one canonical encoding.
//
// # Chain
//
// Each tenant has one chain: its events in seq order. Seqs are one sequence for
// all tenants, so a tenant's seqs are increasing but not contiguous. With
//
//	genesis(tenant) = SHA-256("strongroom/auditlog/genesis/v1" ‖ 0x00 ‖ tenant)
//	h(e_i)          = SHA-256("strongroom/auditlog/event/v1" ‖ 0x00 ‖ h(e_{i-1}) ‖ enc(e_i))
//
// where h(e_0) is the genesis value, the seal of an event is h(e_i), and the head
// of a chain is the seal of its last sealed event. Every element but the last
// has a fixed size (the labels are constants, hashes are 32 bytes), so the input
// is unambiguous. A seal commits to the event, to every event before it, to
// their order, and to the tenant.
//
// # Checkpoints, version 1
//
// A checkpoint says, under the platform's Ed25519 key, that a tenant's chain had
// a given head at a given seq. [Checkpoint.Sign] signs
//
//	"strongroom/auditlog/checkpoint/v1" ‖ 0x00 ‖ body
//	body = version (0x01) ‖ lp(tenant) ‖ seq (8 bytes) ‖ head (32 bytes) ‖ time (8 bytes, µs) ‖ lp(key id)
//
// with lp(x) = len(x) as 4 bytes big-endian ‖ x, and [Checkpoint.MarshalBinary]
// is body ‖ lp(signature). The key id is [KeyID] of the public key.
//
// # Evolution
//
// Stored chains are verified for as long as they are kept, so these formats
// change only by addition, as Tailscale's tka.AUM does:
//
//   - Tags are never renumbered, reused or given a new meaning or encoding, and
//     the Go names of the fields may change but their tags may not.
//   - A new field gets the next unused tag and is optional: an event without it
//     encodes exactly as before, so every stored seal stays valid, and a reader
//     treats its absence as "unknown". A decoder that meets a tag it does not
//     know keeps it (see [Field]) so that the bytes still hash the same.
//   - The labels, the genesis value and the checkpoint body of version 1 are
//     frozen; the known-answer vectors in testdata/vectors.json keep passing
//     unchanged. A change to any of them needs a new version byte and a new
//     label; verifiers keep accepting every version ever written.
package auditlog
