package envelope

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// TermSize is the size in bytes of a blind-index term.
const TermSize = sha256.Size

// Term returns the 32-byte blind-index term of parts: HMAC-SHA256 under k of
// the label "strongroom/envelope/index/v1" and each part, every one prefixed
// with its length, so that no two different lists of parts give the same
// input (("ab", "c") and ("a", "bc") differ).
//
// Pass the scope first and the value last. The keyring gives each tenant its
// own IndexKey, so the scope is the collection and the field:
//
//	keys.Index.Term([]byte(collection), []byte(field), normalized)
//
// (an IndexKey shared by several tenants would need the tenant as a part as
// well). Equal values in the same scope give equal terms, which is what makes
// an equality search possible and is also what an index reveals; equal values
// in different tenants, collections or fields give unrelated terms. Normalize
// the value (case, Unicode form, spaces) first, exactly as the search will.
//
// Term panics if k is the zero IndexKey: that is a programming mistake, and
// an index of unkeyed hashes would reveal the values.
func (k IndexKey) Term(parts ...[]byte) []byte {
	if k.s == nil {
		panic("envelope: Term with the zero IndexKey")
	}
	m := hmac.New(sha256.New, k.s.material[:])
	var b [8 + len(indexLabel)]byte
	m.Write(appendLP(b[:0], indexLabel))
	for _, p := range parts {
		m.Write(binary.BigEndian.AppendUint64(b[:0], uint64(len(p))))
		m.Write(p)
	}
	return m.Sum(make([]byte, 0, TermSize))
}
