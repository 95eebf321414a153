package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The limits of the payload rules (see validateEvents).
const (
	// maxPayloadBytes caps one payload. jsonb has limits on its parsed form
	// (256 MiB of data in one object or array, and about 1 GiB of parser
	// memory for one array's elements, each of which can cost six times its
	// text): a 42 MiB array of zeros already fails on PostgreSQL 15. 16 MiB
	// stays well below every such limit whatever the document's shape.
	maxPayloadBytes = 16 << 20
	// maxPayloadDepth caps the nesting of objects and arrays. PostgreSQL's
	// JSON parser is recursive and fails when it runs out of stack
	// (max_stack_depth): measured on PostgreSQL 15, after about 13000 levels
	// at the default of 2MB, and after about 620 at the smallest setting,
	// 100kB. So 512 levels pass whatever the setting.
	maxPayloadDepth = 512
	// maxIntegerDigits and maxFractionDigits are the range of PostgreSQL's
	// numeric type, which stores jsonb numbers: a weight of at most 32767
	// base-10000 digits before the decimal point, and a display scale of at
	// most 16383 decimal digits after it.
	maxIntegerDigits  = 131072
	maxFractionDigits = 16383
	// maxExponent bounds an exponent's magnitude, whatever the digits:
	// PostgreSQL 15 refuses an exponent of INT_MAX/2 (2^30 - 1) or more
	// before it looks at the digits (16 and later refuse it above that).
	maxExponent = 1<<30 - 2
)

// validateEvents checks every event before any of them is queued, so that one
// malformed event is refused on its own instead of failing the whole batch it
// would share with other callers' events. The rules are the same whichever
// database stores the events, so that SQLite and PostgreSQL accept the same
// API. They refuse every payload that jsonb refuses in a UTF8 database
// (numbers are checked exactly as PostgreSQL 15 parses them, which later
// versions only relax); the size and depth rules are a little stricter than
// PostgreSQL, for a simple bound that holds on every server configuration.
// An event is valid when:
//
//   - Kind is not empty, is valid UTF-8, and holds no NUL byte.
//   - Payload is empty (it is stored as JSON null), or all of these hold:
//     1. It is at most 16 MiB (16777216 bytes).
//     2. It is valid UTF-8 and valid JSON (RFC 8259), as json.Valid decides.
//     3. No string or object key holds the escape \u0000 (NUL).
//     4. No string or key holds a lone UTF-16 surrogate escape: an escape
//     \uD800 to \uDBFF (hex digits in either case) must be followed at once
//     by an escape \uDC00 to \uDFFF, and an escape \uDC00 to \uDFFF must
//     follow one of the first kind. A correct pair such as \ud83d\ude00 is
//     one character (U+1F600) and is valid; "\\ud800" is an escaped
//     backslash followed by text, and is valid too.
//     5. Objects and arrays nest at most 512 levels deep; the outermost
//     object or array is level 1.
//     6. Every number, written out without its exponent (the decimal point
//     moved by the exponent, every written digit kept), has at most 131072
//     digits before the decimal point, leading zeros not counted, and at
//     most 16383 after it, trailing zeros counted. So 1e131071, 1e-16383
//     and 0e1000000 are valid; 1e131072, 1e-16384, 1.0e-16383 and
//     0e-1000000 are not.
//     7. Every exponent lies between -1073741822 and 1073741822; this only
//     matters for zero (0e1073741823 is invalid, 0e1073741822 valid).
//
// The first violation found is reported, wrapped in ErrInvalidEvent, with
// the event's index and a reason meant for the API caller.
func validateEvents(events []Event) error {
	for i, e := range events {
		switch {
		case e.Kind == "":
			return fmt.Errorf("%w: event %d: empty kind", ErrInvalidEvent, i)
		case !utf8.ValidString(e.Kind) || strings.IndexByte(e.Kind, 0) >= 0:
			// PostgreSQL text cannot hold NUL bytes or invalid UTF-8.
			return fmt.Errorf("%w: event %d: kind is not valid UTF-8 text", ErrInvalidEvent, i)
		case len(e.Payload) == 0:
			continue
		case len(e.Payload) > maxPayloadBytes:
			return fmt.Errorf("%w: event %d: payload is %d bytes, more than the %d allowed",
				ErrInvalidEvent, i, len(e.Payload), maxPayloadBytes)
		case !utf8.Valid(e.Payload) || !json.Valid(e.Payload):
			return fmt.Errorf("%w: event %d: payload is not valid JSON", ErrInvalidEvent, i)
		}
		if reason := payloadProblem(e.Payload); reason != "" {
			return fmt.Errorf("%w: event %d: %s", ErrInvalidEvent, i, reason)
		}
	}
	return nil
}

// payloadProblem returns why jsonb would refuse the valid JSON value payload
// (rules 3 to 7 of validateEvents), or "" if it would not. The common payload
// (under 1 KiB, no exponent, no escape of a NUL or a surrogate) costs two
// quick scans of its bytes and allocates nothing: it cannot nest 513 levels
// in so few bytes, nor hold a number long enough to be out of range, so
// only a number with an exponent could break a rule, and a payload without
// a digit followed by e or E has none.
func payloadProblem(payload []byte) string {
	if mayHoldBadEscape(payload) {
		if reason := escapeProblem(payload); reason != "" {
			return reason
		}
	}
	if len(payload) > 2*maxPayloadDepth || mayHoldExponent(payload) {
		return structureProblem(payload)
	}
	return ""
}

// mayHoldExponent reports whether a digit is followed by e or E somewhere
// in payload: every number with an exponent has that (and so may a string).
func mayHoldExponent(payload []byte) bool {
	for i := 1; i < len(payload); i++ {
		if payload[i]|0x20 == 'e' && isDigit(payload[i-1]) { // 'E'|0x20 == 'e'
			return true
		}
	}
	return false
}

// mayHoldBadEscape reports whether payload holds the bytes of an escape that
// can be a NUL (\u0000) or a surrogate (\uD800 to \uDFFF) — possibly only
// text after an escaped backslash, which escapeProblem sorts out.
func mayHoldBadEscape(payload []byte) bool {
	if bytes.IndexByte(payload, '\\') < 0 {
		return false
	}
	return bytes.Contains(payload, []byte(`\u0000`)) ||
		bytes.Contains(payload, []byte(`\ud`)) || bytes.Contains(payload, []byte(`\uD`))
}

// escapeProblem walks the strings of the valid JSON value payload, reading
// each escape whole, and describes the first \u escape that jsonb refuses: a
// NUL, or a UTF-16 surrogate that is not part of a high-low pair.
func escapeProblem(payload []byte) string {
	for i := 0; i < len(payload); i++ {
		if payload[i] != '"' { // outside strings, '"' only opens one
			continue
		}
		for i++; payload[i] != '"'; i++ {
			if payload[i] != '\\' {
				continue
			}
			i++ // the escaped character: '"' and '\\' are skipped with it
			if payload[i] != 'u' {
				continue
			}
			escape := payload[i-1 : i+5]
			unit := hex4(payload[i+1 : i+5])
			i += 4
			var what string
			switch {
			case unit == 0:
				what = "a NUL character"
			case unit >= 0xDC00 && unit <= 0xDFFF:
				what = "a lone UTF-16 surrogate"
			case unit >= 0xD800 && unit <= 0xDBFF:
				// A high surrogate needs a low one in the next escape.
				if payload[i+1] == '\\' && payload[i+2] == 'u' {
					if low := hex4(payload[i+3 : i+7]); low >= 0xDC00 && low <= 0xDFFF {
						i += 6
						continue
					}
				}
				what = "a lone UTF-16 surrogate"
			default:
				continue
			}
			place := "string"
			if isKey(payload, i) {
				place = "key"
			}
			return fmt.Sprintf("payload %s holds %s (%s)", place, what, escape)
		}
	}
	return ""
}

// hex4 decodes the four hex digits of a \u escape of valid JSON.
func hex4(digits []byte) rune {
	var r rune
	for _, c := range digits {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// isKey reports whether the string of the valid JSON value payload that
// holds the byte at i, which is not its closing quote, is an object key.
func isKey(payload []byte, i int) bool {
	for ; payload[i] != '"'; i++ {
		if payload[i] == '\\' {
			i++
		}
	}
	rest := bytes.TrimLeft(payload[i+1:], " \t\r\n")
	return len(rest) > 0 && rest[0] == ':'
}

// structureProblem checks the nesting depth and the numbers of the valid
// JSON value payload (rules 5 to 7 of validateEvents) in one pass, skipping
// strings whole.
func structureProblem(payload []byte) string {
	depth := 0
	for i := 0; i < len(payload); i++ {
		switch c := payload[i]; {
		case c == '"':
			i = closingQuote(payload, i)
		case c == '{' || c == '[':
			depth++
			if depth > maxPayloadDepth {
				return fmt.Sprintf("payload nests deeper than %d levels", maxPayloadDepth)
			}
		case c == '}' || c == ']':
			depth--
		case c == '-' || isDigit(c):
			end, exponent := i+1, false
			for ; end < len(payload) && isNumberByte(payload[end]); end++ {
				exponent = exponent || payload[end] == 'e' || payload[end] == 'E'
			}
			// Without an exponent, a number shorter than the smaller limit
			// is in range: the common case, decided without analysis.
			if exponent || end-i > maxFractionDigits {
				if reason := numberProblem(payload[i:end]); reason != "" {
					return reason
				}
			}
			i = end - 1
		}
	}
	return ""
}

// closingQuote returns the index of the quote that closes the string of the
// valid JSON value payload opened by the quote at open: the first quote
// after it that follows an even number of backslashes.
func closingQuote(payload []byte, open int) int {
	i := open + 1
	for {
		next := bytes.IndexByte(payload[i:], '"')
		if next < 0 { // not valid JSON after all: end the walk, do not spin
			return len(payload)
		}
		i += next
		backslashes := 0
		for k := i - 1; payload[k] == '\\'; k-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return i
		}
		i++
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isNumberByte reports whether c can continue a JSON number.
func isNumberByte(c byte) bool {
	return isDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// numberProblem describes why PostgreSQL's numeric type cannot hold the
// valid JSON number num (rules 6 and 7 of validateEvents), or returns "".
// It follows PostgreSQL's own parser: the digits before and after the
// decimal point are counted as written, then the exponent moves the point.
func numberProblem(num []byte) string {
	s := bytes.TrimPrefix(num, []byte("-"))
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	integer, s := s[:n], s[n:] // "0", or digits without a leading zero
	var fraction []byte
	if len(s) > 0 && s[0] == '.' {
		n = 1
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		fraction, s = s[1:n], s[n:]
	}
	exponent := 0
	if len(s) > 0 { // 'e' or 'E', a sign perhaps, digits
		digits := bytes.TrimLeft(s[1:], "+-")
		for _, c := range digits {
			exponent = exponent*10 + int(c-'0')
			if exponent > maxExponent {
				return fmt.Sprintf("payload number %s is outside the supported range "+
					"(exponents at most %d in magnitude)", shortNumber(num), maxExponent)
			}
		}
		if s[1] == '-' {
			exponent = -exponent
		}
	}
	// The position of the first nonzero digit: 10^first. A zero has none,
	// and any number of digits before the point.
	first, nonzero := len(integer)-1, integer[0] != '0'
	if !nonzero {
		if k := bytes.IndexFunc(fraction, func(r rune) bool { return r != '0' }); k >= 0 {
			first, nonzero = -k-1, true
		}
	}
	if (nonzero && first+exponent >= maxIntegerDigits) || len(fraction)-exponent > maxFractionDigits {
		return fmt.Sprintf("payload number %s is outside the supported range "+
			"(at most %d digits before the decimal point and %d after it, trailing zeros included)",
			shortNumber(num), maxIntegerDigits, maxFractionDigits)
	}
	return ""
}

// shortNumber quotes a number for an error message, eliding the middle of a
// long one.
func shortNumber(num []byte) string {
	const keep = 20
	if len(num) <= 2*keep {
		return string(num)
	}
	return fmt.Sprintf("%s...%s (%d characters)", num[:keep], num[len(num)-keep:], len(num))
}
