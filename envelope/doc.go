// Package envelope is all of Strongroom's symmetric cryptography for data at
// rest: sealed envelopes for values kept in database fields, streams for files
// and other large blobs, and blind indexes for searching encrypted fields by
// equality. The keyring package decides which key to use; this package only
// uses the keys it is given. Together with keyring it is the only package that
// may import crypto/cipher or crypto/aes (a test at the module root enforces
// this), and it needs extra review (CONTRIBUTING.md).
//
// # Keys
//
// A [Key] is a 256-bit AES key with a 32-bit key id. Its bytes are unexported,
// it cannot be compared with == (comparing two Keys with == does not compile;
// use [Key.Equal], which runs in constant time), and printing it with any fmt
// verb, %v, %+v, %#v, %s, %x and %d included, shows only its id. An [IndexKey]
// is a separate 256-bit key for blind indexes with the same hygiene. The zero
// value of either type is "no key": every operation refuses it.
//
// # Envelope format, version 1
//
// [Seal] returns
//
//	version (1 byte, 0x01) ‖ key id (4 bytes, big-endian) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)
//
// where ciphertext ‖ tag is AES-256-GCM of the plaintext under the key named
// by the key id, and the associated data given to GCM is
//
//	lp("strongroom/envelope/v1") ‖ version ‖ key id ‖ lp(Tenant) ‖ lp(Table) ‖ lp(Row) ‖ lp(Field)
//
// with lp(x) = len(x) as 8 bytes big-endian ‖ x. The encoding is unambiguous,
// so no two different [AD] values (nor the associated data of another
// Strongroom construction) give the same bytes, and the header is
// authenticated as well as the place. An envelope is 33 bytes longer than its
// plaintext.
//
// Nonces are 96 random bits from crypto/rand for every envelope. With random
// nonces a key must not seal more than 2^32 messages (NIST SP 800-38D, 8.3):
// beyond that the chance of two envelopes sharing a nonce, which would reveal
// the XOR of their plaintexts and allow forgeries, exceeds 2^-32. Rotation by
// key id keeps each key well under that: each envelope names its key, a new
// key version seals every new value, and older versions stay to open older
// envelopes.
//
// To open an envelope, read its key id with [KeyID], fetch that key from the
// keyring, and call [Open]. Never try every key until one works: that is slow,
// and it hides a ciphertext moved from somewhere it should not have come from.
//
// Every way an envelope or a stream can fail to open — too short, an unknown
// version, another key id, another key, another place, a changed bit — gives
// the same error value, [ErrOpen], and no plaintext.
//
// # Streams, version 1
//
// Files are encrypted with [NewWriter] and decrypted with [NewReader] in
// constant memory, following the STREAM construction (Hoang, Reyhanitabar,
// Rogaway, Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
// Misuse-Resistance", 2015), as age and Tink do. A stream is
//
//	header = version (1 byte, 0x01) ‖ key id (4 bytes, big-endian) ‖ salt (32 random bytes)
//	stream = header ‖ segment 0 ‖ segment 1 ‖ … ‖ segment n-1
//
// The plaintext is cut into segments of 64 KiB; every segment but the last is
// exactly 64 KiB, the last holds 1 to 64 KiB, and an empty plaintext is one
// empty last segment. Segment i is AES-256-GCM of its plaintext (so 16 bytes
// longer) under a per-stream subkey, with the nonce
//
//	i (11 bytes, big-endian) ‖ 0x01 if this is the last segment, else 0x00
//
// and empty associated data. The subkey is
//
//	HKDF-SHA256(secret = key, salt = salt,
//	    info = lp("strongroom/envelope/stream/v1") ‖ version ‖ key id ‖ lp(Tenant) ‖ lp(Table) ‖ lp(Row) ‖ lp(Field))
//
// so the place of the stream, its header and its salt are bound into every
// segment: a stream moved to another row, a changed header, segments
// reordered, dropped, duplicated or appended, and a stream cut short at a
// segment boundary all fail with [ErrOpen]. Counter nonces under a fresh
// subkey per stream cannot repeat, so the 2^32 limit of envelopes does not
// apply to streams; two streams share a subkey only if they share a 256-bit
// salt, which is not expected before 2^128 streams per key. The reader returns a segment's plaintext only
// after its tag has been verified.
//
// # Blind indexes
//
// [IndexKey.Term] is HMAC-SHA256 under an index key of
//
//	lp("strongroom/envelope/index/v1") ‖ lp(part 1) ‖ … ‖ lp(part n)
//
// The index key is per tenant, and callers pass the collection and field as
// the first parts and the normalized value last, so equal values give equal
// terms only within one tenant, collection and field. docs/crypto.md says
// what an index reveals.
//
// # Evolution
//
// These formats are stored for years, so they change only by addition:
//
//   - Version 1 is frozen: its layout, labels, sizes and the encoding of the
//     associated data never change, and the known-answer vectors in
//     testdata/vectors.json keep passing unchanged.
//   - A new construction gets a new version byte (never a reuse of 0x01) and
//     a new label. Open and NewReader keep reading every version ever written;
//     Seal and NewWriter write only the newest.
//   - New associated-data fields need a new version; the encoding of an
//     existing version never grows optional fields.
//   - A change of index terms needs a new label and a rebuilt index, since
//     terms are compared, never decrypted.
package envelope
