// Package filter parses the filter expressions of the record list API
// (GET /api/v1/orgs/{org}/collections/{name}/records?filter=...).
//
// Searchable fields are stored as keyed blind-index terms (an HMAC of the
// canonical encoding of the value), so the database can only answer
// "field == exact value". The language therefore has exactly one comparison,
// equality, and one connective, conjunction:
//
//	expr    := cond ( "&&" cond )*
//	cond    := field "==" literal | "(" expr ")"
//	field   := ident ( "." ident )*          no whitespace inside a field
//	ident   := [A-Za-z_][A-Za-z0-9_]*        at most 64 bytes, at most 8 idents
//	literal := string | number | "true" | "false" | "null"
//	string  := a JSON string: double quotes; escapes \" \\ \/ \b \f \n \r \t
//	           and \uXXXX (surrogates only as a valid high-low pair); control
//	           characters must be escaped; invalid UTF-8 is rejected
//	number  := a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
//
// Whitespace (space, tab, newline) is allowed between tokens. Parentheses
// group, but since only conjunctions exist they are cosmetic. A filter is at
// most [MaxLength] bytes and has at most [MaxConds] conditions; the same field
// may appear more than once, and then every condition must hold. Anything else
// (for example "||", "!=", "<", single quotes, trailing text, an empty filter)
// is a [*SyntaxError].
//
// Literal values are stored in the canonical encoding produced by [Canonical],
// the same function the indexer applies to document values, so "age == 30"
// matches a document holding "age": 30.0.
package filter

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of the language.
const (
	MaxLength        = 4096 // bytes of filter text
	MaxConds         = 16   // conditions per filter
	MaxSegments      = 8    // identifiers per field
	MaxSegmentLength = 64   // bytes per identifier
)

// Cond is one condition: the document value at the dotted path Field must equal
// the value whose canonical encoding (see [Canonical]) is Value.
type Cond struct {
	Field string
	Value []byte
}

// Expr is a parsed filter: the conjunction of its conditions, in input order.
type Expr struct {
	Conds []Cond
}

// SyntaxError reports an invalid filter. Offset is the byte offset into the
// filter text. The message is safe to show to API users: it never contains
// more than a few bytes of the input.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "filter: at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Canonical returns the canonical encoding of a JSON scalar as decoded by
// encoding/json with UseNumber: a one-byte type tag followed by the value.
//
//	string      's' + the UTF-8 bytes (invalid UTF-8: ok=false)
//	json.Number 'n' + strconv.FormatFloat(f, 'g', -1, 64) of the float64 value,
//	            with -0 written as 0 (not JSON number syntax, or out of the
//	            float64 range: ok=false)
//	bool        't' or 'f'
//	nil         'z'
//
// Any other type, including maps and slices, gives ok=false.
func Canonical(v any) (b []byte, ok bool) {
	switch v := v.(type) {
	case string:
		if !utf8.ValidString(v) {
			return nil, false
		}
		return append([]byte{'s'}, v...), true
	case json.Number:
		return canonicalNumber(string(v))
	case bool:
		if v {
			return []byte{'t'}, true
		}
		return []byte{'f'}, true
	case nil:
		return []byte{'z'}, true
	}
	return nil, false
}

func canonicalNumber(s string) ([]byte, bool) {
	if s == "" || numberLen(s) != len(s) {
		return nil, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	if f == 0 {
		f = 0 // turns -0 into 0
	}
	return strconv.AppendFloat([]byte{'n'}, f, 'g', -1, 64), true
}

// numberLen returns the length of the longest prefix of s that is a JSON
// number, or 0 if there is none.
func numberLen(s string) int {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i+1)
	default:
		return 0
	}
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		i = digits(s, i+1)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			i = digits(s, j)
		}
	}
	return i
}

func digits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// Parse parses a filter. On error it returns a *SyntaxError.
func Parse(s string) (Expr, error) {
	return parse(s, MaxLength)
}

// parser holds the input and the current byte offset.
type parser struct {
	s   string
	pos int
}

func (p *parser) fail(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n') {
		p.pos++
	}
}

func (p *parser) peek(prefix string) bool { return strings.HasPrefix(p.s[p.pos:], prefix) }

// parse implements Parse with a configurable length limit. Since the language
// has only conjunctions, parentheses need no recursion: a depth counter
// checks that they are balanced, "(" may only open a condition and ")" may
// only follow one.
func parse(s string, maxLen int) (Expr, error) {
	p := &parser{s: s}
	if len(s) > maxLen {
		return Expr{}, p.fail(maxLen, "filter longer than "+strconv.Itoa(maxLen)+" bytes")
	}
	if p.skipSpace(); p.pos == len(s) {
		return Expr{}, p.fail(p.pos, "empty filter")
	}
	var e Expr
	depth := 0
	for {
		for p.skipSpace(); p.peek("("); p.skipSpace() {
			p.pos++
			depth++
		}
		if len(e.Conds) == MaxConds {
			return Expr{}, p.fail(p.pos, "too many conditions (at most "+strconv.Itoa(MaxConds)+")")
		}
		c, err := p.cond()
		if err != nil {
			return Expr{}, err
		}
		e.Conds = append(e.Conds, c)
		for p.skipSpace(); p.peek(")"); p.skipSpace() {
			if depth == 0 {
				return Expr{}, p.fail(p.pos, `unmatched ")"`)
			}
			p.pos++
			depth--
		}
		switch {
		case p.pos == len(s) && depth > 0:
			return Expr{}, p.fail(p.pos, `expected ")"`)
		case p.pos == len(s):
			return e, nil
		case p.peek("&&"):
			p.pos += 2
		case p.peek("||"):
			return Expr{}, p.fail(p.pos, `unsupported operator "||": only "&&" is supported`)
		case depth > 0:
			return Expr{}, p.fail(p.pos, `expected "&&" or ")"`)
		default:
			return Expr{}, p.fail(p.pos, `expected "&&" or end of filter`)
		}
	}
}

// cond parses field "==" literal.
func (p *parser) cond() (Cond, error) {
	field, err := p.field()
	if err != nil {
		return Cond{}, err
	}
	p.skipSpace()
	if !p.peek("==") {
		for _, op := range []string{"!=", "<=", ">=", "<", ">", "=~"} {
			if p.peek(op) {
				return Cond{}, p.fail(p.pos, "unsupported operator "+strconv.Quote(op)+`: only "==" is supported`)
			}
		}
		return Cond{}, p.fail(p.pos, `expected "=="`)
	}
	p.pos += 2
	p.skipSpace()
	v, err := p.literal()
	if err != nil {
		return Cond{}, err
	}
	return Cond{Field: field, Value: v}, nil
}

func (p *parser) field() (string, error) {
	start := p.pos
	for n := 1; ; n++ {
		if n > MaxSegments {
			return "", p.fail(start, "field has more than "+strconv.Itoa(MaxSegments)+" segments")
		}
		seg := p.pos
		if p.pos == len(p.s) || !isIdentStart(p.s[p.pos]) {
			if n == 1 {
				return "", p.fail(p.pos, "expected field name")
			}
			return "", p.fail(p.pos, `expected identifier after "."`)
		}
		for p.pos < len(p.s) && isIdentChar(p.s[p.pos]) {
			p.pos++
		}
		if p.pos-seg > MaxSegmentLength {
			return "", p.fail(seg, "field segment longer than "+strconv.Itoa(MaxSegmentLength)+" bytes")
		}
		if !p.peek(".") {
			return p.s[start:p.pos], nil
		}
		p.pos++
	}
}

func (p *parser) literal() ([]byte, error) {
	start := p.pos
	if p.pos == len(p.s) {
		return nil, p.fail(p.pos, "expected value")
	}
	switch c := p.s[p.pos]; {
	case c == '"':
		str, err := p.str()
		if err != nil {
			return nil, err
		}
		return append([]byte{'s'}, str...), nil
	case c == '-' || isDigit(c):
		p.pos += numberLen(p.s[p.pos:])
		if p.pos == start || p.pos < len(p.s) && (isIdentChar(p.s[p.pos]) || strings.IndexByte("+-.", p.s[p.pos]) >= 0) {
			return nil, p.fail(start, "invalid number")
		}
		b, ok := canonicalNumber(p.s[start:p.pos])
		if !ok {
			return nil, p.fail(start, "number out of range")
		}
		return b, nil
	case isIdentStart(c):
		for p.pos < len(p.s) && isIdentChar(p.s[p.pos]) {
			p.pos++
		}
		switch p.s[start:p.pos] {
		case "true":
			return []byte{'t'}, nil
		case "false":
			return []byte{'f'}, nil
		case "null":
			return []byte{'z'}, nil
		}
		return nil, p.fail(start, "invalid value: expected a string, number, true, false or null")
	case c == '\'':
		return nil, p.fail(start, "strings must use double quotes")
	}
	return nil, p.fail(start, "expected value")
}

// str decodes a JSON string starting at the opening quote.
func (p *parser) str() (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		case c < 0x20:
			return "", p.fail(p.pos, "control character in string must be escaped")
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			p.pos++
		default:
			r, n := utf8.DecodeRuneInString(p.s[p.pos:])
			if r == utf8.RuneError && n == 1 {
				return "", p.fail(p.pos, "invalid UTF-8 in string")
			}
			b.WriteString(p.s[p.pos : p.pos+n])
			p.pos += n
		}
	}
	return "", p.fail(start, "unterminated string")
}

// escape decodes one escape sequence starting at the backslash.
func (p *parser) escape(b *strings.Builder) error {
	start := p.pos
	if p.pos+1 >= len(p.s) {
		return p.fail(start, "invalid escape sequence")
	}
	if i := strings.IndexByte(`"\/bfnrt`, p.s[p.pos+1]); i >= 0 {
		b.WriteByte("\"\\/\b\f\n\r\t"[i])
		p.pos += 2
		return nil
	}
	r, ok := p.hex4()
	if !ok {
		return p.fail(start, "invalid escape sequence")
	}
	if utf8.ValidRune(r) {
		b.WriteRune(r)
		return nil
	}
	// r is a surrogate: it must be a high one followed by an escaped low one.
	if r < 0xDC00 {
		if lo, ok := p.hex4(); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			b.WriteRune((r-0xD800)<<10 | (lo - 0xDC00) + 0x10000)
			return nil
		}
	}
	return p.fail(start, "invalid surrogate in \\u escape")
}

// hex4 decodes \uXXXX at p.pos and advances past it.
func (p *parser) hex4() (rune, bool) {
	if !p.peek(`\u`) || p.pos+6 > len(p.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(p.s[p.pos+2:p.pos+6], 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 6
	return rune(v), true
}

// String renders e in canonical form: conditions in order, written as
// `field == literal` and joined by " && ", with strings escaped minimally and
// numbers in their canonical text. For an Expr returned by Parse,
// Parse(e.String()) returns an equal Expr, provided the rendering fits in
// MaxLength (it can be longer than the original text: "a==1e5" renders as
// "a == 100000"). Values that are not canonical encodings render as <invalid>.
func (e Expr) String() string {
	var b strings.Builder
	for i, c := range e.Conds {
		if i > 0 {
			b.WriteString(" && ")
		}
		b.WriteString(c.Field)
		b.WriteString(" == ")
		writeValue(&b, c.Value)
	}
	return b.String()
}

func writeValue(b *strings.Builder, v []byte) {
	switch {
	case len(v) == 1 && v[0] == 't':
		b.WriteString("true")
	case len(v) == 1 && v[0] == 'f':
		b.WriteString("false")
	case len(v) == 1 && v[0] == 'z':
		b.WriteString("null")
	case len(v) > 1 && v[0] == 'n' && numberLen(string(v[1:])) == len(v)-1:
		b.Write(v[1:])
	case len(v) > 0 && v[0] == 's':
		b.WriteByte('"')
		for _, r := range string(v[1:]) { // invalid UTF-8 becomes U+FFFD
			switch {
			case r == '"' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case r < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[r>>4])
				b.WriteByte("0123456789abcdef"[r&0xF])
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
	default:
		b.WriteString("<invalid>")
	}
}
