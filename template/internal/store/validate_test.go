package store

import (
	"encoding/json"
	"strconv"
	"testing"
	"unicode/utf8"
)

// scanForNUL is an independent oracle for containsNUL: it walks the string
// literals of the valid JSON value payload byte by byte, reading each escape
// sequence whole, and reports whether one of them is \u0000.
func scanForNUL(payload []byte) bool {
	inString := false
	for i := 0; i < len(payload); i++ {
		switch c := payload[i]; {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\':
			i++ // the escaped character
			if payload[i] == 'u' {
				v, err := strconv.ParseUint(string(payload[i+1:i+5]), 16, 16)
				if err == nil && v == 0 {
					return true
				}
				i += 4
			}
		}
	}
	return false
}

func TestContainsNULDecodesEscapes(t *testing.T) {
	for payload, want := range map[string]bool{
		`{"path":"C:\\u0000"}`:     false, // an escaped backslash, then the text u0000
		`{"path":"C:\\\\u0000"}`:   false,
		`"a\u0000b"`:               true,
		`{"\u0000":1}`:             true, // in a key
		`["C:\\\u0000"]`:           true, // an escaped backslash, then a NUL
		`{"a":"\u0000","a":1}`:     true, // a duplicate key does not hide it
		`{"n":0,"s":"u0000"}`:      false,
		`{"s":"\u00000"}`:          true,
		`{"s":"\\\\\\\\\u0000x"}`:  true,
		`{"s":"\\\\\\\\\\u0000x"}`: false,
	} {
		if !json.Valid([]byte(payload)) {
			t.Fatalf("test case %s is not valid JSON", payload)
		}
		if got := containsNUL([]byte(payload)); got != want {
			t.Errorf("containsNUL(%s) = %v, want %v", payload, got, want)
		}
		if got := scanForNUL([]byte(payload)); got != want {
			t.Errorf("oracle scanForNUL(%s) = %v, want %v", payload, got, want)
		}
	}
}

// FuzzContainsNUL checks the decode-based NUL check against the escape-aware
// scanner on every valid JSON value the fuzzer finds.
func FuzzContainsNUL(f *testing.F) {
	for _, seed := range []string{
		`{"path":"C:\\u0000"}`, `"a\u0000b"`, `{"\u0000":1}`, `["C:\\\u0000"]`,
		`{"a":"\u0000","a":1}`, `{}`, `"\\"`, `[1,"\u0001",{"k":"\u0000"}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if !utf8.Valid(payload) || !json.Valid(payload) {
			return
		}
		if got, want := containsNUL(payload), scanForNUL(payload); got != want {
			t.Fatalf("containsNUL(%q) = %v, the scanner says %v", payload, got, want)
		}
	})
}
