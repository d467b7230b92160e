package filter

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// Helpers building canonical values.
func str(s string) []byte { return []byte("s" + s) }
func num(s string) []byte { return []byte("n" + s) }

var (
	tru = []byte("t")
	fal = []byte("f")
	nul = []byte("z")
)

func one(field string, v []byte) Expr { return Expr{Conds: []Cond{{field, v}}} }

func serr(off int, msg string) *SyntaxError { return &SyntaxError{Offset: off, Msg: msg} }

// conds returns n conditions "f0==0 && f1==1 && ..." and the matching Expr.
func conds(n int) (string, Expr) {
	var parts []string
	var e Expr
	for i := range n {
		f := "f" + string(rune('a'+i))
		parts = append(parts, f+"==1")
		e.Conds = append(e.Conds, Cond{f, num("1")})
	}
	return strings.Join(parts, " && "), e
}

var (
	seg64       = strings.Repeat("a", 64)
	seg65       = strings.Repeat("a", 65)
	path8       = "a.b.c.d.e.f.g.h"
	max16, exp  = conds(16)
	over17, _   = conds(17)
	filler      = strings.Repeat("x", MaxLength-len(`a==""`))
	exactMaxLen = `a=="` + filler + `"`
)

var parseTests = []struct {
	name    string
	in      string
	want    Expr
	wantErr *SyntaxError
}{
	// Valid expressions.
	{name: "string", in: `email=="alice@example.com"`, want: one("email", str("alice@example.com"))},
	{name: "spaces", in: ` email == "a" `, want: one("email", str("a"))},
	{name: "tabs and newlines", in: "\ta\n==\n\"x\"\n&&\tb ==true\n", want: Expr{Conds: []Cond{{"a", str("x")}, {"b", tru}}}},
	{name: "true", in: `a==true`, want: one("a", tru)},
	{name: "false", in: `a==false`, want: one("a", fal)},
	{name: "null", in: `a==null`, want: one("a", nul)},
	{name: "conjunction", in: `a==1&&b=="x"&&c==null`, want: Expr{Conds: []Cond{{"a", num("1")}, {"b", str("x")}, {"c", nul}}}},
	{name: "same field twice", in: `a==1 && a==2`, want: Expr{Conds: []Cond{{"a", num("1")}, {"a", num("2")}}}},
	{name: "dotted field", in: `address.city=="Paris"`, want: one("address.city", str("Paris"))},
	{name: "identifier chars", in: `_a1.B_2.c3==1`, want: one("_a1.B_2.c3", num("1"))},
	{name: "keyword as field", in: `true==false`, want: one("true", fal)},
	{name: "keyword path", in: `null.x==null`, want: one("null.x", nul)},
	{name: "segment 64 bytes", in: seg64 + "==1", want: one(seg64, num("1"))},
	{name: "8 segments", in: path8 + "==1", want: one(path8, num("1"))},
	{name: "16 conditions", in: max16, want: exp},
	{name: "exactly MaxLength", in: exactMaxLen, want: one("a", str(filler))},
	{name: "parens", in: `(a==1)`, want: one("a", num("1"))},
	{name: "nested parens", in: `((a==1) && ( b==2 && (c==3)))`, want: Expr{Conds: []Cond{{"a", num("1")}, {"b", num("2")}, {"c", num("3")}}}},
	{name: "redundant parens", in: `(((a==1)))`, want: one("a", num("1"))},
	{name: "parens in middle", in: `a==1&&(b==2)&&c==3`, want: Expr{Conds: []Cond{{"a", num("1")}, {"b", num("2")}, {"c", num("3")}}}},

	// Strings: unicode and escapes.
	{name: "empty string", in: `a==""`, want: one("a", str(""))},
	{name: "unicode raw", in: `a=="héllo 日本語 😀"`, want: one("a", str("héllo 日本語 😀"))},
	{name: "unicode escape", in: `a=="\u00e9\u00E9"`, want: one("a", str("éé"))},
	{name: "surrogate pair", in: `a=="\ud83d\ude00"`, want: one("a", str("😀"))},
	{name: "surrogate pair upper", in: `a=="\uD83D\uDE00"`, want: one("a", str("😀"))},
	{name: "short escapes", in: `a=="\"\\\/\b\f\n\r\t"`, want: one("a", str("\"\\/\b\f\n\r\t"))},
	{name: "nul escape", in: `a=="\u0000"`, want: one("a", str("\x00"))},
	{name: "replacement char escape", in: `a=="\ufffd"`, want: one("a", str("\ufffd"))},
	{name: "operators inside string", in: `a=="|| != ( ' &&"`, want: one("a", str("|| != ( ' &&"))},
	{name: "DEL raw", in: "a==\"\x7f\"", want: one("a", str("\x7f"))},

	// Numbers and their canonical form.
	{name: "int", in: `a==1`, want: one("a", num("1"))},
	{name: "1.0", in: `a==1.0`, want: one("a", num("1"))},
	{name: "1e0", in: `a==1e0`, want: one("a", num("1"))},
	{name: "1E0", in: `a==1E0`, want: one("a", num("1"))},
	{name: "10e-1", in: `a==10e-1`, want: one("a", num("1"))},
	{name: "100E-2", in: `a==100E-2`, want: one("a", num("1"))},
	{name: "1e+0", in: `a==1e+0`, want: one("a", num("1"))},
	{name: "zero", in: `a==0`, want: one("a", num("0"))},
	{name: "minus zero", in: `a==-0`, want: one("a", num("0"))},
	{name: "minus zero float", in: `a==-0.0e7`, want: one("a", num("0"))},
	{name: "negative", in: `a==-1.5`, want: one("a", num("-1.5"))},
	{name: "fraction", in: `a==0.1`, want: one("a", num("0.1"))},
	{name: "1e5 plain", in: `a==1e5`, want: one("a", num("100000"))},
	{name: "1e6 exponent", in: `a==1000000`, want: one("a", num("1e+06"))},
	{name: "1e21 exponent", in: `a==1e21`, want: one("a", num("1e+21"))},
	{name: "small exponent", in: `a==0.0000001`, want: one("a", num("1e-07"))},
	{name: "max float", in: `a==1.7976931348623157e308`, want: one("a", num("1.7976931348623157e+308"))},
	{name: "long exponent", in: `a==1e0000000000000000000000001`, want: one("a", num("10"))},
	{name: "underflow is zero", in: `a==1e-400`, want: one("a", num("0"))},
	{name: "negative underflow is zero", in: `a==-1e-99999999999999999999`, want: one("a", num("0"))},
	{name: "huge exponent of zero", in: `a==0e99999999999999999999`, want: one("a", num("0"))},
	{name: "rounded to float64", in: `a==9007199254740993`, want: one("a", num("9.007199254740992e+15"))},
	{name: "long mantissa", in: `a==123456789012345678901234`, want: one("a", num("1.2345678901234569e+23"))},

	// Empty input and length limits.
	{name: "empty", in: ``, wantErr: serr(0, "empty filter")},
	{name: "blank", in: " \t\n", wantErr: serr(3, "empty filter")},
	{name: "too long", in: exactMaxLen + " ", wantErr: serr(4096, "filter longer than 4096 bytes")},
	{name: "17 conditions", in: over17, wantErr: serr(len(max16)+4, "too many conditions (at most 16)")},

	// Fields.
	{name: "field starts with digit", in: `1a==1`, wantErr: serr(0, "expected field name")},
	{name: "field leading dot", in: `.a==1`, wantErr: serr(0, "expected field name")},
	{name: "field trailing dot", in: `a.==1`, wantErr: serr(2, `expected identifier after "."`)},
	{name: "field double dot", in: `a..b==1`, wantErr: serr(2, `expected identifier after "."`)},
	{name: "space in field", in: `a. b==1`, wantErr: serr(2, `expected identifier after "."`)},
	{name: "space before dot", in: `a .b==1`, wantErr: serr(2, `expected "=="`)},
	{name: "field non-ASCII", in: `é==1`, wantErr: serr(0, "expected field name")},
	{name: "field hyphen", in: `a-b==1`, wantErr: serr(1, `expected "=="`)},
	{name: "field quoted", in: `"a"==1`, wantErr: serr(0, "expected field name")},
	{name: "segment too long", in: "a." + seg65 + "==1", wantErr: serr(2, "field segment longer than 64 bytes")},
	{name: "too many segments", in: "x==1 && " + path8 + ".i==1", wantErr: serr(8, "field has more than 8 segments")},

	// Operators.
	{name: "missing operator", in: `a`, wantErr: serr(1, `expected "=="`)},
	{name: "single equals", in: `a=1`, wantErr: serr(1, `expected "=="`)},
	{name: "not equal", in: `a!=1`, wantErr: serr(1, `unsupported operator "!=": only "==" is supported`)},
	{name: "less", in: `a<1`, wantErr: serr(1, `unsupported operator "<": only "==" is supported`)},
	{name: "greater or equal", in: `a >= 1`, wantErr: serr(2, `unsupported operator ">=": only "==" is supported`)},
	{name: "regex match", in: `a=~"x"`, wantErr: serr(1, `unsupported operator "=~": only "==" is supported`)},
	{name: "or", in: `a==1||b==2`, wantErr: serr(4, `unsupported operator "||": only "&&" is supported`)},
	{name: "single ampersand", in: `a==1 & b==2`, wantErr: serr(5, `expected "&&" or end of filter`)},
	{name: "and keyword", in: `a==1 and b==2`, wantErr: serr(5, `expected "&&" or end of filter`)},
	{name: "not", in: `!(a==1)`, wantErr: serr(0, "expected field name")},
	{name: "leading and", in: `&& a==1`, wantErr: serr(0, "expected field name")},
	{name: "trailing and", in: `a==1 &&`, wantErr: serr(7, "expected field name")},
	{name: "double and", in: `a==1&&&&b==2`, wantErr: serr(6, "expected field name")},
	{name: "triple equals", in: `a===1`, wantErr: serr(3, "expected value")},

	// Literals.
	{name: "missing value", in: `a==`, wantErr: serr(3, "expected value")},
	{name: "missing value before and", in: `a== && b==1`, wantErr: serr(4, "expected value")},
	{name: "single quotes", in: `a=='x'`, wantErr: serr(3, "strings must use double quotes")},
	{name: "bare word", in: `a==alice`, wantErr: serr(3, "invalid value: expected a string, number, true, false or null")},
	{name: "True", in: `a==True`, wantErr: serr(3, "invalid value: expected a string, number, true, false or null")},
	{name: "keyword prefix", in: `a==truex`, wantErr: serr(3, "invalid value: expected a string, number, true, false or null")},
	{name: "NaN", in: `a==NaN`, wantErr: serr(3, "invalid value: expected a string, number, true, false or null")},
	{name: "object", in: `a=={}`, wantErr: serr(3, "expected value")},
	{name: "array", in: `a==[1]`, wantErr: serr(3, "expected value")},

	// Numbers.
	{name: "leading zero", in: `a==01`, wantErr: serr(3, "invalid number")},
	{name: "trailing dot", in: `a==1.`, wantErr: serr(3, "invalid number")},
	{name: "leading dot", in: `a==.5`, wantErr: serr(3, "expected value")},
	{name: "plus sign", in: `a==+1`, wantErr: serr(3, "expected value")},
	{name: "lone minus", in: `a==-`, wantErr: serr(3, "invalid number")},
	{name: "minus letter", in: `a==-x`, wantErr: serr(3, "invalid number")},
	{name: "empty exponent", in: `a==1e`, wantErr: serr(3, "invalid number")},
	{name: "signed empty exponent", in: `a==1e+`, wantErr: serr(3, "invalid number")},
	{name: "hex", in: `a==0x10`, wantErr: serr(3, "invalid number")},
	{name: "underscore", in: `a==1_000`, wantErr: serr(3, "invalid number")},
	{name: "two dots", in: `a==1.2.3`, wantErr: serr(3, "invalid number")},
	{name: "minus infinity", in: `a==-Infinity`, wantErr: serr(3, "invalid number")},
	{name: "number then minus", in: `a==1-2`, wantErr: serr(3, "invalid number")},
	{name: "overflow", in: `a==1e400`, wantErr: serr(3, "number out of range")},
	{name: "overflow negative", in: `a==-1.8e308`, wantErr: serr(3, "number out of range")},
	{name: "huge exponent", in: `a==1e99999999999999999999`, wantErr: serr(3, "number out of range")},

	// Strings.
	{name: "unterminated", in: `a=="abc`, wantErr: serr(3, "unterminated string")},
	{name: "unterminated after escape", in: `a=="\"`, wantErr: serr(3, "unterminated string")},
	{name: "backslash at end", in: `a=="\`, wantErr: serr(4, "invalid escape sequence")},
	{name: "unknown escape", in: `a=="\x41"`, wantErr: serr(4, "invalid escape sequence")},
	{name: "escaped single quote", in: `a=="\'"`, wantErr: serr(4, "invalid escape sequence")},
	{name: "short unicode escape", in: `a=="\u12"`, wantErr: serr(4, "invalid escape sequence")},
	{name: "bad hex", in: `a=="\u12G4"`, wantErr: serr(4, "invalid escape sequence")},
	{name: "signed hex", in: `a=="\u+123"`, wantErr: serr(4, "invalid escape sequence")},
	{name: "lone high surrogate", in: `a=="\ud800"`, wantErr: serr(4, `invalid surrogate in \u escape`)},
	{name: "lone low surrogate", in: `a=="\udc00"`, wantErr: serr(4, `invalid surrogate in \u escape`)},
	{name: "high then text", in: `a=="\ud83dx"`, wantErr: serr(4, `invalid surrogate in \u escape`)},
	{name: "high then non-low", in: `a=="x\ud83d\u0041"`, wantErr: serr(5, `invalid surrogate in \u escape`)},
	{name: "two highs", in: `a=="\ud83d\ud83d"`, wantErr: serr(4, `invalid surrogate in \u escape`)},
	{name: "raw tab", in: "a==\"a\tb\"", wantErr: serr(5, "control character in string must be escaped")},
	{name: "raw newline", in: "a==\"a\nb\"", wantErr: serr(5, "control character in string must be escaped")},
	{name: "invalid UTF-8", in: "a==\"a\xffb\"", wantErr: serr(5, "invalid UTF-8 in string")},
	{name: "UTF-8 surrogate", in: "a==\"\xed\xa0\x80\"", wantErr: serr(4, "invalid UTF-8 in string")},
	{name: "overlong UTF-8", in: "a==\"\xc0\xaf\"", wantErr: serr(4, "invalid UTF-8 in string")},
	{name: "truncated UTF-8", in: "a==\"\xe6\x97\"", wantErr: serr(4, "invalid UTF-8 in string")},

	// Parentheses and trailing input.
	{name: "unclosed paren", in: `(a==1`, wantErr: serr(5, `expected ")"`)},
	{name: "unclosed nested", in: `((a==1) && b==2`, wantErr: serr(15, `expected ")"`)},
	{name: "unmatched close", in: `a==1)`, wantErr: serr(4, `unmatched ")"`)},
	{name: "extra close", in: `(a==1))`, wantErr: serr(6, `unmatched ")"`)},
	{name: "empty parens", in: `()`, wantErr: serr(1, "expected field name")},
	{name: "parens around value", in: `a==(1)`, wantErr: serr(3, "expected value")},
	{name: "parens around field", in: `(a)==1`, wantErr: serr(2, `expected "=="`)},
	{name: "adjacent groups", in: `(a==1)(b==2)`, wantErr: serr(6, `expected "&&" or end of filter`)},
	{name: "missing and in parens", in: `(a==1 b==2)`, wantErr: serr(6, `expected "&&" or ")"`)},
	{name: "trailing garbage", in: `a==1 x`, wantErr: serr(5, `expected "&&" or end of filter`)},
	{name: "trailing string", in: `a=="x""y"`, wantErr: serr(6, `expected "&&" or end of filter`)},
	{name: "carriage return", in: "a==1\r\n", wantErr: serr(4, `expected "&&" or end of filter`)},
	{name: "NUL byte", in: "a==1\x00", wantErr: serr(4, `expected "&&" or end of filter`)},
}

func TestParse(t *testing.T) {
	for _, tc := range parseTests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr != nil {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("Parse(%q) error = %v, want %v", tc.in, err, tc.wantErr)
				}
				if diff := cmp.Diff(tc.wantErr, se); diff != "" {
					t.Errorf("Parse(%q) error mismatch (-want +got):\n%s", tc.in, diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := Parse(`email=="a" && age 12`)
	if got, want := err.Error(), `filter: at offset 18: expected "=="`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// Messages never echo the (possibly long or sensitive) input.
	secret := strings.Repeat("s3cr3t", 100)
	for _, in := range []string{secret, "a==" + secret, `a=="` + secret, "a==1 " + secret, "(a==1 " + secret} {
		_, err := Parse(in)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Parse(%.20q...) error = %v, want an error not echoing the input", in, err)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"spacing", `a==1&&b.c=="x"`, `a == 1 && b.c == "x"`},
		{"parens dropped", `((a==true)&&(b==false&&c==null))`, `a == true && b == false && c == null`},
		{"numbers canonical", `a==1.0 && b==-0 && c==1e21 && d==1e-7`, `a == 1 && b == 0 && c == 1e+21 && d == 1e-07`},
		{"escapes minimal", `a=="\u00e9\/\"\\\b\f\n\r\t\u0001\u001F"`, `a == "é/\"\\\u0008\u000c\n\r\t\u0001\u001f"`},
		{"unicode", `a=="\ud83d\ude00 日本"`, `a == "😀 日本"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
	bad := Expr{Conds: []Cond{{"a", nil}, {"b", []byte("nx")}, {"c", []byte("s\xff")}}}
	if got, want := bad.String(), `a == <invalid> && b == <invalid> && c == "`+"\ufffd"+`"`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		name   string
		in     any
		want   []byte
		wantOK bool
	}{
		{"string", "héllo", str("héllo"), true},
		{"empty string", "", str(""), true},
		{"invalid UTF-8", "\xff", nil, false},
		{"int", json.Number("30"), num("30"), true},
		{"float", json.Number("30.0"), num("30"), true},
		{"exponent", json.Number("3E1"), num("30"), true},
		{"minus zero", json.Number("-0.0"), num("0"), true},
		{"large", json.Number("1e100"), num("1e+100"), true},
		{"overflow", json.Number("1e309"), nil, false},
		{"not JSON: hex", json.Number("0x1p-2"), nil, false},
		{"not JSON: inf", json.Number("Inf"), nil, false},
		{"not JSON: NaN", json.Number("NaN"), nil, false},
		{"not JSON: plus", json.Number("+1"), nil, false},
		{"not JSON: space", json.Number(" 1"), nil, false},
		{"not JSON: empty", json.Number(""), nil, false},
		{"true", true, tru, true},
		{"false", false, fal, true},
		{"nil", nil, nul, true},
		{"object", map[string]any{}, nil, false},
		{"array", []any{}, nil, false},
		{"float64", 1.0, nil, false},
		{"int type", 1, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Canonical(tc.in)
			if ok != tc.wantOK || !cmp.Equal(got, tc.want) {
				t.Errorf("Canonical(%#v) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestMatchesDocument checks the property the blind index relies on: the value
// of a filter literal and the value of a decoded document field have the same
// canonical encoding when they are equal JSON values.
func TestMatchesDocument(t *testing.T) {
	doc := `{"age": 30.0, "score": -0.0, "big": 1E21, "name": "\u00e9t\u00e9 😀",
		"ok": true, "no": false, "none": null, "address": {"city": "Z\u00fcrich"}}`
	d := json.NewDecoder(strings.NewReader(doc))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	e, err := Parse(`age == 30 && score == 0 && big == 1000000000000000000000 && name == "été \ud83d\ude00" &&
		ok == true && no == false && none == null && address.city == "Zürich"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range e.Conds {
		var v any = m
		for _, seg := range strings.Split(c.Field, ".") {
			v = v.(map[string]any)[seg]
		}
		got, ok := Canonical(v)
		if !ok || !cmp.Equal(got, c.Value) {
			t.Errorf("%s: Canonical(%#v) = %q, %v, want %q", c.Field, v, got, ok, c.Value)
		}
	}
}

var fieldRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,7}$`)

func FuzzParse(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAgainstJSON(t, s)
		e, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T, want *SyntaxError", s, err)
			}
			if se.Offset < 0 || se.Offset > len(s) || len(se.Msg) > 80 {
				t.Fatalf("Parse(%q) bad error %#v", s, se)
			}
			return
		}
		if len(s) > MaxLength || len(e.Conds) == 0 || len(e.Conds) > MaxConds {
			t.Fatalf("Parse(%q) accepted %d bytes, %d conditions", s, len(s), len(e.Conds))
		}
		for _, c := range e.Conds {
			if !fieldRE.MatchString(c.Field) {
				t.Fatalf("Parse(%q): invalid field %q", s, c.Field)
			}
			if len(c.Value) == 0 || !strings.ContainsRune("sntfz", rune(c.Value[0])) {
				t.Fatalf("Parse(%q): invalid value %q", s, c.Value)
			}
			if c.Value[0] == 'n' {
				if b, ok := Canonical(json.Number(c.Value[1:])); !ok || !cmp.Equal(b, c.Value) {
					t.Fatalf("Parse(%q): number %q not canonical", s, c.Value)
				}
			}
		}
		// The rendering round-trips. It may be longer than the input
		// (canonical numbers, spacing), so lift the length limit for it.
		r := e.String()
		e2, err := parse(r, max(len(r), MaxLength))
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", s, r, err)
		}
		if diff := cmp.Diff(e, e2); diff != "" {
			t.Fatalf("round trip of %q via %q (-first +second):\n%s", s, r, diff)
		}
		if r2 := e2.String(); r2 != r {
			t.Fatalf("String() not stable: %q then %q", r, r2)
		}
	})
}

// checkAgainstJSON compares literal decoding with encoding/json: when s is a
// JSON scalar, "v==" + s must parse to its canonical value, except where this
// package is deliberately stricter (encoding/json replaces invalid UTF-8 and
// lone surrogates by U+FFFD and does not range-check numbers).
func checkAgainstJSON(t *testing.T, s string) {
	if !json.Valid([]byte(s)) || strings.ContainsRune(s, '\r') {
		return
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("json.Decode(%q): %v", s, err)
	}
	want, ok := Canonical(v)
	if !ok {
		return // object or array
	}
	e, err := Parse("v==" + s)
	if err != nil {
		var se *SyntaxError
		errors.As(err, &se)
		switch {
		case se != nil && se.Msg == "invalid UTF-8 in string" && !utf8.ValidString(s):
		case se != nil && (se.Msg == `invalid surrogate in \u escape` || se.Msg == "number out of range"):
		case len(s) > MaxLength-3:
		default:
			t.Fatalf("Parse(%q) = %v, but encoding/json accepts %q", "v=="+s, err, s)
		}
		return
	}
	if diff := cmp.Diff(Expr{Conds: []Cond{{"v", want}}}, e); diff != "" {
		t.Fatalf("Parse(%q) differs from encoding/json (-json +Parse):\n%s", "v=="+s, diff)
	}
}

func BenchmarkParse(b *testing.B) {
	const in = `email == "alice@example.com" && (address.city == "Z\u00fcrich" && age == 30) && active == true`
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}
