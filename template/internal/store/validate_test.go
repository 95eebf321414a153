package store

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// payloadCase is one payload of the rule tables, with the error it must get
// from validateEvents ("" if valid). jsonbRefuses marks an offender that
// PostgreSQL's jsonb refuses too; the others the validator refuses by a rule
// stricter than PostgreSQL (size and depth).
type payloadCase struct {
	name         string
	payload      string
	wantErr      string
	jsonbRefuses bool
}

// Reasons, as validateEvents words them.
const (
	reasonNUL       = `payload string holds a NUL character (\u0000)`
	reasonNumber    = "is outside the supported range (at most 131072 digits before the decimal point and 16383 after it"
	reasonExponent  = "is outside the supported range (exponents at most 1073741822 in magnitude)"
	reasonDepth     = "payload nests deeper than 512 levels"
	reasonSurrogate = "holds a lone UTF-16 surrogate"
)

// nested returns a payload of depth levels: arrays, or objects if objects.
func nested(depth int, objects bool) string {
	if objects {
		return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
	}
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// payloadRuleCases lists the offenders of every rule, and look-alikes of
// them that are valid.
func payloadRuleCases() []payloadCase {
	digits := func(n int) string { return "1" + strings.Repeat("0", n-1) }
	return []payloadCase{
		// Rule 3: NUL.
		{"NUL", `{"s":"a\u0000b"}`, reasonNUL, true},
		{"NUL in a key", `{"\u0000":1}`, `payload key holds a NUL character (\u0000)`, true},
		{"NUL after an escaped backslash", `["C:\\\u0000"]`, reasonNUL, true},
		{"escaped backslash before u0000", `{"path":"C:\\u0000"}`, "", false},
		{"two escaped backslashes before u0000", `{"path":"C:\\\\u0000"}`, "", false},
		{"U+0001", `{"s":"\u0001"}`, "", false},

		// Rule 4: surrogates.
		{"lone high surrogate", `{"s":"\ud800"}`, `payload string holds a lone UTF-16 surrogate (\ud800)`, true},
		{"lone low surrogate", `{"s":"\udc00"}`, `payload string holds a lone UTF-16 surrogate (\udc00)`, true},
		{"lone surrogate in a key", `{"\ud83d":1}`, `payload key holds a lone UTF-16 surrogate (\ud83d)`, true},
		{"lone surrogate in a key, spaced", `{ "x\ud83d" : 1}`, `payload key holds a lone UTF-16 surrogate (\ud83d)`, true},
		{"upper-case lone surrogate", `{"s":"\uDBFF"}`, `payload string holds a lone UTF-16 surrogate (\uDBFF)`, true},
		{"high surrogate at the end", `{"s":"a\ud83d"}`, reasonSurrogate, true},
		{"high then a letter escape", `{"s":"\ud83d\u0041"}`, reasonSurrogate, true},
		{"high then high then low", `{"s":"\ud83d\ud83d\ude00"}`, `(\ud83d)`, true},
		{"low then high", `{"s":"\ude00\ud83d"}`, `(\ude00)`, true},
		{"pair split by an escaped backslash", `{"s":"\ud83d\\ude00"}`, `(\ud83d)`, true},
		{"pair split across strings", `["\ud83d","\ude00"]`, `(\ud83d)`, true},
		{"surrogate after an escaped backslash", `{"s":"\\\ud800"}`, reasonSurrogate, true},
		{"surrogate pair", `{"s":"\ud83d\ude00"}`, "", false},
		{"upper-case surrogate pair", `{"s":"\uD83D\uDE00"}`, "", false},
		{"surrogate pair in a key", `{"\ud83d\ude00":1}`, "", false},
		{"last surrogate pair", `{"s":"\udbff\udfff"}`, "", false},
		{"first surrogate pair", `{"s":"\ud800\udc00"}`, "", false},
		{"escaped backslash before ud800", `{"s":"\\ud800"}`, "", false},
		{"neighbours of the surrogates", `{"s":"\ud7ff\ue000\uffff\ufffe"}`, "", false},
		{"ordinary escapes", `{"s":"\u00e9\"\\\/\b\f\n\r\t"}`, "", false},
		{"raw emoji", `{"s":"😀"}`, "", false},

		// Rule 5: depth.
		{"512 arrays", nested(512, false), "", false},
		{"512 objects", nested(512, true), "", false},
		{"513 arrays", nested(513, false), reasonDepth, false},
		{"513 objects", nested(513, true), reasonDepth, false},
		{"braces in strings do not nest", `{"s":"` + strings.Repeat("[{", 600) + `"}`, "", false},

		// Rules 6 and 7: numbers.
		{"1e1000000", `{"n":1e1000000}`, "payload number 1e1000000 " + reasonNumber, true},
		{"1e-1000000", `{"n":1e-1000000}`, reasonNumber, true},
		{"1e131072", `{"n":1e131072}`, reasonNumber, true},
		{"1E+131072", `{"n":1E+131072}`, reasonNumber, true},
		{"-9.9e131072", `{"n":-9.9e131072}`, reasonNumber, true},
		{"1e-16384", `{"n":1e-16384}`, reasonNumber, true},
		{"1.5e-16383", `{"n":1.5e-16383}`, reasonNumber, true},
		{"1.0e-16383", `{"n":1.0e-16383}`, reasonNumber, true},
		{"100e-16385", `{"n":100e-16385}`, reasonNumber, true},
		{"0e-1000000", `{"n":0e-1000000}`, reasonNumber, true},
		{"0.0e-16383", `{"n":0.0e-16383}`, reasonNumber, true},
		{"0e1073741823", `{"n":0e1073741823}`, reasonExponent, false}, // PostgreSQL 16+ accepts it
		{"0e1073741824", `{"n":0e1073741824}`, reasonExponent, true},
		{"0e-1073741823", `{"n":0e-1073741823}`, reasonExponent, true},
		{"an exponent beyond int64", `{"n":1e99999999999999999999}`, reasonExponent, true},
		{"131073 digits", `{"n":` + digits(131073) + `}`, reasonNumber, true},
		{"200000 digits", `[` + strings.Repeat("7", 200000) + `]`, "payload number 77777777777777777777...77777777777777777777 (200000 characters) " + reasonNumber, true},
		{"16384 fraction digits", `{"n":0.` + strings.Repeat("0", 16384) + `}`, reasonNumber, true},
		{"16384 fraction digits moved", `{"n":1.` + strings.Repeat("5", 16389) + `e5}`, reasonNumber, true},
		{"1e131071", `{"n":1e131071}`, "", false},
		{"9.99e131071", `{"n":9.99e131071}`, "", false},
		{"1e+131071", `{"n":1e+131071}`, "", false},
		{"0.001e131074", `{"n":0.001e131074}`, "", false},
		{"1e-16383", `{"n":1e-16383}`, "", false},
		{"0.1e-16382", `{"n":0.1e-16382}`, "", false},
		{"1.5e-16382", `{"n":1.5e-16382}`, "", false},
		{"0e1000000", `{"n":0e1000000}`, "", false},
		{"0e1073741822", `{"n":0e1073741822}`, "", false},
		{"0.00e1", `{"n":0.00e1}`, "", false},
		{"exponent with leading zeros", `{"n":1e000000000000000000005}`, "", false},
		{"131072 digits", `{"n":` + digits(131072) + `}`, "", false},
		{"16383 fraction digits", `{"n":0.` + strings.Repeat("0", 16383) + `}`, "", false},
		{"16383 fraction digits moved", `{"n":1.` + strings.Repeat("5", 16388) + `e5}`, "", false},
		{"ordinary numbers", `{"a":0.0001,"b":-1.5E+10,"c":-0,"d":-0.0,"e":1E+5,"f":12345678901234567890,"g":6.02214076e23,"h":1e-7}`, "", false},
		{"numbers in strings are text", `{"n":"1e1000000","m":"` + strings.Repeat("9", 20000) + `"}`, "", false},
		{"literals", `[true,false,null,{"true":false}]`, "", false},
	}
}

func TestValidateEventsPayloadRules(t *testing.T) {
	for _, c := range payloadRuleCases() {
		t.Run(c.name, func(t *testing.T) {
			if !json.Valid([]byte(c.payload)) {
				t.Fatalf("test case %.80s is not valid JSON", c.payload)
			}
			events := []Event{{Kind: "ok", Payload: json.RawMessage(`{}`)}, {Kind: "k", Payload: json.RawMessage(c.payload)}}
			err := validateEvents(events)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("validateEvents = %v, want nil", err)
			case c.wantErr == "":
			case err == nil:
				t.Fatalf("validateEvents = nil, want an error with %q", c.wantErr)
			case !errors.Is(err, ErrInvalidEvent):
				t.Fatalf("validateEvents = %v, does not wrap ErrInvalidEvent", err)
			case !strings.HasPrefix(err.Error(), "store: invalid event: event 1: payload "):
				t.Fatalf("validateEvents = %q, want it to name event 1 and its payload", err)
			case !strings.Contains(err.Error(), c.wantErr):
				t.Fatalf("validateEvents = %q, want it to contain %q", err, c.wantErr)
			}
		})
	}
}

func TestValidateEventsSizeAndKind(t *testing.T) {
	for _, size := range []int{maxPayloadBytes, maxPayloadBytes + 1} {
		payload := `"` + strings.Repeat("a", size-2) + `"`
		err := validateEvents([]Event{{Kind: "k", Payload: json.RawMessage(payload)}})
		if size <= maxPayloadBytes && err != nil {
			t.Errorf("a payload of %d bytes: %v, want nil", size, err)
		}
		if want := "payload is 16777217 bytes, more than the 16777216 allowed"; size > maxPayloadBytes &&
			(!errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), want)) {
			t.Errorf("a payload of %d bytes: %v, want %q", size, err, want)
		}
	}
	for _, kind := range []string{"", "a\x00b", "\xff"} {
		if err := validateEvents([]Event{{Kind: kind}}); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("kind %q: validateEvents = %v, want ErrInvalidEvent", kind, err)
		}
	}
	if err := validateEvents([]Event{{Kind: "no-payload"}, {Kind: "k", Payload: json.RawMessage(`{"a":`)}}); err == nil ||
		!strings.Contains(err.Error(), "event 1: payload is not valid JSON") {
		t.Errorf("invalid JSON: validateEvents = %v", err)
	}
}

// scanForNUL is an independent oracle for the NUL rule: it walks the string
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

func TestEscapeProblemDecodesEscapes(t *testing.T) {
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
		if got := strings.Contains(payloadProblem([]byte(payload)), "NUL"); got != want {
			t.Errorf("payloadProblem(%s) finds a NUL: %v, want %v", payload, got, want)
		}
		if got := scanForNUL([]byte(payload)); got != want {
			t.Errorf("oracle scanForNUL(%s) = %v, want %v", payload, got, want)
		}
	}
}

// escapeOracle is an independent reference for rules 3 and 4: it finds the
// string literals with encoding/json's tokenizer (the input consumed by
// each string token ends with its literal), turns each literal into the
// UTF-16 code units it denotes, and reports whether one is NUL or whether
// decoding the units as UTF-16 and encoding the text again changes them (a
// lone surrogate decodes to U+FFFD).
func escapeOracle(payload string) bool {
	dec := json.NewDecoder(strings.NewReader(payload))
	dec.UseNumber()
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil { // io.EOF: payload is valid JSON
			return false
		}
		if _, ok := tok.(string); !ok {
			continue
		}
		consumed := payload[before:dec.InputOffset()] // separators, spaces, the literal
		literal := consumed[strings.IndexByte(consumed, '"')+1 : len(consumed)-1]
		var units []uint16
		for s := literal; s != ""; {
			if strings.HasPrefix(s, `\u`) {
				u, err := strconv.ParseUint(s[2:6], 16, 16)
				if err != nil {
					panic(err)
				}
				units, s = append(units, uint16(u)), s[6:]
				continue
			}
			if s[0] == '\\' {
				s = s[1:] // the escaped character stands for itself here
			}
			r, size := utf8.DecodeRuneInString(s)
			units, s = utf16.AppendRune(units, r), s[size:]
		}
		if slices.Contains(units, 0) || !slices.Equal(utf16.Encode(utf16.Decode(units)), units) {
			return true
		}
	}
}

// randomEscapes returns a JSON object whose key and string value are made
// of fragments that build (or just look like) NULs, surrogates and pairs.
func randomEscapes(r *rand.Rand) string {
	fragments := []string{
		`a`, `u`, `d800`, `\\`, `\"`, `\/`, `\n`, `\u0041`, `\u00e9`, `\u0000`, `\u0001`, `é`, `😀`,
		`\ud800`, `\uD83D`, `\ud83d`, `\udbff`, `\udc00`, `\uDE00`, `\ude00`, `\udfff`, `\ud7ff`, `\ue000`,
		`\\u`, `\\ud83d`, `\uffff`, `\ud83d\ude00`, `\uD83D\uDE00`, `\udbff\udfff`, `\ud800\udc00`,
		`b`, `c `, `\t`, `\u00E9`, `ü`, `1`,
	}
	part := func() string {
		var b strings.Builder
		for range r.IntN(4) {
			b.WriteString(fragments[r.IntN(len(fragments))])
		}
		return b.String()
	}
	return `{"` + part() + `":"` + part() + `","n":[1,"` + part() + `"]}`
}

func TestEscapeRuleMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	refused := 0
	for range 20000 {
		payload := randomEscapes(r)
		if !json.Valid([]byte(payload)) {
			t.Fatalf("generated payload %s is not valid JSON", payload)
		}
		got, want := payloadProblem([]byte(payload)) != "", escapeOracle(payload)
		if got != want {
			t.Fatalf("payloadProblem(%s) refuses: %v, the reference says %v", payload, got, want)
		}
		if got {
			refused++
		}
	}
	t.Logf("refused %d of 20000 generated payloads", refused)
}

// postgresNumericAccepts is an independent reference for rules 6 and 7: a
// transcription of PostgreSQL 15's numeric input (set_var_from_str, which
// parses the exponent with strtol and refuses one of INT_MAX/2 or more, then
// strip_var, then make_result's check that the base-10000 weight fits an
// int16 and the display scale fits 14 bits).
func postgresNumericAccepts(num string) bool {
	mantissa, exponentText, hasExponent := strings.Cut(strings.ToLower(strings.TrimPrefix(num, "-")), "e")
	integer, fraction, _ := strings.Cut(mantissa, ".")
	digits := integer + fraction
	dweight, dscale := len(integer)-1, len(fraction)
	if hasExponent {
		exponent, err := strconv.ParseInt(exponentText, 10, 64) // strtol saturates; so does the check below
		if err != nil || exponent >= math.MaxInt32/2 || exponent <= -(math.MaxInt32/2) {
			return false
		}
		dweight += int(exponent)
		dscale = max(dscale-int(exponent), 0)
	}
	const decDigits = 4
	weight := 0 // a zero's weight
	if significant := strings.TrimLeft(digits, "0"); significant != "" {
		dweight -= len(digits) - len(significant)
		weight = dweight / decDigits
		if dweight < 0 && dweight%decDigits != 0 {
			weight-- // round towards minus infinity
		}
	}
	return weight >= math.MinInt16 && weight <= math.MaxInt16 && dscale <= 0x3FFF
}

// randomNumber returns a JSON number, often near one of the limits.
func randomNumber(r *rand.Rand) string {
	digitString := func(n int, leadingZero bool) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		if !leadingZero && b[0] == '0' {
			b[0] = '1' + byte(r.IntN(9))
		}
		return string(b)
	}
	lengths := []int{1, 1, 1, 2, 3, 5, 9, 20}
	var b strings.Builder
	if r.IntN(2) == 0 {
		b.WriteByte('-')
	}
	integer := "0"
	if r.IntN(3) > 0 {
		integer = digitString(lengths[r.IntN(len(lengths))], false)
	}
	b.WriteString(integer)
	fraction := ""
	if r.IntN(2) == 0 {
		fraction = strings.Repeat("0", r.IntN(4)) + digitString(lengths[r.IntN(len(lengths))], true)
		b.WriteString("." + fraction)
	}
	if r.IntN(5) == 0 {
		return b.String() // no exponent
	}
	// An exponent aimed at a limit, give or take a few.
	first := len(integer) - 1
	if integer == "0" {
		first = -1 - len(fraction) + len(strings.TrimLeft(fraction, "0"))
	}
	targets := []int{
		0, 5, -5, 1000000, -1000000,
		maxIntegerDigits - 1 - first, // the first digit at 10^131071
		len(fraction) - maxFractionDigits,
		maxExponent, -maxExponent,
	}
	exponent := targets[r.IntN(len(targets))] + r.IntN(7) - 3
	b.WriteString([]string{"e", "E"}[r.IntN(2)])
	switch {
	case exponent < 0:
		b.WriteByte('-')
	case r.IntN(2) == 0:
		b.WriteByte('+')
	}
	b.WriteString(strings.Repeat("0", r.IntN(3)))
	b.WriteString(strconv.Itoa(abs(exponent)))
	return b.String()
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestNumberRuleMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	refused := 0
	for range 50000 {
		num := randomNumber(r)
		payload := `{"n":[` + num + `]}`
		if !json.Valid([]byte(payload)) {
			t.Fatalf("generated number %s is not valid JSON", num)
		}
		got, want := payloadProblem([]byte(payload)) == "", postgresNumericAccepts(num)
		if got != want {
			t.Fatalf("payloadProblem accepts %s: %v, the reference says %v", num, got, want)
		}
		if !got {
			refused++
		}
	}
	t.Logf("refused %d of 50000 generated numbers", refused)
}

// maxDepth is an independent oracle for rule 5: the deepest nesting
// encoding/json's tokenizer sees in payload.
func maxDepth(payload []byte) int {
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber() // 1e1000000 overflows a float64
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return deepest
		}
		if err != nil {
			panic(err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// FuzzPayloadProblem checks payloadProblem against the independent oracles
// on every valid JSON value the fuzzer finds.
func FuzzPayloadProblem(f *testing.F) {
	for _, c := range payloadRuleCases() {
		if len(c.payload) < 4096 {
			f.Add([]byte(c.payload))
		}
	}
	f.Add([]byte(`[1e131072,"\ud83d\ude00",[[[]]],{"k":-0.5E-3}]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if !utf8.Valid(payload) || !json.Valid(payload) {
			return
		}
		numbersOK := true
		dec := json.NewDecoder(strings.NewReader(string(payload)))
		dec.UseNumber()
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if n, ok := tok.(json.Number); ok && !postgresNumericAccepts(n.String()) {
				numbersOK = false
			}
		}
		want := !escapeOracle(string(payload)) && maxDepth(payload) <= maxPayloadDepth && numbersOK
		if got := payloadProblem(payload); (got == "") != want {
			t.Fatalf("payloadProblem(%q) = %q, the oracles say valid: %v", payload, got, want)
		}
	})
}

// typicalEvents is a request of five events as clients send them: small
// objects, ordinary numbers, one non-ASCII escape.
func typicalEvents() []Event {
	return []Event{
		{Kind: "page_view", Payload: json.RawMessage(`{"user_id":18233,"path":"/pricing","referrer":"https://example.com/blog","ts":1718035200123}`)},
		{Kind: "click", Payload: json.RawMessage(`{"user_id":18233,"element":"signup-button","x":412.5,"y":-38,"ok":true}`)},
		{Kind: "purchase", Payload: json.RawMessage(`{"order":"A-1042","amount":129.99,"currency":"EUR","items":[{"sku":"X1","qty":2},{"sku":"Y7","qty":1}]}`)},
		{Kind: "search", Payload: json.RawMessage(`{"query":"caf\u00e9 near me","results":17,"latency_ms":3.2e1,"filters":null}`)},
		{Kind: "heartbeat", Payload: json.RawMessage(`{"host":"web-3","load":[0.12,0.25,0.31],"uptime_s":86400}`)},
	}
}

func TestPayloadProblemAllocatesNothing(t *testing.T) {
	events := typicalEvents()
	if err := validateEvents(events); err != nil {
		t.Fatal(err)
	}
	// payloadProblem rather than validateEvents: the race detector empties
	// encoding/json's scanner pool at random, so json.Valid may allocate.
	allocs := testing.AllocsPerRun(100, func() {
		for _, e := range events {
			if payloadProblem(e.Payload) != "" {
				t.Fatal("refused")
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("payloadProblem allocates %.0f times per request of 5 typical events, want 0", allocs)
	}
}

func BenchmarkValidateEvents(b *testing.B) {
	events := typicalEvents()
	b.ReportAllocs()
	for b.Loop() {
		if err := validateEvents(events); err != nil {
			b.Fatal(err)
		}
	}
}
